/**
 * §6.9–§6.10: the parts of X.509 files the verifier compares byte for byte
 * (names, keys, AlgorithmIdentifiers, the signed bytes), cut from the DER as
 * recorded rather than re-encoded by a library.
 */

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  at: number;
  /** Offset of the content. */
  start: number;
  end: number;
}

/** One DER element at `at`. */
export function tlv(buf: Buffer, at: number): Tlv {
  if (at + 2 > buf.length) throw new Error("truncated DER");
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
  return { tag, at, start, end: start + len };
}

/** The elements inside a constructed element. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const el = tlv(buf, at);
    if (el.end > parent.end) throw new Error("element runs past its parent");
    out.push(el);
    at = el.end;
  }
  return out;
}

export const bytesOf = (buf: Buffer, el: Tlv): Buffer => buf.subarray(el.at, el.end);

/** A signed DER object (certificate, CRL): its signed part, the outer AlgorithmIdentifier and the signature bits. */
export function splitSigned(der: Buffer): { tbs: Buffer; tbsEl: Tlv; outerAlg: Buffer; signature: Buffer } {
  const outer = tlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error("not a DER SEQUENCE");
  const parts = children(der, outer);
  if (parts.length !== 3) throw new Error("not a signed object");
  const [tbs, alg, sig] = parts as [Tlv, Tlv, Tlv];
  if (tbs.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03 || der[sig.start] !== 0) throw new Error("no signature BIT STRING");
  return { tbs: bytesOf(der, tbs), tbsEl: tbs, outerAlg: bytesOf(der, alg), signature: der.subarray(sig.start + 1, sig.end) };
}

/** §6.9: the AlgorithmIdentifier (DER) of what the root signs in X.509, by root key algorithm. */
export const PAIRED_ALGORITHM_ID: Record<string, string> = {
  "EC-P256": "300a06082a8648ce3d040302",
  "EC-P384": "300a06082a8648ce3d040303",
  "EC-P521": "300a06082a8648ce3d040304",
  "RSA-3072": "300d06092a864886f70d01010b0500",
  "RSA-4096": "300d06092a864886f70d01010b0500",
};

export interface CertificateParts {
  tbs: Buffer;
  outerAlg: Buffer;
  innerAlg: Buffer;
  signature: Buffer;
  /** Content octets of serialNumber. */
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  spki: Buffer;
}

/** A certificate's DER cut into the parts §6.10 compares. */
export function certificateParts(der: Buffer): CertificateParts {
  const { tbs, tbsEl, outerAlg, signature } = splitSigned(der);
  const f = children(der, tbsEl);
  const o = f[0]?.tag === 0xa0 ? 1 : 0;
  const [serial, alg, issuer, , subject, spki] = f.slice(o, o + 6);
  if (!spki || serial!.tag !== 0x02 || alg!.tag !== 0x30 || issuer!.tag !== 0x30 || subject!.tag !== 0x30 || spki.tag !== 0x30) throw new Error("not a TBSCertificate");
  return { tbs, outerAlg, innerAlg: bytesOf(der, alg!), signature, serial: der.subarray(serial!.start, serial!.end), issuer: bytesOf(der, issuer!), subject: bytesOf(der, subject!), spki: bytesOf(der, spki) };
}

/** A PKCS#10 request's subject and SubjectPublicKeyInfo, as encoded in its CertificationRequestInfo. */
export function requestParts(der: Buffer): { subject: Buffer; spki: Buffer } {
  const outer = tlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw new Error("not a DER SEQUENCE");
  const info = children(der, outer)[0];
  if (!info || info.tag !== 0x30) throw new Error("no CertificationRequestInfo");
  const [version, subject, spki] = children(der, info);
  if (!spki || version!.tag !== 0x02 || subject!.tag !== 0x30 || spki.tag !== 0x30) throw new Error("not a CertificationRequestInfo");
  return { subject: bytesOf(der, subject!), spki: bytesOf(der, spki) };
}

/** A CRL's inner AlgorithmIdentifier and issuer, as encoded in its TBSCertList. */
export function crlParts(der: Buffer): { tbs: Buffer; outerAlg: Buffer; innerAlg: Buffer; issuer: Buffer; signature: Buffer } {
  const { tbs, tbsEl, outerAlg, signature } = splitSigned(der);
  const f = children(der, tbsEl);
  const o = f[0]?.tag === 0x02 ? 1 : 0;
  const [alg, issuer] = f.slice(o, o + 2);
  if (!issuer || alg!.tag !== 0x30 || issuer.tag !== 0x30) throw new Error("not a TBSCertList");
  return { tbs, outerAlg, innerAlg: bytesOf(der, alg!), issuer: bytesOf(der, issuer), signature };
}

/** The DER of the first PEM block labelled `label`, or undefined. */
export function pemBody(pem: string, label: string): Buffer | undefined {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ""), "base64") : undefined;
}

/** The DER of an input file of a kind (PEM: its first block of the kind's label; otherwise the bytes themselves). */
export function inputDer(bytes: Buffer, kind: "certificate-request" | "certificate"): Buffer | undefined {
  const text = bytes.toString("latin1");
  if (!text.includes("-----BEGIN ")) return bytes;
  if (kind === "certificate") return pemBody(text, "CERTIFICATE");
  return pemBody(text, "CERTIFICATE REQUEST") ?? pemBody(text, "NEW CERTIFICATE REQUEST");
}

/** The subject and key an input names: a request's subject and subject key, or a certificate's subject and key. */
export function inputSubjectAndKey(bytes: Buffer, kind: string): { subject: Buffer; spki: Buffer } | undefined {
  if (kind !== "certificate-request" && kind !== "certificate") return undefined;
  try {
    const der = inputDer(bytes, kind);
    if (!der) return undefined;
    return kind === "certificate-request" ? requestParts(der) : certificateParts(der);
  } catch {
    return undefined;
  }
}
