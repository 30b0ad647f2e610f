/**
 * §10 pins: what the auditor knows from outside the file (the paper signed in
 * the room, the published certificate, the sign-in sheet). A complete
 * forgery with new keys is intact by §7; only a pin tells it apart.
 */
import { createHash, X509Certificate } from "node:crypto";
import { decodeBase64Strict } from "../base64";
import { keyFingerprint } from "../identity";
import type { CeremonyMeta, EntryBody, PinResult } from "../types";
import type { WalkState } from "./action-rules";

export interface Pins {
  head?: string;
  entries?: Array<{ seq: number; hash: string }>;
  scriptSha256?: string;
  rootFingerprint?: string;
  participants?: Array<{ id: string; fingerprint: string }>;
}

/** §10: HEX compared case-insensitively, ignoring ':' and spaces. */
export function normaliseHex(s: string): string {
  return s.replace(/[:\s]/g, "").toLowerCase();
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

interface PinContext {
  head: string | null;
  meta: CeremonyMeta;
  /** Entry hashes of the verified entries, in seq order. */
  entryHashes: readonly string[];
  /** Bodies of the verified entries whose action is in PIN_EVIDENCE_ACTIONS, in seq order. */
  rootEvidence: readonly EntryBody[];
  state: WalkState;
}

/** The actions whose bodies the pins read (the walk keeps only these bodies). */
export const PIN_EVIDENCE_ACTIONS: ReadonlySet<string> = new Set(["self-sign-certificate", "load-source-ceremony"]);

/** DER SHA-256 of a PEM certificate whose public key is `spki` (base64 DER), or undefined. */
function certificateOfKeySha256(pem: unknown, spki: string): string | undefined {
  if (typeof pem !== "string") return undefined;
  try {
    const cert = new X509Certificate(pem);
    const key = cert.publicKey.export({ type: "spki", format: "der" });
    return key.toString("base64") === spki ? sha256(cert.raw) : undefined;
  } catch {
    return undefined;
  }
}

/** Root fingerprints the ceremony's verified entries support (§10). */
function rootFingerprints(c: PinContext): string[] {
  const out: string[] = [];
  const root = c.state.rootKey;
  if (root) {
    out.push(root.fingerprint);
    for (const body of c.rootEvidence) {
      if (body.action !== "self-sign-certificate") continue;
      // Only a certificate of the ceremony's root key: one of an earlier key (a script with two key steps) does not count.
      const fp = certificateOfKeySha256((body.outputs.certificate as { pem?: unknown } | undefined)?.pem, root.spki);
      if (fp) out.push(fp);
    }
    return out;
  }
  for (const body of c.rootEvidence) {
    if (body.action !== "load-source-ceremony") continue;
    const spki = (body.outputs.sourceRootKey as { spki?: unknown } | undefined)?.spki;
    const der = typeof spki === "string" ? decodeBase64Strict(spki) : undefined;
    if (der) out.push(sha256(der));
  }
  return out;
}

/** Checks every pin given, in a fixed order; each result says what was compared. */
export function checkPins(p: Pins, c: PinContext): PinResult[] {
  const out: PinResult[] = [];
  if (p.head !== undefined) {
    const want = normaliseHex(p.head);
    const held = c.head === want;
    out.push({ pin: `--expect-head ${want}`, held, detail: held ? "the last entry's hash is the expected head" : `the head is ${c.head ?? "(none)"}` });
  }
  for (const e of p.entries ?? []) {
    const want = normaliseHex(e.hash);
    const got = c.entryHashes[e.seq - 1];
    const held = got === want;
    out.push({ pin: `--expect-entry ${e.seq}=${want}`, held, detail: held ? `entry ${e.seq} has the expected hash` : got ? `entry ${e.seq} hashes to ${got}` : `there is no entry ${e.seq}` });
  }
  if (p.scriptSha256 !== undefined) {
    const want = normaliseHex(p.scriptSha256);
    const held = c.meta.scriptSha256 === want;
    out.push({ pin: `--expect-script-sha256 ${want}`, held, detail: held ? "the script is the expected one" : `the script's SHA-256 is ${c.meta.scriptSha256}` });
  }
  if (p.rootFingerprint !== undefined) {
    const want = normaliseHex(p.rootFingerprint);
    const have = rootFingerprints(c);
    const held = have.includes(want);
    out.push({
      pin: `--expect-root-fingerprint ${want}`,
      held,
      detail: held ? "the root key (or its certificate) is the expected one" : have.length ? `the ceremony's root key / certificate fingerprints are ${have.join(", ")}` : "the ceremony records no root key",
    });
  }
  for (const q of p.participants ?? []) {
    const want = normaliseHex(q.fingerprint);
    const person = c.state.enrolled?.get(q.id);
    const got = person ? normaliseHex(keyFingerprint(person.publicKey)) : undefined;
    const held = got === want;
    out.push({
      pin: `--expect-participant ${q.id}=${want}`,
      held,
      detail: held ? `${q.id} (${person!.name}) has the expected key` : person ? `${q.id} (${person.name}) has key fingerprint ${got}` : `${q.id} is not enrolled`,
    });
  }
  return out;
}
