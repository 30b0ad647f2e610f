/**
 * The key attributes Custos asks a token for and reads back: the wrap
 * mechanisms by number, the root private key template (invariant 1) and the
 * values it must read back as, and attributes read one at a time.
 */
import * as graphene from "graphene-pk11";
import { pkcs11ErrorName, toHsmError } from "./errors";

const { ObjectClass } = graphene;

/** A key wrap mechanism by number (PKCS#11 v3: 0x210B is RFC 5649; 0x210A varies by vendor). */
export interface WrapMechanism {
  code: number;
  name: string;
}
export const CKM_AES_KEY_WRAP_PAD: WrapMechanism = { code: 0x210a, name: "CKM_AES_KEY_WRAP_PAD" };
export const CKM_AES_KEY_WRAP_KWP: WrapMechanism = { code: 0x210b, name: "CKM_AES_KEY_WRAP_KWP" };

/** What the root private key is allowed and protected by (DESIGN.md invariant 1). */
const ROOT_KEY_ATTRIBUTES = {
  private: true,
  sensitive: true,
  extractable: true,
  wrapWithTrusted: true,
  sign: true,
  derive: false,
  decrypt: false,
  unwrap: false,
} as const;

/** The root private key template (DESIGN.md invariant 1), shared by generation, restore and the preflight. */
export function rootPrivateTemplate(label: string, id: Buffer, token: boolean): Record<string, unknown> {
  return { token, label, id, class: ObjectClass.PRIVATE_KEY, ...ROOT_KEY_ATTRIBUTES };
}

/** The root public key template: verify only. */
export function rootPublicTemplate(label: string, id: Buffer, token: boolean): Record<string, unknown> {
  return { token, label, id, class: ObjectClass.PUBLIC_KEY, private: false, verify: true, encrypt: false, wrap: false };
}

/** Attribute values the root template asks for, as read back one at a time. */
export const ROOT_TEMPLATE_EXPECTED: Record<string, boolean> = { ...ROOT_KEY_ATTRIBUTES, alwaysSensitive: true };

/** PKCS#11 names of the attributes Custos reads, for messages. */
export const CKA_NAMES: Record<string, string> = {
  class: "CKA_CLASS",
  label: "CKA_LABEL",
  id: "CKA_ID",
  token: "CKA_TOKEN",
  private: "CKA_PRIVATE",
  sensitive: "CKA_SENSITIVE",
  extractable: "CKA_EXTRACTABLE",
  alwaysSensitive: "CKA_ALWAYS_SENSITIVE",
  neverExtractable: "CKA_NEVER_EXTRACTABLE",
  wrapWithTrusted: "CKA_WRAP_WITH_TRUSTED",
  trusted: "CKA_TRUSTED",
  sign: "CKA_SIGN",
  derive: "CKA_DERIVE",
  decrypt: "CKA_DECRYPT",
  unwrap: "CKA_UNWRAP",
  wrap: "CKA_WRAP",
  keyType: "CKA_KEY_TYPE",
};

/** One attribute read on its own: "unsupported" when the token does not know or will not say. */
export type AttributeValue = boolean | number | string | Buffer | "unsupported";

/** Reads attributes one at a time; an attribute the token does not support is an answer, not a crash. */
export function readAttributes(o: graphene.SessionObject, names: string[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const n of names) {
    try {
      const v = (o.getAttribute({ [n]: null }) as Record<string, AttributeValue | null | undefined>)[n];
      out[n] = v === null || v === undefined ? "unsupported" : v;
    } catch (e) {
      const name = pkcs11ErrorName(e);
      if (name === "CKR_ATTRIBUTE_TYPE_INVALID" || name === "CKR_ATTRIBUTE_SENSITIVE" || !name) out[n] = "unsupported";
      else throw toHsmError(e, "Reading a key attribute", { attribute: CKA_NAMES[n] ?? n });
    }
  }
  return out;
}
