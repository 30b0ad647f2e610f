import { algorithmSpec, type RootKeyAlgorithm } from "../algorithms";
import type { MechanismInfo } from "../hsm";
import { CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD, type WrapMechanism } from "../session";

const CKF_SIGN = 0x800;
const CKF_GENERATE_KEY_PAIR = 0x10000;
const CKF_WRAP = 0x20000;
const CKF_UNWRAP = 0x40000;

export const CKM_RSA_PKCS_KEY_PAIR_GEN = 0x0;
export const CKM_SHA256_RSA_PKCS = 0x40;
export const CKM_EC_KEY_PAIR_GEN = 0x1040;
export const CKM_ECDSA = 0x1041;

const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;

/** One mechanism the ceremony needs, and whether the token lists it (with the key size and flags needed). */
export interface MechanismNeed {
  mechanism: string;
  code: number;
  purpose: string;
  ok: boolean;
  detail: string;
}

/** Does a token's key size range cover `bits`? Vendors give EC sizes in bits or bytes; either is accepted. */
function coversSize(m: MechanismInfo, bits: number): boolean {
  const inRange = (v: number) => v >= m.minKeySize && (m.maxKeySize === 0 || v <= m.maxKeySize);
  return inRange(bits) || inRange(Math.ceil(bits / 8));
}

function need(list: MechanismInfo[], code: number, name: string, flag: number, flagName: string, purpose: string, bits?: number): MechanismNeed {
  const m = list.find((x) => x.code === code);
  const label = `${name} (${hex(code)})`;
  if (!m) return { mechanism: name, code, purpose, ok: false, detail: `${label} is not in the token's mechanism list: it cannot ${purpose}.` };
  if (!(m.flags & flag)) return { mechanism: name, code, purpose, ok: false, detail: `${label} is listed but not for ${flagName}: it cannot ${purpose}.` };
  if (bits !== undefined && !coversSize(m, bits)) {
    return { mechanism: name, code, purpose, ok: false, detail: `${label} supports key sizes ${m.minKeySize}–${m.maxKeySize}, not ${bits} bits: it cannot ${purpose}.` };
  }
  return { mechanism: name, code, purpose, ok: true, detail: `${label} listed${bits ? ` for ${bits}-bit keys` : ""}.` };
}

/** The mechanisms one root key algorithm needs on the token: generation with its key size, and signing. */
export function algorithmNeeds(list: MechanismInfo[], alg: RootKeyAlgorithm): MechanismNeed[] {
  const spec = algorithmSpec(alg);
  if (spec.family === "EC") {
    const bits = spec.curve === "P-256" ? 256 : spec.curve === "P-384" ? 384 : 521;
    return [
      need(list, CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN", CKF_GENERATE_KEY_PAIR, "key pair generation", `generate ${alg} keys`, bits),
      need(list, CKM_ECDSA, "CKM_ECDSA", CKF_SIGN, "signing", `sign with ${alg} keys`, bits),
    ];
  }
  return [
    need(list, CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN", CKF_GENERATE_KEY_PAIR, "key pair generation", `generate ${alg} keys`, spec.bits),
    need(list, CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS", CKF_SIGN, "signing", `sign with ${alg} keys`, spec.bits),
  ];
}

/**
 * Wrap mechanisms to try, best first: PKCS#11 v3's RFC 5649 mechanism
 * (0x210B) before 0x210A, whose meaning varies by vendor and is only used once
 * the preflight has proved it is RFC 5649 on this token. `vendor` (from a
 * profile) adds vendor mechanisms after the standard ones.
 */
export function wrapCandidates(list: MechanismInfo[], side: "wrap" | "unwrap", vendor: WrapMechanism[] = []): { candidates: WrapMechanism[]; needs: MechanismNeed[] } {
  const flag = side === "wrap" ? CKF_WRAP | CKF_UNWRAP : CKF_UNWRAP;
  const all = [CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD, ...vendor];
  const needs = all.map((m) =>
    need(list, m.code, m.name, flag, side === "wrap" ? "wrapping and unwrapping" : "unwrapping", side === "wrap" ? "back up the root key in RFC 5649 format" : "restore an RFC 5649 backup", 256),
  );
  return { candidates: all.filter((_, i) => needs[i]!.ok), needs };
}
