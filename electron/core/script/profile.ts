/**
 * Certificate profiles fixed by a signing script: what the root certifies is
 * decided in the script (hashed into the transcript), never typed in the room.
 */
import { z } from "zod";

const url = z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http(s) URL").max(500);
const oid = z.string().regex(/^[0-2](\.(0|[1-9][0-9]*))+$/, "must be a dotted OID such as 2.23.140.1.2.1");
const dns = z.string().regex(/^\.?[a-z0-9-]+(\.[a-z0-9-]+)*$/i, "must be a DNS name such as example.org").max(253);

export const KEY_USAGES = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"] as const;
/** Extended key usages by name (RFC 5280 4.2.1.12); other OIDs may be given dotted. */
export const EKU_NAMES = ["serverAuth", "clientAuth", "codeSigning", "emailProtection", "timeStamping", "ocspSigning"] as const;

/** Which subject keys a profile accepts; anything weaker is refused before the HSM signs. */
export const KeyPolicySchema = z
  .object({
    rsaMinBits: z.number().int().min(2048).max(16384).default(3072),
    ecCurves: z.array(z.enum(["P-256", "P-384", "P-521"])).min(1).default(["P-256", "P-384", "P-521"]),
    ed25519: z.boolean().default(false),
  })
  .strict();

/** The profile of a certificate the root issues (an intermediate CA, or a cross-certificate). */
export const CertificateProfileSchema = z
  .object({
    validityDays: z.number().int().min(1).max(36500),
    /** A CA certificate unless false; pathLength limits the chain below it. */
    ca: z.boolean().default(true),
    pathLength: z.number().int().min(0).max(10).optional(),
    keyUsage: z.array(z.enum(KEY_USAGES)).min(1),
    extendedKeyUsage: z.array(z.union([z.enum(EKU_NAMES), oid])).max(20).optional(),
    certificatePolicies: z.array(oid).max(20).optional(),
    crlDistributionPoints: z.array(url).max(5).optional(),
    caIssuers: z.array(url).max(5).optional(),
    ocsp: z.array(url).max(5).optional(),
    nameConstraints: z.object({ permittedDns: z.array(dns).max(50).default([]), excludedDns: z.array(dns).max(50).default([]) }).strict().optional(),
    keyPolicy: KeyPolicySchema.default({ rsaMinBits: 3072, ecCurves: ["P-256", "P-384", "P-521"], ed25519: false }),
  })
  .strict();
export type CertificateProfile = z.infer<typeof CertificateProfileSchema>;

