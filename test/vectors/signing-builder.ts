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

/** A PKCS#10 request for a fresh P-256 key, signed by it. */
export async function certificateRequest(commonName: string): Promise<{ pem: string; spki: Buffer }> {
  const keys = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
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

/** A certificate for `spki` with `subject`, issued by the root (its certificate `issuerPem`), signed by `signer`. */
export async function issueFor(root: SoftRoot, issuerPem: string, subject: string, spki: Buffer, notBefore: Date, signerKey: KeyObject = root.privateKey): Promise<{ pem: string; sha256: string }> {
  const issuer = new x509.X509Certificate(issuerPem);
  const signer = await hsmSigner("EC-P384", Buffer.from(root.spki, "base64"), signWith(signerKey));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialFrom(webcrypto.getRandomValues(new Uint8Array(16))),
      subject,
      issuer: issuer.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 365 * 86_400_000),
      signingAlgorithm: signer.signingAlgorithm,
      publicKey: new x509.PublicKey(new Uint8Array(spki).buffer),
      signingKey: signer.privateKey,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    },
    signer.crypto,
  );
  const der = Buffer.from(cert.rawData);
  return { pem: cert.toString("pem") + "\n", sha256: createHash("sha256").update(der).digest("hex") };
}

/** A CRL issued by the root, signed by `signerKey` (the root's own unless a vector says otherwise). */
export async function crlFor(root: SoftRoot, issuerPem: string, serials: string[], thisUpdate: Date, signerKey: KeyObject = root.privateKey): Promise<{ pem: string; sha256: string }> {
  const issuer = new x509.X509Certificate(issuerPem);
  const signer = await hsmSigner("EC-P384", Buffer.from(root.spki, "base64"), signWith(signerKey));
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: issuer.subject,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + 30 * 86_400_000),
      signingAlgorithm: signer.signingAlgorithm,
      signingKey: signer.privateKey,
      entries: serials.map((s) => ({ serialNumber: s, revocationDate: thisUpdate, reason: x509.X509CrlReason.keyCompromise })),
    },
    signer.crypto,
  );
  const der = Buffer.from(crl.rawData);
  const pem = `-----BEGIN X509 CRL-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END X509 CRL-----\n`;
  return { pem, sha256: createHash("sha256").update(der).digest("hex") };
}
