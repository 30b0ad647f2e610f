/**
 * @peculiar/x509 signs through WebCrypto; a ceremony's root key never leaves
 * the HSM. This gives the library a stand-in private key and a crypto
 * provider whose only signing call goes to the HSM (a callback), so
 * certificates and CRLs are built by a well-kept library and signed inside
 * the token.
 */
import "reflect-metadata";
import crypto, { webcrypto } from "node:crypto";
import { algorithmSpec, type RootKeyAlgorithm } from "../../hsm/algorithms";

export interface HsmSigner {
  /** The root key's public half, as a CryptoKey. */
  publicKey: CryptoKey;
  /** The stand-in for the private key: only the shim below accepts it. */
  privateKey: CryptoKey;
  /** WebCrypto algorithm parameters for signing with the root key. */
  signingAlgorithm: Algorithm | EcdsaParams;
  /** The crypto provider to pass to @peculiar/x509. */
  crypto: Crypto;
}

/** WebCrypto parameters matching a root key algorithm. */
export function webAlgorithms(alg: RootKeyAlgorithm): { importAlg: EcKeyImportParams | RsaHashedImportParams; signAlg: EcdsaParams | Algorithm } {
  const spec = algorithmSpec(alg);
  if (spec.family === "EC") {
    const hash = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" }[spec.hash];
    return { importAlg: { name: "ECDSA", namedCurve: spec.curve }, signAlg: { name: "ECDSA", hash } };
  }
  return { importAlg: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, signAlg: { name: "RSASSA-PKCS1-v1_5" } };
}

/** A signer for @peculiar/x509 whose signatures are made by `sign` (the HSM; EC returns raw r||s as WebCrypto does). */
export async function hsmSigner(alg: RootKeyAlgorithm, spki: Buffer, sign: (tbs: Uint8Array) => Promise<Buffer> | Buffer): Promise<HsmSigner> {
  const { importAlg, signAlg } = webAlgorithms(alg);
  const publicKey = await webcrypto.subtle.importKey("spki", spki, importAlg, true, ["verify"]);
  const privateKey = { type: "private", algorithm: publicKey.algorithm, extractable: false, usages: ["sign"] } as unknown as CryptoKey;
  const subtle = new Proxy(webcrypto.subtle, {
    get(target, prop, receiver) {
      if (prop === "sign") {
        return async (_alg: unknown, key: CryptoKey, data: BufferSource) => {
          if (key !== privateKey) throw new Error("only the HSM root key signs in a ceremony");
          const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
          const sig = await sign(bytes);
          return sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const shim = { subtle, getRandomValues: webcrypto.getRandomValues.bind(webcrypto), randomUUID: () => crypto.randomUUID() } as unknown as Crypto;
  return { publicKey, privateKey, signingAlgorithm: signAlg, crypto: shim };
}

/** A positive 16-byte serial number from the given random bytes (the HSM's RNG in a ceremony). */
export function serialFrom(random: Uint8Array): string {
  const serial = Buffer.from(random.subarray(0, 16));
  serial[0]! &= 0x7f;
  if (serial[0] === 0) serial[0] = 0x01;
  return serial.toString("hex");
}
