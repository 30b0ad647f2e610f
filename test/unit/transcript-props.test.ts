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
import { buildFixture } from "./transcript-fixture";

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
  /** 0-based index of the enrolment, the first signed entry (§6.1: the entries before it are covered by its signatures). */
  let firstSigned: number;

  beforeAll(async () => {
    const fx = await buildFixture();
    const store = TranscriptStore.openReadOnly(fx.dbPath);
    meta = store.getCeremony(fx.bundle.ceremony.id)!;
    rows = store.rawEntries(meta.id);
    store.close();
    expect((await verifyCeremony(meta, rows, { source: "sqlite" })).ok).toBe(true);
    firstSigned = fx.bundle.entries.findIndex((e) => e.signatures.length > 0);
    expect(firstSigned).toBe(2);
    paths = rows.flatMap((r, index) => leafPaths(JSON.parse(String(r.bodyJson)) as Json).map((path) => ({ index, path })));
  });

  const mutation = () =>
    fc.record({
      pick: fc.nat(),
      replacement: fc.oneof(fc.jsonValue(), fc.string(), fc.integer(), fc.constantFrom<Json>(null, true, false, 0, "", [], {})),
      recompute: fc.boolean(),
    });

  it("names the mutated entry (the signed one itself, or at the latest the first signed one after an unsigned start)", async () => {
    await fc.assert(
      fc.asyncProperty(mutation(), async ({ pick, replacement, recompute }) => {
        const { index, path } = paths[pick % paths.length]!;
        const original = JSON.parse(String(rows[index]!.bodyJson)) as Json;
        const mutated = setAt(original, path, replacement as Json);
        let text: string;
        try {
          text = canonicalJson(mutated);
        } catch {
          return; // not JSON an attacker could store either
        }
        fc.pre(text !== rows[index]!.bodyJson);

        const edited = rows.map((r) => ({ ...r }));
        edited[index]!.bodyJson = text;
        if (recompute) {
          // The attacker recomputes every hash from the mutated entry on, re-linking the chain.
          let prev = index === 0 ? "0".repeat(64) : String(edited[index - 1]!.entryHash);
          for (let i = index; i < edited.length; i++) {
            const row = edited[i]!;
            let body = JSON.parse(String(row.bodyJson)) as EntryBody;
            if (i > index && body && typeof body === "object") body = { ...body, prevHash: prev };
            row.bodyJson = canonicalJson(body);
            row.bodyHash = sha256Hex(String(row.bodyJson));
            row.entryHash = entryHash(String(row.bodyHash), JSON.parse(String(row.signaturesJson)) as Signature[]);
            prev = String(row.entryHash);
          }
        }
        const v = await verifyCeremony(meta, edited, { source: "sqlite" });
        expect(v.ok).toBe(false);
        const seq = v.failure?.seq;
        if (!recompute || index >= firstSigned) {
          // A signed entry, or an unsigned one whose stored hashes no longer match: the entry itself is named.
          expect(seq, JSON.stringify({ path, replacement, v: v.failure })).toBe(index + 1);
        } else {
          // An unsigned entry re-hashed: at the latest the enrolment's signatures break.
          expect(seq === undefined || seq <= firstSigned + 1, JSON.stringify(v.failure)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
