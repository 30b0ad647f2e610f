import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  TranscriptStore,
  canonicalJson,
  entryHash,
  sha256Hex,
  verifyCeremony,
  type CeremonyMeta,
  type EntryBody,
  type Json,
  type RawEntry,
  type Signature,
} from "../../electron/core/transcript/index";
import { CEREMONY_ID, buildFixture } from "./transcript-fixture";

/** Deep copy with every object's keys inserted in a seed-dependent order. */
function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i + 1));
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    let s = seed >>> 0 || 1;
    for (let i = keys.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      // defineProperty: fast-check generates "__proto__" keys, which plain assignment would turn into a prototype.
      Object.defineProperty(out, k, { value: shuffleKeys((value as Record<string, unknown>)[k], s + k.length), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

describe("canonicalJson properties", () => {
  it("is stable under key reordering, idempotent, and round-trips", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        const c = canonicalJson(value);
        expect(canonicalJson(shuffleKeys(value, seed))).toBe(c);
        expect(canonicalJson(JSON.parse(c))).toBe(c);
        expect(sha256Hex(canonicalJson(shuffleKeys(value, seed ^ 0x5555)))).toBe(sha256Hex(c));
      }),
      { numRuns: 300 },
    );
  });
});

type Path = Array<string | number>;

function leafPaths(value: Json, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return value.length ? value.flatMap((v, i) => leafPaths(v, [...prefix, i])) : [prefix];
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    return keys.length ? keys.flatMap((k) => leafPaths(value[k] as Json, [...prefix, k])) : [prefix];
  }
  return [prefix];
}

function setAt(root: Json, path: Path, replacement: Json): Json {
  if (path.length === 0) return replacement;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let node = copy as Record<string | number, Json>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string | number, Json>;
  node[path[path.length - 1]!] = replacement;
  return copy as Json;
}

describe("the chain detects any single mutated body field", () => {
  let meta: CeremonyMeta;
  let rows: RawEntry[];
  let paths: Array<{ index: number; path: Path }>;

  beforeAll(() => {
    const fx = buildFixture();
    const store = TranscriptStore.openReadOnly(fx.dbPath);
    meta = store.getCeremony(CEREMONY_ID)!;
    rows = store.rawEntries(CEREMONY_ID);
    store.close();
    expect(verifyCeremony(meta, rows).ok).toBe(true);
    paths = rows.flatMap((r, index) => leafPaths(JSON.parse(r.bodyJson) as Json).map((path) => ({ index, path })));
  });

  const mutation = () =>
    fc.record({
      pick: fc.nat(),
      replacement: fc.oneof(fc.jsonValue(), fc.string(), fc.integer(), fc.constantFrom<Json>(null, true, false, 0, "", [], {})),
      recompute: fc.boolean(),
    });

  it("names the mutated entry (the signed one itself, or the first signed one after an unsigned start)", () => {
    fc.assert(
      fc.property(mutation(), ({ pick, replacement, recompute }) => {
        const { index, path } = paths[pick % paths.length]!;
        const original = JSON.parse(rows[index]!.bodyJson) as Json;
        const mutated = setAt(original, path, replacement as Json);
        fc.pre(canonicalJson(mutated) !== rows[index]!.bodyJson);

        const edited = rows.map((r) => ({ ...r }));
        edited[index]!.bodyJson = canonicalJson(mutated);
        if (recompute) {
          // The attacker recomputes every hash from the mutated entry on, re-linking the chain.
          let prev = index === 0 ? "0".repeat(64) : edited[index - 1]!.entryHash;
          for (let i = index; i < edited.length; i++) {
            const row = edited[i]!;
            let body = JSON.parse(row.bodyJson) as EntryBody;
            if (i > index) body = { ...body, prevHash: prev };
            row.bodyJson = canonicalJson(body);
            row.bodyHash = sha256Hex(row.bodyJson);
            row.entryHash = entryHash(row.bodyHash, JSON.parse(row.signaturesJson) as Signature[]);
            prev = row.entryHash;
          }
        }
        const v = verifyCeremony(meta, edited);
        expect(v.ok).toBe(false);
        if (!recompute || index > 0) {
          // Everything from entry 2 on is signed: the mutated entry itself is named.
          expect(v.firstBad?.seq, JSON.stringify({ path, replacement, v })).toBe(index + 1);
        } else {
          // Entry 1 precedes enrolment and is unsigned; once re-hashed, entry 2's signatures break.
          expect(v.firstBad === undefined || v.firstBad.seq <= 2, JSON.stringify(v)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
