import { createHash } from "node:crypto";
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

/** Lower-case hex SHA-256 of a UTF-8 string or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(typeof data === "string" ? Buffer.from(data, "utf8") : data).digest("hex");
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
