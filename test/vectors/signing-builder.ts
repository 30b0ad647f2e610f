/**
 * The signing-ceremony parts of a built transcript (docs/transcript-format.md
 * §6.10): a root certificate for the software root key, the files a
 * requester brings (a PKCS#10 request, another root's certificate, a
 * revocation list), and what the root signs from them, all made with
 * @peculiar/x509 and signed by the software root key.
 */
import "reflect-metadata";
import { createHash, generateKeyPairSync, sign as nodeSign, webcrypto, type KeyObject } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { createRootCertificate } from "../../electron/core/engine/certificate";
import { hsmSigner, serialFrom } from "../../electron/core/engine/pki/hsm-signer";
import { keyIdentifier, profileExtensionsFor } from "../../electron/core/engine/pki/profile";
import type { CertificateProfile } from "../../electron/core/script/profile";
import { REVOCATION_REASONS, type RevocationReason } from "../../electron/core/transcript/verify/revocation-list";
import { certificateParts, crlParts } from "../../electron/core/transcript/verify/x509-der";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface SoftRoot {
  privateKey: KeyObject;
  spki: string;
}

const signWith = (key: KeyObject) => (tbs: Uint8Array) => nodeSign("sha384", tbs, { key, dsaEncoding: "ieee-p1363" });

/** A self-signed root certificate for a P-384 software key. */
export async function rootCertificate(root: SoftRoot, commonName: string, notBefore: Date): Promise<{ pem: string; sha256: string }> {
  const c = await createRootCertificate({ algorithm: "EC-P384", spki: Buffer.from(root.spki, "base64"), subject: { commonName }, notBefore, validityYears: 20, sign: signWith(root.privateKey) });
  return { pem: c.pem, sha256: c.sha256 };
}

/** A PKCS#10 request for a fresh P-256 key (or another curve), signed by it. */
export async function certificateRequest(commonName: string, namedCurve = "P-256"): Promise<{ pem: string; spki: Buffer }> {
  const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve }, true, ["sign", "verify"])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${commonName}`, keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } });
  return { pem: csr.toString("pem") + "\n", spki: Buffer.from(csr.publicKey.rawData) };
}

/** Another root: a fresh P-384 key and its self-signed certificate. */
export async function otherRoot(commonName: string, notBefore: Date): Promise<{ pem: string; spki: Buffer }> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const spki = publicKey.export({ format: "der", type: "spki" });
  const c = await rootCertificate({ privateKey, spki: spki.toString("base64") }, commonName, notBefore);
  return { pem: c.pem, spki };
}

export interface IssueOptions {
  /** The script step's profile (§6.9); the certificate follows it. */
  profile: CertificateProfile;
  /** Signs with another key than the root's (a vector says so). */
  signerKey?: KeyObject;
  /** Hashes with another hash than the one §6.9 pairs with the P-384 root (a vector says so). */
  hash?: "sha256" | "sha384";
  /** Replaces the profile's extensions (a vector says so). */
  extensions?: x509.Extension[];
  /** Validity in days instead of the profile's. */
  validityDays?: number;
  /** Issuer name (DER) instead of the root certificate's subject. */
  issuer?: Buffer;
}

/** What sign-certificate / cross-certify record of the certificate they issue (§6.10). */
export type IssuedRecord = {
  pem: string;
  sha256: string;
  spkiSha256: string;
  serialNumber: string;
};

/** A certificate for `spki` with `subject` (DER), issued by the root (its certificate `issuerPem`) under the profile, as Custos issues it. */
export async function issueFor(root: SoftRoot, issuerPem: string, subject: Buffer, spki: Buffer, notBefore: Date, o: IssueOptions): Promise<IssuedRecord> {
  const issuerDer = certificateParts(Buffer.from(new x509.X509Certificate(issuerPem).rawData)).subject;
  const hash = o.hash ?? "sha384";
  const signerKey = o.signerKey ?? root.privateKey;
  const signer = await hsmSigner("EC-P384", Buffer.from(root.spki, "base64"), (tbs) => nodeSign(hash, tbs, { key: signerKey, dsaEncoding: "ieee-p1363" }));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialFrom(webcrypto.getRandomValues(new Uint8Array(16))),
      subject: new x509.Name(new Uint8Array(subject)),
      issuer: new x509.Name(new Uint8Array(o.issuer ?? issuerDer)),
      notBefore,
      notAfter: new Date(notBefore.getTime() + (o.validityDays ?? o.profile.validityDays) * 86_400_000),
      signingAlgorithm: { ...signer.signingAlgorithm, hash: hash === "sha256" ? "SHA-256" : "SHA-384" } as EcdsaParams,
      publicKey: new x509.PublicKey(new Uint8Array(spki).buffer),
      signingKey: signer.privateKey,
      extensions: o.extensions ?? profileExtensionsFor(o.profile, spki, Buffer.from(root.spki, "base64")),
    },
    signer.crypto,
  );
  const der = Buffer.from(cert.rawData);
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  return { pem: cert.toString("pem") + "\n", sha256: sha(der), spkiSha256: sha(spki), serialNumber: cert.serialNumber };
}

/** What issue-crl records of the CRL (§6.10). */
export type CrlRecord = {
  pem: string;
  sha256: string;
  number: string;
};

export interface CrlOptions {
  nextUpdateDays: number;
  signerKey?: KeyObject;
  issuer?: Buffer;
  /** Declares this AlgorithmIdentifier (hex) outside the signed part instead of the paired one. */
  outerAlgorithm?: string;
}

/** A CRL issued by the root revoking `list` (§6.9 revocation list entries), as Custos issues it. */
export async function crlFor(root: SoftRoot, issuerPem: string, list: Array<{ serial: string; reason: RevocationReason }>, thisUpdate: Date, o: CrlOptions): Promise<CrlRecord> {
  const issuerDer = certificateParts(Buffer.from(new x509.X509Certificate(issuerPem).rawData)).subject;
  const signer = await hsmSigner("EC-P384", Buffer.from(root.spki, "base64"), signWith(o.signerKey ?? root.privateKey));
  const number = BigInt(thisUpdate.toISOString().replace(/[^0-9]/g, "").slice(0, 14));
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: new x509.Name(new Uint8Array(o.issuer ?? issuerDer)),
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + o.nextUpdateDays * 86_400_000),
      signingAlgorithm: signer.signingAlgorithm,
      signingKey: signer.privateKey,
      entries: list.map((r) => ({ serialNumber: r.serial, revocationDate: thisUpdate, reason: REVOCATION_REASONS[r.reason] as x509.X509CrlReason })),
      extensions: [new x509.AuthorityKeyIdentifierExtension(keyIdentifier(Buffer.from(root.spki, "base64")), false), new x509.Extension("2.5.29.20", false, new Uint8Array(Buffer.from(`0206${number.toString(16).padStart(12, "0")}`, "hex")).buffer)],
    },
    signer.crypto,
  );
  let der = Buffer.from(crl.rawData);
  if (o.outerAlgorithm) {
    const { outerAlg } = crlParts(der);
    const at = der.lastIndexOf(outerAlg);
    der = Buffer.concat([der.subarray(0, at), Buffer.from(o.outerAlgorithm, "hex"), der.subarray(at + outerAlg.length)]);
  }
  const pem = `-----BEGIN X509 CRL-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END X509 CRL-----\n`;
  return { pem, sha256: createHash("sha256").update(der).digest("hex"), number: number.toString() };
}

/** §6.4: prove-root-key's proof — the challenge for this ceremony and key, signed by `signerKey` (the root's unless a vector says otherwise). */
export function rootProof(root: SoftRoot & { fingerprint: string }, ceremonyId: string, signerKey: KeyObject): { challenge: string; signature: string; verifies: true } {
  const challenge = Buffer.concat([Buffer.from(`Custos root key proof\nceremony ${ceremonyId}\nkey ${root.fingerprint}\n`), Buffer.alloc(32, 7)]);
  return { challenge: challenge.toString("base64"), signature: signWith(signerKey)(challenge).toString("base64"), verifies: true };
}
