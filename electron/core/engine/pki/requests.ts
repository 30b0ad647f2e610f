/**
 * What comes into a signing ceremony from outside the room — a PKCS#10
 * request, another root's certificate, a revocation list — is checked before
 * the HSM signs anything: a bad signature, a weak key or a weak signature
 * algorithm stops the step and says which.
 */
import "reflect-metadata";
import { createPublicKey, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { CustosError } from "../../errors";
import type { CertificateProfile } from "./profile";
import { readRevocationList } from "../../transcript/verify/revocation-list";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** Reads PEM or DER bytes as one PEM/DER object of the given kind (as a plain ArrayBuffer for @peculiar/x509). */
function der(bytes: Buffer, label: string): ArrayBuffer {
  const text = bytes.toString("latin1");
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text);
  const raw = m ? Buffer.from(m[1]!.replace(/\s+/g, ""), "base64") : bytes[0] === 0x30 ? bytes : undefined;
  if (raw) return new Uint8Array(raw).buffer;
  throw new CustosError("INPUT_FORM", `The file is not a ${label} in PEM or DER form.`, "Bring the file the requester sent, unchanged.");
}

/** Signature algorithms refused in what comes into the room: MD2/MD4/MD5/SHA-1 with RSA, ECDSA with SHA-1, DSA (all forms). */
const WEAK_OIDS = new Set([
  "1.2.840.113549.1.1.2",
  "1.2.840.113549.1.1.3",
  "1.2.840.113549.1.1.4",
  "1.2.840.113549.1.1.5",
  "1.2.840.10045.4.1",
  "1.3.14.3.2.29",
  "1.2.840.10040.4.3",
  "2.16.840.1.101.3.4.3.1",
  "2.16.840.1.101.3.4.3.2",
]);
const WEAK_HASH_NAME = /^(MD2|MD4|MD5|SHA-1)$/i;

/** The subject key's strength against the profile's key policy; a CustosError naming what is weak. */
export function checkSubjectKey(spki: Buffer, policy: CertificateProfile["keyPolicy"], what: string): string {
  const key = createPublicKey({ key: spki, format: "der", type: "spki" });
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa") {
    const bits = d.modulusLength ?? 0;
    if (bits < policy.rsaMinBits) throw new CustosError("INPUT_WEAK_KEY", `${what} has an RSA key of ${bits} bits; the script's profile needs at least ${policy.rsaMinBits}.`, "Refuse the request; ask the requester for a stronger key.");
    return `RSA-${bits}`;
  }
  if (key.asymmetricKeyType === "ec") {
    const curve = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" }[d.namedCurve ?? ""] as "P-256" | "P-384" | "P-521" | undefined;
    if (!curve || !policy.ecCurves.includes(curve)) throw new CustosError("INPUT_WEAK_KEY", `${what} has an EC key on ${d.namedCurve ?? "an unknown curve"}; the profile allows ${policy.ecCurves.join(", ")}.`, "Refuse the request; ask the requester for a key on an allowed curve.");
    return `EC-${curve}`;
  }
  if (key.asymmetricKeyType === "ed25519" && policy.ed25519) return "Ed25519";
  throw new CustosError("INPUT_WEAK_KEY", `${what} has a ${key.asymmetricKeyType ?? "unknown"} key, which the profile does not allow.`, "Refuse the request.");
}

function weakSignature(oid: string, hashName: string | undefined): boolean {
  return WEAK_OIDS.has(oid) || (hashName !== undefined && WEAK_HASH_NAME.test(hashName));
}

export interface CheckedRequest {
  subject: string;
  spki: Buffer;
  keyAlgorithm: string;
  signatureAlgorithm: string;
}

/** A PKCS#10 request whose own signature verifies, with a key the profile allows and no weak signature algorithm. */
export async function checkCsr(bytes: Buffer, profile: CertificateProfile): Promise<CheckedRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der(bytes, "CERTIFICATE REQUEST"));
  } catch (e) {
    if (e instanceof CustosError) throw e;
    throw new CustosError("INPUT_FORM", `The certificate request cannot be read (${(e as Error).message}).`, "Bring the PKCS#10 request the requester sent, unchanged.");
  }
  const sigAlg = csr.signatureAlgorithm as { name?: string; hash?: { name?: string } };
  const sigName = `${sigAlg.name ?? "?"}${sigAlg.hash?.name ? ` ${sigAlg.hash.name}` : ""}`;
  const oid = (csr as unknown as { asn: { signatureAlgorithm: { algorithm: string } } }).asn.signatureAlgorithm.algorithm;
  if (weakSignature(oid, sigAlg.hash?.name)) {
    throw new CustosError("INPUT_WEAK_SIGNATURE", `The certificate request is signed with a weak algorithm (${sigName}).`, "Refuse the request; ask for one signed with SHA-256 or better.");
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw new CustosError("INPUT_BAD_SIGNATURE", "The certificate request's own signature does not verify: it was altered, or made with another key.", "Refuse the request; ask the requester to send it again and compare its hash.");
  const spki = Buffer.from(csr.publicKey.rawData);
  return { subject: csr.subject, spki, keyAlgorithm: checkSubjectKey(spki, profile.keyPolicy, "The request"), signatureAlgorithm: sigName };
}

/** Another root's self-signed certificate (for a cross-certificate): its self-signature verifies and its key is allowed. */
export async function checkOtherRoot(bytes: Buffer, profile: CertificateProfile): Promise<CheckedRequest & { cert: x509.X509Certificate }> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der(bytes, "CERTIFICATE"));
  } catch (e) {
    if (e instanceof CustosError) throw e;
    throw new CustosError("INPUT_FORM", `The other root's certificate cannot be read (${(e as Error).message}).`, "Bring the other root's self-signed certificate, unchanged.");
  }
  const sigAlg = cert.signatureAlgorithm as { name?: string; hash?: { name?: string } };
  const sigName = `${sigAlg.name ?? "?"}${sigAlg.hash?.name ? ` ${sigAlg.hash.name}` : ""}`;
  const certOid = (cert as unknown as { asn: { signatureAlgorithm: { algorithm: string } } }).asn.signatureAlgorithm.algorithm;
  if (weakSignature(certOid, sigAlg.hash?.name)) throw new CustosError("INPUT_WEAK_SIGNATURE", `The other root's certificate is signed with a weak algorithm (${sigName}).`, "Refuse it.");
  if (cert.subject !== cert.issuer || !(await cert.verify({ signatureOnly: true }))) {
    throw new CustosError("INPUT_BAD_SIGNATURE", "The other root's certificate is not a self-signed certificate whose signature verifies.", "Refuse it; ask for the other root's own certificate.");
  }
  const spki = Buffer.from(cert.publicKey.rawData);
  return { cert, subject: cert.subject, spki, keyAlgorithm: checkSubjectKey(spki, profile.keyPolicy, "The other root"), signatureAlgorithm: sigName };
}

/** CRL reasons (RFC 5280 5.3.1) by name, as a revocation list file names them. */
export const CRL_REASONS: Record<string, x509.X509CrlReason> = {
  unspecified: x509.X509CrlReason.unspecified,
  keyCompromise: x509.X509CrlReason.keyCompromise,
  cACompromise: x509.X509CrlReason.cACompromise,
  affiliationChanged: x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  cessationOfOperation: x509.X509CrlReason.cessationOfOperation,
  certificateHold: x509.X509CrlReason.certificateHold,
  privilegeWithdrawn: x509.X509CrlReason.privilegeWithdrawn,
};

/** "SERIAL REASON" per line, as §6.9 of the transcript format defines it (the verifier reads the same way). */
export function parseRevocations(file: Buffer | string): Array<{ serial: string; reason: keyof typeof CRL_REASONS }> {
  const r = readRevocationList(typeof file === "string" ? Buffer.from(file, "utf8") : file);
  if ("problem" in r) {
    throw new CustosError("INPUT_FORM", `Line ${r.line} of the revocation list is not "SERIAL REASON": ${r.problem}.`, "Correct the list on the requester's side and bring it again.");
  }
  return r.list.map((x) => ({ serial: x.serial, reason: x.reason }));
}
