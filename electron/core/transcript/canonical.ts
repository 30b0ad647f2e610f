import * as nodeCrypto from "node:crypto";
import canonicalize from "canonicalize";
import { CustosError } from "../errors";

/**
 * Walks a value before it reaches `canonicalize`, because that library
 * silently drops undefined properties, turns undefined array items into null
 * and prints functions as the word "undefined": a hash over such a text
 * would not be the hash of what the caller thought they recorded.
 */
function assertJsonValue(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) {
        throw canonicalError(path, `is ${String(value)}, which JSON cannot represent`);
      }
      return;
    case "undefined":
      throw canonicalError(path, "is undefined");
    case "function":
      throw canonicalError(path, "is a function");
    case "symbol":
      throw canonicalError(path, "is a symbol");
    case "bigint":
      throw canonicalError(path, "is a bigint; record it as a decimal string");
    case "object":
      break;
  }
  if (value === null) return;
  const obj = value as object;
  if (seen.has(obj)) throw canonicalError(path, "refers back to itself (a cycle)");
  seen.add(obj);
  const withToJson = obj as { toJSON?: unknown };
  if (typeof withToJson.toJSON === "function") {
    // canonicalize honours toJSON (e.g. Date); check what it will actually print.
    assertJsonValue((withToJson.toJSON as () => unknown).call(obj), path, seen);
  } else if (Array.isArray(obj)) {
    obj.forEach((item, i) => assertJsonValue(item, `${path}[${i}]`, seen));
  } else {
    for (const key of Object.keys(obj)) {
      assertJsonValue((obj as Record<string, unknown>)[key], `${path}.${key}`, seen);
    }
  }
  seen.delete(obj);
}

function canonicalError(path: string, what: string): CustosError {
  return new CustosError(
    "CANONICAL_JSON",
    `Cannot record ${path}: it ${what}.`,
    "Only plain JSON values (strings, finite numbers, booleans, null, arrays, objects) can go into the transcript.",
  );
}

/** RFC 8785 (JCS) canonical JSON of a plain JSON value; throws CANONICAL_JSON for anything JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  assertJsonValue(value, "value", new Set());
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new CustosError("CANONICAL_JSON", `Cannot canonicalize value: ${(cause as Error).message}.`, "", { cause });
  }
  if (text === undefined) {
    throw new CustosError("CANONICAL_JSON", "Cannot canonicalize value: it has no JSON form.");
  }
  return text;
}

// crypto.hash (Node ≥ 20.12) hashes in one call without a Hash object; older runtimes take the long way.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }).hash;

/** Lower-case hex SHA-256 of a UTF-8 string or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  if (oneShot) return oneShot("sha256", data, "hex");
  return nodeCrypto.createHash("sha256").update(typeof data === "string" ? Buffer.from(data, "utf8") : data).digest("hex");
}

/** §1: arrays and objects nest at most this deep in any JSON text of a transcript (the outermost counts as 1). */
export const MAX_JSON_DEPTH = 64;

class TooDeep extends Error {}

/** Does a parsed JSON value nest arrays and objects more than MAX_JSON_DEPTH deep? Never recurses further than that. */
export function nestsTooDeep(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== "object") return false;
  if (depth >= MAX_JSON_DEPTH) return true;
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (nestsTooDeep(item, depth + 1)) return true;
  return false;
}

/**
 * Are the own keys of every object in a JSON value in code-unit order, the
 * order JCS sorts them into (§1)? Throws TooDeep past MAX_JSON_DEPTH.
 */
function keysInJcsOrder(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== "object") return true;
  if (depth >= MAX_JSON_DEPTH) throw new TooDeep();
  if (Array.isArray(value)) {
    for (const item of value) if (!keysInJcsOrder(item, depth + 1)) return false;
    return true;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
    if (!keysInJcsOrder((value as Record<string, unknown>)[keys[i]!], depth + 1)) return false;
  }
  return true;
}

/**
 * Does this JSON text (as JSON.stringify or a JCS printer writes it) hold a
 * string with a lone surrogate? Such a string has no UTF-8 form and no RFC 8785
 * serialisation (§1): JavaScript prints it as a \uD8xx–\uDFxx escape, which
 * a canonical text holds nowhere else (pairs are printed as characters). An
 * escape counts when an even number of backslashes stands before it.
 */
export function holdsLoneSurrogate(text: string): boolean {
  return text.includes("\\ud") && /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/.test(text);
}

/**
 * Is `text` exactly the RFC 8785 form of `value`, which JSON.parse(text)
 * produced? The verifier asks this twice per entry. When every object's keys
 * already stand in code-unit order, `canonicalize` prints exactly what
 * JSON.stringify prints (it sorts the keys, then prints strings and numbers
 * with JSON.stringify), so JSON.stringify answers; anything else (keys out of
 * order, or integer-like keys, which JavaScript objects reorder) is answered
 * by `canonicalize` itself. test/unit/canonical-check.test.ts holds both
 * answers equal over generated values and texts.
 */
export function isCanonicalOfParsed(value: unknown, text: string): boolean {
  if (holdsLoneSurrogate(text)) return false;
  try {
    if (keysInJcsOrder(value) && JSON.stringify(value) === text) return true;
  } catch {
    // Nested more than MAX_JSON_DEPTH deep (§1), or deeper than the stack allows.
    return false;
  }
  return !nestsTooDeep(value) && canonicalOfParsed(value) === text;
}

/**
 * JCS of a value JSON.parse produced (so it holds only JSON values): the
 * verifier's hot path skips the walk that guards values built in code.
 */
export function canonicalOfParsed(value: unknown): string | undefined {
  try {
    return canonicalize(value);
  } catch {
    return undefined;
  }
}
