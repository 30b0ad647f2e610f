import crypto from "node:crypto";

/**
 * Values too long to print usefully (PEMs, base64 blobs) are shortened in the
 * middle with their SHA-256, which still pins the exact value an auditor
 * finds in `bundle.json`.
 */

/** Longest value printed in full; longer ones are elided in the middle. */
export const MAX_VALUE_CHARS = 400;
/** Most lines a value may span in print, so one value can never outgrow a page. */
export const MAX_VALUE_LINES = 10;
/** Kept at each end of an elided value: one printed line each in the report's value column. */
const END_CHARS = 60;

/**
 * Shortens a long value to head … tail with its length and SHA-256 (of the
 * exact UTF-8 string, so it can be recomputed from the bundle). PEM armour is
 * kept readable by folding its line breaks before cutting.
 */
export function shorten(raw: string): { value: string; elided: boolean } {
  if (raw.length <= MAX_VALUE_CHARS && raw.split("\n").length <= MAX_VALUE_LINES) return { value: raw, elided: false };
  const sha = crypto.createHash("sha256").update(raw, "utf8").digest("hex");
  const folded = raw.replace(/\r?\n/g, " ");
  const head = folded.slice(0, END_CHARS);
  const tail = folded.slice(-END_CHARS);
  return {
    value: `${head}…\n…${tail}\n(${raw.length} characters; SHA-256 of the full value:)\n${sha}`,
    elided: true,
  };
}
