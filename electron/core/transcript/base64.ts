/**
 * Strict base64: Node's decoder ignores stray characters and non-zero
 * trailing bits, so two different strings can decode to the same key or
 * signature. Keys are compared and hashed as text, so only the one true
 * encoding of the bytes is accepted.
 */

/** Decodes standard padded base64, or returns undefined unless `text` is the exact encoding of the result. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (typeof text !== "string" || text.length % 4 !== 0) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  return bytes.toString("base64") === text ? bytes : undefined;
}
