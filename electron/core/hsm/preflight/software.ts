import crypto from "node:crypto";
import { algorithmSpec, type RootKeyAlgorithm } from "../algorithms";

/** RFC 5649 (AES key wrap with padding) in software: OpenSSL's id-aes256-wrap-pad. */
export function softwareWrapRfc5649(kek: Uint8Array, data: Uint8Array): Buffer {
  const c = crypto.createCipheriv("id-aes256-wrap-pad", kek, Buffer.from("A65959A6", "hex"));
  return Buffer.concat([c.update(data), c.final()]);
}

/** RFC 5649 unwrap in software; undefined when the blob is not RFC 5649 under this key. */
export function softwareUnwrapRfc5649(kek: Uint8Array, blob: Uint8Array): Buffer | undefined {
  try {
    const d = crypto.createDecipheriv("id-aes256-wrap-pad", kek, Buffer.from("A65959A6", "hex"));
    return Buffer.concat([d.update(blob), d.final()]);
  } catch {
    return undefined;
  }
}

/** A throwaway key pair made in software, as PKCS#8 and SPKI DER (the preflight's restore test). */
export function testKeyPair(alg: RootKeyAlgorithm): { pkcs8: Buffer; spki: Buffer } {
  const spec = algorithmSpec(alg);
  const kp =
    spec.family === "EC"
      ? crypto.generateKeyPairSync("ec", { namedCurve: spec.curve === "P-256" ? "prime256v1" : spec.curve === "P-384" ? "secp384r1" : "secp521r1" })
      : crypto.generateKeyPairSync("rsa", { modulusLength: spec.bits });
  return {
    pkcs8: kp.privateKey.export({ type: "pkcs8", format: "der" }),
    spki: kp.publicKey.export({ type: "spki", format: "der" }),
  };
}
