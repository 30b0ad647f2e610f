/**
 * §6.9: the revocation-list file a signing ceremony reads — one "SERIAL
 * REASON" per line. One parser for the engine (what the HSM signs) and the
 * verifier (what the CRL must revoke), so the two cannot read a list apart.
 */

/** RFC 5280 5.3.1 reason codes, by the names a revocation list uses. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

export interface Revocation {
  /** Lower-case hex of the serial's value, an even number of digits, no extra leading zero byte. */
  serial: string;
  /** The serial's value. */
  value: bigint;
  reason: RevocationReason;
}

/** The list, or the 1-based line and what is wrong with it. */
export function readRevocationList(bytes: Uint8Array): { list: Revocation[] } | { line: number; problem: string } {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { line: 0, problem: "the file is not UTF-8 text" };
  }
  const list: Revocation[] = [];
  const seen = new Set<bigint>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const hash = raw.indexOf("#");
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).replace(/^[ \t\r]+|[ \t\r]+$/g, "");
    if (!line) continue;
    const parts = line.split(/[ \t]+/);
    const [serialText, reason = "unspecified"] = parts;
    const digits = serialText!.replace(/:/g, "").replace(/^0[xX]/, "");
    if (parts.length > 2 || !/^[0-9a-fA-F]{1,40}$/.test(digits)) return { line: i + 1, problem: `"${line}" is not "SERIAL REASON" with a hexadecimal serial` };
    if (!Object.prototype.hasOwnProperty.call(REVOCATION_REASONS, reason)) return { line: i + 1, problem: `"${reason}" is not a reason (${Object.keys(REVOCATION_REASONS).join(", ")})` };
    const value = BigInt(`0x${digits}`);
    if (seen.has(value)) return { line: i + 1, problem: `serial ${digits} is listed twice` };
    seen.add(value);
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    list.push({ serial: hex, value, reason: reason as RevocationReason });
  }
  return { list };
}
