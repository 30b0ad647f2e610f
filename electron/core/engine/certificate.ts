import "reflect-metadata";
import crypto from "node:crypto";
import * as x509 from "@peculiar/x509";
import type { RootKeyAlgorithm } from "../hsm/algorithms";
import { hsmSigner } from "./pki/hsm-signer";

export interface CertificateRequest {
  algorithm: RootKeyAlgorithm;
  spki: Buffer;
  subject: { commonName: string; organization?: string; organizationalUnit?: string; country?: string };
  notBefore: Date;
  validityYears: number;
  pathLength?: number;
  /** Signs the TBS bytes inside the HSM; EC returns raw r||s as WebCrypto does. */
  sign: (tbs: Uint8Array) => Promise<Buffer> | Buffer;
}

/**
 * Builds the self-signed root CA certificate with @peculiar/x509, whose only
 * signing call is routed to the HSM: the private key never leaves it.
 */
export async function createRootCertificate(req: CertificateRequest): Promise<{ pem: string; der: Buffer; serialNumber: string; sha256: string; notAfter: string }> {
  const signer = await hsmSigner(req.algorithm, req.spki, req.sign);
  const { publicKey, privateKey: hsmKey, signingAlgorithm: signAlg, crypto: cryptoShim } = signer;

  const parts: Array<Record<string, string[]>> = [];
  if (req.subject.country) parts.push({ C: [req.subject.country] });
  if (req.subject.organization) parts.push({ O: [req.subject.organization] });
  if (req.subject.organizationalUnit) parts.push({ OU: [req.subject.organizationalUnit] });
  parts.push({ CN: [req.subject.commonName] });
  const name = new x509.Name(parts as x509.JsonName);

  const serial = crypto.randomBytes(16);
  serial[0]! &= 0x7f; // positive INTEGER
  if (serial[0] === 0) serial[0] = 0x01;
  const notBefore = new Date(Math.floor(req.notBefore.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + req.validityYears);

  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString("hex"),
      name: name.toString(),
      notBefore,
      notAfter,
      signingAlgorithm: signAlg,
      keys: { publicKey, privateKey: hsmKey },
      extensions: [
        new x509.BasicConstraintsExtension(true, req.pathLength, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, cryptoShim),
      ],
    },
    cryptoShim,
  );
  const der = Buffer.from(cert.rawData);
  return {
    pem: cert.toString("pem") + "\n",
    der,
    serialNumber: serial.toString("hex"),
    sha256: crypto.createHash("sha256").update(der).digest("hex"),
    notAfter: notAfter.toISOString(),
  };
}
