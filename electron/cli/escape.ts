/**
 * Everything a transcript, bundle or report says is attacker-controlled: a
 * forged title could carry escape sequences that clear the terminal and draw
 * "intact" itself. Every such string is passed through `safe` before it is
 * printed: control characters (C0, DEL, C1), line and paragraph separators
 * and bidirectional overrides become visible \u{…} escapes.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/gu;

/** The string with every control or direction-changing character shown as \u{XXXX}. */
export function safe(value: unknown): string {
  const s = typeof value === "string" ? value : String(value);
  return s.replace(UNSAFE, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}}`);
}
