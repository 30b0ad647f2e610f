/**
 * §6.10: what a signing ceremony's entries must show an auditor — the input
 * compared aloud is the one recorded, and what the root signed is of the key
 * that input names and verifies with the root key.
 */
import "reflect-metadata";
import { X509Certificate, createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { decodeBase64Strict } from "../base64";
import type { EntryBody } from "../types";
import type { RootKey, WalkState } from "./action-rules";

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** One DER element: its tag, where its content starts, and where it ends. */
function tlv(buf: Buffer, at: number): { tag: number; start: number; end: number } {
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error("unsupported DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  if (start + len > buf.length) throw new Error("truncated DER");
  return { tag, start, end: start + len };
}

/** A signed DER object (certificate, CRL): the exact signed bytes and the signature bits. */
export function splitSigned(der: Buffer): { tbs: Buffer; signature: Buffer } {
  const outer = tlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error("not a DER SEQUENCE");
  const tbs = tlv(der, outer.start);
  const alg = tlv(der, tbs.end);
  const sig = tlv(der, alg.end);
  if (sig.tag !== 0x03 || sig.end !== outer.end || der[sig.start] !== 0) throw new Error("no signature BIT STRING");
  return { tbs: der.subarray(outer.start, tbs.end), signature: der.subarray(sig.start + 1, sig.end) };
}

const HASH: Record<string, string> = { "EC-P256": "sha256", "EC-P384": "sha384", "EC-P521": "sha512", "RSA-3072": "sha256", "RSA-4096": "sha256" };

function rootKeyObject(rk: RootKey): KeyObject {
  return createPublicKey({ key: Buffer.from(rk.spki, "base64"), format: "der", type: "spki" });
}

function pemBody(pem: string, label: string): Buffer | undefined {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ""), "base64") : undefined;
}

/** The SPKI an input names: a request's subject key, or a certificate's key. */
function inputSpki(bytes: Buffer, kind: string): Buffer | undefined {
  const text = bytes.toString("latin1");
  try {
    if (kind === "certificate-request") {
      const der = pemBody(text, "CERTIFICATE REQUEST") ?? bytes;
      return Buffer.from(new x509.Pkcs10CertificateRequest(new Uint8Array(der).buffer).publicKey.rawData);
    }
    if (kind === "certificate") {
      const der = pemBody(text, "CERTIFICATE") ?? bytes;
      return new X509Certificate(der).publicKey.export({ format: "der", type: "spki" });
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Check 12 for load-input, sign-certificate, cross-certify and issue-crl; undefined when the entry keeps §6.10. */
export function applySigningRules(body: EntryBody, state: WalkState & { inputs?: Map<string, { kind: string; bytes: Buffer }> }): string | undefined {
  const o = body.outputs as Record<string, unknown>;
  switch (body.action) {
    case "load-input": {
      const input = o.input;
      if (!isMap(input) || typeof input.name !== "string" || typeof input.kind !== "string" || typeof input.sha256 !== "string" || typeof input.content !== "string") {
        return "outputs.input needs name, kind, sha256 and content.";
      }
      const bytes = decodeBase64Strict(input.content);
      if (!bytes) return "outputs.input.content is not strict base64.";
      if (createHash("sha256").update(bytes).digest("hex") !== input.sha256) return "outputs.input.sha256 is not the SHA-256 of the recorded content: the hash compared aloud is not of this file.";
      (state.inputs ??= new Map()).set(input.name, { kind: input.kind, bytes });
      return undefined;
    }
    case "sign-certificate":
    case "cross-certify": {
      if (!state.rootKey) return "a certificate is signed before the ceremony has a root key.";
      const pem = isMap(o.certificate) ? o.certificate.pem : undefined;
      if (typeof pem !== "string") return "outputs.certificate.pem is missing.";
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(pem);
      } catch {
        return "outputs.certificate.pem is not an X.509 certificate.";
      }
      if (!cert.verify(rootKeyObject(state.rootKey))) return "the certificate is not signed by the ceremony's root key.";
      const name = (body.inputs as Record<string, unknown>).input;
      const input = typeof name === "string" ? state.inputs?.get(name) : undefined;
      if (!input) return "the certificate names no input loaded before it (inputs.input).";
      const wanted = inputSpki(input.bytes, input.kind);
      if (!wanted || !cert.publicKey.export({ format: "der", type: "spki" }).equals(wanted)) return `the certificate is not of the key the input "${String(name)}" names.`;
      return undefined;
    }
    case "issue-crl": {
      if (!state.rootKey) return "a CRL is signed before the ceremony has a root key.";
      const pem = isMap(o.crl) ? o.crl.pem : undefined;
      const der = typeof pem === "string" ? pemBody(pem, "X509 CRL") : undefined;
      if (!der) return "outputs.crl.pem is not a PEM CRL.";
      try {
        const { tbs, signature } = splitSigned(der);
        const ec = state.rootKey.algorithm.startsWith("EC");
        const ok = verify(HASH[state.rootKey.algorithm]!, tbs, ec ? { key: rootKeyObject(state.rootKey), dsaEncoding: "der" } : rootKeyObject(state.rootKey), signature);
        return ok ? undefined : "the CRL is not signed by the ceremony's root key.";
      } catch {
        return "outputs.crl.pem is not a CRL this verifier can read.";
      }
    }
    default:
      return undefined;
  }
}
