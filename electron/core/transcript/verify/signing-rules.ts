/**
 * §6.4 (prove-root-key's proof) and §6.10: what a signing ceremony's entries
 * must show an auditor — the input compared aloud is the one recorded, what
 * the root signed is of the key, subject and profile that input and the
 * script name, and the values read aloud are those of what was signed.
 */
import "reflect-metadata";
import { X509Certificate, createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { decodeBase64Strict } from "../base64";
import type { EntryBody } from "../types";
import type { RootKey, WalkState } from "./action-rules";
import { certificateRule, crlRule, type SigningContext } from "./signing-x509-rules";

export { splitSigned } from "./x509-der";

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export const ROOT_HASH: Record<string, string> = { "EC-P256": "sha256", "EC-P384": "sha384", "EC-P521": "sha512", "RSA-3072": "sha256", "RSA-4096": "sha256" };

export function rootKeyObject(rk: RootKey): KeyObject {
  return createPublicKey({ key: Buffer.from(rk.spki, "base64"), format: "der", type: "spki" });
}

/** §6.4: prove-root-key's proof — a challenge for this ceremony and key, signed by the proved key. */
export function checkRootProof(body: EntryBody, rk: RootKey): string | undefined {
  const proof = (body.outputs as Record<string, unknown>).proof;
  if (!isMap(proof)) return "outputs.proof is missing: the token's proof of the root key.";
  const challenge = typeof proof.challenge === "string" ? decodeBase64Strict(proof.challenge) : undefined;
  const signature = typeof proof.signature === "string" ? decodeBase64Strict(proof.signature) : undefined;
  if (!challenge || !signature) return "outputs.proof needs challenge and signature in strict base64.";
  const prefix = Buffer.from(`Custos root key proof\nceremony ${body.ceremonyId}\nkey ${rk.fingerprint}\n`, "utf8");
  if (challenge.length !== prefix.length + 32 || !challenge.subarray(0, prefix.length).equals(prefix)) return "the proof's challenge is not one for this ceremony and this key.";
  let ok = false;
  try {
    const key = rootKeyObject(rk);
    ok = rk.algorithm.startsWith("EC") ? verify(ROOT_HASH[rk.algorithm]!, challenge, { key, dsaEncoding: "ieee-p1363" }, signature) : verify(ROOT_HASH[rk.algorithm]!, challenge, key, signature);
  } catch {
    ok = false;
  }
  return ok ? undefined : "the proof's signature does not verify with the proved root key: the token did not prove it holds this key.";
}

/** Check 12 for load-input, sign-certificate, cross-certify and issue-crl; undefined when the entry keeps §6.10. */
export function applySigningRules(body: EntryBody, state: WalkState, params: Record<string, unknown>): string | undefined {
  const o = body.outputs as Record<string, unknown>;
  if (body.action === "load-input") {
    const input = o.input;
    if (!isMap(input) || typeof input.name !== "string" || typeof input.kind !== "string" || typeof input.sha256 !== "string" || typeof input.content !== "string") {
      return "outputs.input needs name, kind, sha256 and content.";
    }
    if (!["certificate-request", "certificate", "revocation-list"].includes(input.kind)) return `outputs.input.kind '${input.kind}' is not an input kind of §6.10.`;
    const bytes = decodeBase64Strict(input.content);
    if (!bytes) return "outputs.input.content is not strict base64.";
    if (sha256(bytes) !== input.sha256) return "outputs.input.sha256 is not the SHA-256 of the recorded content: the hash compared aloud is not of this file.";
    (state.inputs ??= new Map()).set(input.name, { kind: input.kind, bytes, sha256: input.sha256 });
    return undefined;
  }
  if (!["sign-certificate", "cross-certify", "issue-crl"].includes(body.action)) return undefined;
  const what = body.action === "issue-crl" ? "a CRL" : "a certificate";
  if (!state.rootKey) return `${what} is signed before the ceremony has a root key.`;
  if (state.rootCertificatePem === undefined) return `${what} is signed, but no root certificate is recorded before it (§6.9).`;
  let root: X509Certificate;
  try {
    root = new X509Certificate(state.rootCertificatePem);
  } catch {
    return "the root certificate (§6.9) is not an X.509 certificate.";
  }
  if (root.publicKey.export({ format: "der", type: "spki" }).toString("base64") !== state.rootKey.spki) return "the root certificate (§6.9) is not of the ceremony's root key.";
  const ctx: SigningContext = { body, rootKey: state.rootKey, rootDer: root.raw, params, inputs: state.inputs ?? new Map() };
  return body.action === "issue-crl" ? crlRule(ctx) : certificateRule(ctx);
}
