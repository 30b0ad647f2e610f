import { RE2JS } from "re2js";

/**
 * Field patterns (bag serials, places) are matched by RE2JS, a linear-time
 * engine: JavaScript's backtracking RegExp lets a script author (or someone
 * editing a script) hang the room with `^(a+)+$` on a short entry. RE2 syntax
 * has no backreferences or lookaround; lint rejects a pattern it cannot compile.
 */

/** Longest value a field accepts; longer input is refused before matching. */
export const MAX_FIELD_VALUE = 500;

const cache = new Map<string, RE2JS>();

/** Compiles a field pattern; returns the reason when it is not a valid RE2 pattern. */
export function checkFieldPattern(pattern: string): string | null {
  try {
    compile(pattern);
    return null;
  } catch (e) {
    return (e as Error).message.replace(/^error parsing regexp: /, "");
  }
}

/** True when the whole value matches the pattern. */
export function matchesFieldPattern(pattern: string, value: string): boolean {
  if (value.length > MAX_FIELD_VALUE) return false;
  return compile(pattern).matches(value);
}

function compile(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    if (cache.size > 200) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}
