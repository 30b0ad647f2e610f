import crypto from "node:crypto";
import type { Json } from "../transcript/types";

/**
 * Turns entry inputs and outputs into lines a person can read aloud and an
 * auditor can compare with `bundle.json`: nested JSON becomes dotted paths,
 * and values too long to print usefully (PEMs, base64 blobs) are shortened in
 * the middle with their SHA-256, which still pins the exact value.
 */

/** One printed line: the dotted path and the value as displayed. */
export interface FlatLine {
  path: string;
  value: string;
  /** True when the value was shortened and carries its SHA-256. */
  elided: boolean;
}

/** Longest value printed in full; longer ones are elided in the middle. */
export const MAX_VALUE_CHARS = 400;
/** Most lines a value may span in print, so one value can never outgrow a page. */
export const MAX_VALUE_LINES = 10;
/** Kept at each end of an elided value: one printed line each in the report's value column. */
const END_CHARS = 60;

/** A key is printed bare when it is an identifier, quoted otherwise, so paths stay unambiguous. */
function segment(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
}

/** Flattens a JSON object into dotted-path lines in key order of the object. */
export function flattenJson(value: { [key: string]: Json } | Json[], prefix = ""): FlatLine[] {
  const out: FlatLine[] = [];
  const walk = (v: Json, p: string): void => {
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(display(p, "[]", false));
      v.forEach((item, i) => walk(item, `${p}[${i}]`));
      return;
    }
    if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 0) out.push(display(p, "{}", false));
      for (const k of keys) walk(v[k] as Json, p ? `${p}.${segment(k)}` : segment(k));
      return;
    }
    if (typeof v === "string") out.push(display(p, v, true));
    else out.push(display(p, v === null ? "null" : String(v), false));
  };
  if (Array.isArray(value)) walk(value, prefix);
  else {
    const keys = Object.keys(value);
    for (const k of keys) walk(value[k] as Json, prefix ? `${prefix}.${segment(k)}` : segment(k));
  }
  return out;
}

function display(path: string, raw: string, isString: boolean): FlatLine {
  const p = path || "(value)";
  if (isString && raw === "") return { path: p, value: '""', elided: false };
  return { path: p, ...shorten(raw) };
}

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
