import "reflect-metadata";
import crypto, { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { algorithmSpec, type RootKeyAlgorithm } from "../hsm/algorithms";

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

/** WebCrypto parameters matching a root key algorithm. */
function webAlgorithms(alg: RootKeyAlgorithm): { importAlg: EcKeyImportParams | RsaHashedImportParams; signAlg: EcdsaParams | Algorithm } {
  const spec = algorithmSpec(alg);
  if (spec.family === "EC") {
    const hash = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" }[spec.hash];
    return { importAlg: { name: "ECDSA", namedCurve: spec.curve }, signAlg: { name: "ECDSA", hash } };
  }
  return { importAlg: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, signAlg: { name: "RSASSA-PKCS1-v1_5" } };
}

/**
 * Builds the self-signed root CA certificate with @peculiar/x509, whose only
 * signing call is routed to the HSM: the private key never leaves it.
 */
export async function createRootCertificate(req: CertificateRequest): Promise<{ pem: string; der: Buffer; serialNumber: string; sha256: string; notAfter: string }> {
  const { importAlg, signAlg } = webAlgorithms(req.algorithm);
  const publicKey = await webcrypto.subtle.importKey("spki", req.spki, importAlg, true, ["verify"]);
  // A stand-in CryptoKey: x509 only passes it back to subtle.sign below.
  const hsmKey = { type: "private", algorithm: publicKey.algorithm, extractable: false, usages: ["sign"] } as unknown as CryptoKey;
  const subtle = new Proxy(webcrypto.subtle, {
    get(target, prop, receiver) {
      if (prop === "sign") {
        return async (_alg: unknown, key: CryptoKey, data: BufferSource) => {
          if (key !== hsmKey) throw new Error("only the HSM root key signs in a ceremony");
          const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
          const sig = await req.sign(bytes);
          return sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const cryptoShim = { subtle, getRandomValues: webcrypto.getRandomValues.bind(webcrypto), randomUUID: () => crypto.randomUUID() } as unknown as Crypto;

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
