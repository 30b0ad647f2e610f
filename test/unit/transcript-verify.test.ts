import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  TranscriptStore,
  attestationMessage,
  bodyHash,
  bundleToJson,
  canonicalJson,
  deriveAttestationKey,
  describeFirstBad,
  entryHash,
  exportBundle,
  newKdfParams,
  parseBundle,
  sha256Hex,
  sortSignatures,
  verifyBundle,
  verifyCeremony,
  verifyFile,
  type Bundle,
  type CeremonyMeta,
  type CeremonyVerdict,
  type EntryBody,
  type RawEntry,
  type Signature,
  type VerifyResult,
} from "../../electron/core/transcript/index";
import {
  CEREMONY_ID,
  SCRIPT_TEXT,
  appendStep,
  buildFixture,
  makeMeta,
  makeParticipant,
  makeRootKey,
  rootSignature,
  standardSteps,
  tempDir,
  type Fixture,
} from "./transcript-fixture";

let fx: Fixture;
let meta: CeremonyMeta;
let rows: RawEntry[];

beforeAll(() => {
  fx = buildFixture();
  const store = TranscriptStore.open(fx.dbPath);
  meta = store.getCeremony(CEREMONY_ID)!;
  rows = store.rawEntries(CEREMONY_ID);
  store.close();
});

/** A fresh copy of the fixture database, edited with plain SQL as an attacker would. */
function tamper(edit: (db: Database.Database) => void): string {
  const path = join(tempDir("custos-tamper-"), "transcript.sqlite");
  copyFileSync(fx.dbPath, path);
  const db = new Database(path);
  db.pragma("foreign_keys = OFF");
  edit(db);
  db.close();
  return path;
}

function only(result: VerifyResult): CeremonyVerdict {
  const v = result.ceremonies.find((c) => c.ceremonyId === CEREMONY_ID);
  expect(v).toBeDefined();
  return v!;
}

function expectBadAt(result: VerifyResult, seq: number, reason?: RegExp): void {
  expect(result.ok).toBe(false);
  const v = only(result);
  expect(v.ok).toBe(false);
  expect(v.firstBad, JSON.stringify(v)).toBeDefined();
  expect(v.firstBad!.seq).toBe(seq);
  if (reason) expect(v.firstBad!.reason).toMatch(reason);
}

function flipChar(text: string, index: number): string {
  return text.slice(0, index) + String.fromCharCode(text.charCodeAt(index) ^ 1) + text.slice(index + 1);
}

function rewriteSignatures(db: Database.Database, seq: number, change: (sigs: Signature[]) => Signature[]): void {
  const row = db.prepare("SELECT body_hash, signatures_json FROM entries WHERE seq = ?").get(seq) as { body_hash: string; signatures_json: string };
  const sigs = sortSignatures(change(JSON.parse(row.signatures_json) as Signature[]));
  db.prepare("UPDATE entries SET signatures_json = ?, entry_hash = ? WHERE seq = ?").run(canonicalJson(sigs), entryHash(row.body_hash, sigs), seq);
}

const ENTRY_COLUMNS = ["ceremony_id", "seq", "step_id", "action", "body_json", "body_hash", "signatures_json", "entry_hash"] as const;

describe("verify: an intact ceremony", () => {
  it("verifies from the SQLite file, sealed, and leaves no files behind", () => {
    const before = readdirSync(join(fx.dbPath, ".."));
    const result = verifyFile(fx.dbPath);
    expect(result).toMatchObject({ ok: true, source: "sqlite" });
    expect(only(result)).toEqual({ ceremonyId: CEREMONY_ID, ok: true, entries: 5, head: rows[4]!.entryHash, sealed: true, problems: [] });
    expect(readdirSync(join(fx.dbPath, ".."))).toEqual(before);
  });

  it("an unsealed, still open ceremony is intact but not sealed", () => {
    const path = tamper((db) => {
      db.prepare("DELETE FROM entries WHERE seq = 5").run();
      db.prepare("UPDATE ceremonies SET status = 'open'").run();
    });
    const v = only(verifyFile(path));
    expect(v).toMatchObject({ ok: true, sealed: false, entries: 4 });
  });

  it("allows exception entries between steps", () => {
    const dir = tempDir();
    const store = TranscriptStore.open(join(dir, "t.sqlite"));
    store.createCeremony(makeMeta());
    const steps = standardSteps(fx.alice, fx.bob, fx.root);
    steps.forEach((s, i) => {
      appendStep(store, CEREMONY_ID, s, fx.people, fx.root);
      if (i === 2) {
        appendStep(store, CEREMONY_ID, { stepId: "bag-shares", action: "exception", inputs: { note: "printer jammed; restarted" }, requiredSigners: ["bob"] }, fx.people);
      }
    });
    store.close();
    expect(only(verifyFile(join(dir, "t.sqlite")))).toMatchObject({ ok: true, sealed: true, entries: 6 });
  });
});

describe("verify: a change to any byte of any stored entry is detected and the entry named (Invariant 4)", () => {
  it("on the SQLite file, for every entry and every column", () => {
    for (let seq = 1; seq <= 5; seq++) {
      for (const column of ENTRY_COLUMNS) {
        const path = tamper((db) => {
          if (column === "seq") {
            db.prepare("UPDATE entries SET seq = seq + 1000 WHERE seq = ?").run(seq);
            return;
          }
          const row = db.prepare(`SELECT ${column} AS v FROM entries WHERE seq = ?`).get(seq) as { v: string };
          db.prepare(`UPDATE entries SET ${column} = ? WHERE seq = ?`).run(flipChar(row.v, Math.floor(row.v.length / 2)), seq);
        });
        const result = verifyFile(path);
        expect(result.ok, `${column} of entry ${seq}`).toBe(false);
        const v = only(result);
        expect(v.firstBad?.seq, `${column} of entry ${seq}: ${JSON.stringify(v)}`).toBe(seq);
        expect(describeFirstBad(v.firstBad!)).toMatch(new RegExp(`^entry ${seq} \\(step '`));
        if (column === "ceremony_id") {
          expect(result.ceremonies.some((c) => c.ceremonyId !== CEREMONY_ID && !c.ok)).toBe(true);
        }
      }
    }
  });

  it("in memory, for every byte of every text column of every entry", () => {
    const columns = ["stepId", "action", "bodyJson", "bodyHash", "signaturesJson", "entryHash"] as const;
    let checked = 0;
    for (let i = 0; i < rows.length; i++) {
      for (const column of columns) {
        const text = rows[i]![column];
        for (let pos = 0; pos < text.length; pos++) {
          const edited = rows.map((r, j) => (j === i ? { ...r, [column]: flipChar(text, pos) } : r));
          const v = verifyCeremony(meta, edited);
          if (v.ok || v.firstBad?.seq !== i + 1) {
            throw new Error(`byte ${pos} of ${column} in entry ${i + 1} not named: ${JSON.stringify(v)}`);
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(3000);
  });
});

describe("verify: structural tampering", () => {
  it("names a deleted entry", () => {
    expectBadAt(verifyFile(tamper((db) => db.prepare("DELETE FROM entries WHERE seq = 3").run())), 3, /missing/);
    expectBadAt(verifyFile(tamper((db) => db.prepare("DELETE FROM entries WHERE seq = 1").run())), 1, /missing/);
  });

  it("names the missing tail of a closed ceremony", () => {
    const result = verifyFile(tamper((db) => db.prepare("DELETE FROM entries WHERE seq = 5").run()));
    expectBadAt(result, 5, /marked closed/);
    expect(only(result).firstBad!.stepId).toBe("seal");
  });

  it("names two swapped entries", () => {
    const path = tamper((db) => {
      db.prepare("UPDATE entries SET seq = 100 WHERE seq = 2").run();
      db.prepare("UPDATE entries SET seq = 2 WHERE seq = 3").run();
      db.prepare("UPDATE entries SET seq = 3 WHERE seq = 100").run();
    });
    expectBadAt(verifyFile(path), 2);
  });

  it("names an inserted entry, whether in the middle or after the seal", () => {
    const forged = (seq: number, prevHash: string, stepId: string, action: string): RawEntry => {
      const body: EntryBody = {
        v: 1,
        ceremonyId: CEREMONY_ID,
        seq,
        stepId,
        action,
        inputs: { note: "all fine, nothing to see" },
        outputs: {},
        requiredSigners: [],
        timestamp: "2025-03-01T10:00:00.000Z",
        prevHash,
      };
      const h = bodyHash(body);
      return { seq, stepId, action, bodyJson: canonicalJson(body), bodyHash: h, signaturesJson: "[]", entryHash: entryHash(h, []) };
    };
    const insert = (db: Database.Database, r: RawEntry) =>
      db
        .prepare("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(CEREMONY_ID, r.seq, r.stepId, r.action, r.bodyJson, r.bodyHash, r.signaturesJson, r.entryHash);

    const middle = tamper((db) => {
      db.prepare("UPDATE entries SET seq = seq + 100 WHERE seq >= 3").run();
      db.prepare("UPDATE entries SET seq = seq - 99 WHERE seq >= 100").run();
      insert(db, forged(3, rows[1]!.entryHash, "generate-root-key", "exception"));
    });
    expectBadAt(verifyFile(middle), 3, /no signature/);

    const after = tamper((db) => insert(db, forged(6, rows[4]!.entryHash, "seal", "exception")));
    expectBadAt(verifyFile(after), 6);
  });

  it("names an entry whose signature was removed, with or without the entry hash recomputed", () => {
    const sigs = JSON.parse(rows[2]!.signaturesJson) as Signature[];
    const withoutBob = sigs.filter((s) => s.signer !== "bob");
    const kept = tamper((db) => db.prepare("UPDATE entries SET signatures_json = ? WHERE seq = 3").run(canonicalJson(withoutBob)));
    expectBadAt(verifyFile(kept), 3, /entry hash/);
    const recomputed = tamper((db) => rewriteSignatures(db, 3, (s) => s.filter((x) => x.signer !== "bob")));
    expectBadAt(verifyFile(recomputed), 3, /'bob' is required/);
    const rootRemoved = tamper((db) => rewriteSignatures(db, 5, (s) => s.filter((x) => x.kind !== "root-key")));
    expectBadAt(verifyFile(rootRemoved), 5, /seal carries no root-key signature/);
  });

  it("names an entry that carries a signature from an unknown key", () => {
    const mallory = deriveAttestationKey("mallory's own passphrase", newKdfParams("test"));
    const sign = (seq: number, signer: string): Signature => ({
      signer,
      kind: "participant",
      algorithm: "Ed25519",
      publicKey: mallory.publicKey,
      signature: mallory.sign(attestationMessage(rows[seq - 1]!.bodyHash)),
    });
    const stranger = tamper((db) => rewriteSignatures(db, 4, (s) => [...s, sign(4, "mallory")]));
    expectBadAt(verifyFile(stranger), 4, /not an enrolled participant/);
    const impostor = tamper((db) => rewriteSignatures(db, 4, (s) => [...s.filter((x) => x.signer !== "bob"), sign(4, "bob")]));
    expectBadAt(verifyFile(impostor), 4, /other than the one 'bob' enrolled with/);
  });

  it("names a seal made with a root key no entry recorded", () => {
    const other = makeRootKey();
    const body = JSON.parse(rows[4]!.bodyJson) as EntryBody;
    const path = tamper((db) => rewriteSignatures(db, 5, (s) => [...s.filter((x) => x.kind !== "root-key"), rootSignature(other, body)]));
    expectBadAt(verifyFile(path), 5, /no earlier entry recorded as the root key/);
  });

  it("reports an orphaned entry row", () => {
    const path = tamper((db) => db.prepare("UPDATE entries SET ceremony_id = 'ghost' WHERE seq = 5").run());
    const result = verifyFile(path);
    expect(result.ceremonies.find((c) => c.ceremonyId === "ghost")).toMatchObject({ ok: false, entries: 1 });
  });
});

describe("verify: the ceremony record and the script", () => {
  it.each([
    ["script_text", "UPDATE ceremonies SET script_text = replace(script_text, 'bag-shares', 'bag-sharez')", /does not match the script SHA-256/],
    ["script_sha256", `UPDATE ceremonies SET script_sha256 = '${"0".repeat(64)}'`, /SHA-256/],
    ["mode", "UPDATE ceremonies SET mode = 'production'", /mode 'production'/],
    ["script_id", "UPDATE ceremonies SET script_id = 'root-key-destruction'", /scriptId/],
    ["script_version", "UPDATE ceremonies SET script_version = '2.0'", /scriptVersion/],
    ["script_title", "UPDATE ceremonies SET script_title = 'Something else'", /scriptTitle/],
  ])("detects a changed %s", (_col, sql, problem) => {
    const v = only(verifyFile(tamper((db) => db.exec(sql))));
    expect(v.ok).toBe(false);
    expect(v.problems.join("\n")).toMatch(problem);
  });

  it("reports a ceremony row whose columns hold the wrong type", () => {
    const v = only(verifyFile(tamper((db) => db.exec("UPDATE ceremonies SET script_text = X'2a2a'"))));
    expect(v).toMatchObject({ ok: false, problems: [expect.stringMatching(/malformed at scriptText/)] });
    const w = only(verifyFile(tamper((db) => db.exec("UPDATE entries SET seq = 'three' WHERE seq = 3"))));
    expect(w.firstBad).toMatchObject({ seq: 3, reason: expect.stringMatching(/missing/) });
    const x = only(verifyFile(tamper((db) => db.exec("UPDATE entries SET body_json = CAST(body_json AS BLOB) WHERE seq = 2"))));
    expect(x.firstBad).toMatchObject({ seq: 2, reason: expect.stringMatching(/not text/) });
  });

  it("detects script text and hash changed together (entry 1 recorded the original hash)", () => {
    const text = SCRIPT_TEXT.replace("bag-shares", "bag-sharez");
    const v = only(
      verifyFile(
        tamper((db) => db.prepare("UPDATE ceremonies SET script_text = ?, script_sha256 = ?").run(text, sha256Hex(text))),
      ),
    );
    expect(v.ok).toBe(false);
    expect(v.problems.join("\n")).toMatch(/Entry 1 recorded script SHA-256/);
    expect(v.firstBad?.seq).toBe(4);
  });

  it("names a step recorded out of the script's order, skipped, or not in the script", () => {
    const run = (order: string[]): CeremonyVerdict => {
      const store = TranscriptStore.open(join(tempDir(), "t.sqlite"));
      store.createCeremony(makeMeta());
      const all = standardSteps(fx.alice, fx.bob, fx.root);
      for (const id of order) {
        const spec = all.find((s) => s.stepId === id) ?? { stepId: id, action: "checklist", requiredSigners: ["alice"] };
        appendStep(store, CEREMONY_ID, spec, fx.people, fx.root);
      }
      const meta = store.getCeremony(CEREMONY_ID)!;
      const v = verifyCeremony(meta, store.rawEntries(CEREMONY_ID));
      store.close();
      return v;
    };
    expect(run(["open-ceremony", "enrol", "generate-root-key", "seal"]).firstBad).toMatchObject({ seq: 4, stepId: "seal", reason: expect.stringMatching(/skipped/) });
    expect(run(["open-ceremony", "enrol", "bag-shares", "generate-root-key"]).firstBad).toMatchObject({ seq: 3, stepId: "bag-shares" });
    expect(run(["open-ceremony", "enrol", "enrol"]).firstBad).toMatchObject({ seq: 3, reason: expect.stringMatching(/again/) });
    expect(run(["open-ceremony", "enrol", "improvise"]).firstBad).toMatchObject({ seq: 3, reason: expect.stringMatching(/not in the script/) });
    expect(run(["enrol"]).firstBad).toMatchObject({ seq: 1 });
    expect(run(["open-ceremony", "enrol", "generate-root-key", "bag-shares"])).toMatchObject({ ok: true, sealed: false });
  });

  it("reports a rehearsal whose first entry recorded a different mode", () => {
    const store = TranscriptStore.open(join(tempDir(), "t.sqlite"));
    store.createCeremony(makeMeta());
    const steps = standardSteps(fx.alice, fx.bob, fx.root, "production");
    appendStep(store, CEREMONY_ID, steps[0]!, fx.people);
    const v = verifyCeremony(store.getCeremony(CEREMONY_ID)!, store.rawEntries(CEREMONY_ID));
    store.close();
    expect(v.ok).toBe(false);
    expect(v.problems.join("\n")).toMatch(/mode 'rehearsal', but entry 1 recorded 'production'/);
  });

  it("names an enrolment entry not signed by everyone it enrols", () => {
    const store = TranscriptStore.open(join(tempDir(), "t.sqlite"));
    store.createCeremony(makeMeta());
    const steps = standardSteps(fx.alice, fx.bob, fx.root);
    appendStep(store, CEREMONY_ID, steps[0]!, fx.people);
    appendStep(store, CEREMONY_ID, { ...steps[1]!, requiredSigners: ["alice"] }, fx.people);
    const v = verifyCeremony(store.getCeremony(CEREMONY_ID)!, store.rawEntries(CEREMONY_ID));
    store.close();
    expect(v.firstBad).toMatchObject({ seq: 2, reason: expect.stringMatching(/'bob' is required/) });
  });

  it("names a participant who signs before being enrolled", () => {
    const carol = makeParticipant("carol", "Carol", []);
    const store = TranscriptStore.open(join(tempDir(), "t.sqlite"));
    store.createCeremony(makeMeta());
    const steps = standardSteps(fx.alice, fx.bob, fx.root);
    appendStep(store, CEREMONY_ID, { ...steps[0]!, requiredSigners: ["carol"] }, new Map([["carol", carol]]));
    const v = verifyCeremony(store.getCeremony(CEREMONY_ID)!, store.rawEntries(CEREMONY_ID));
    store.close();
    expect(v.firstBad).toMatchObject({ seq: 1, reason: expect.stringMatching(/not an enrolled participant/) });
  });
});

describe("bundle", () => {
  let bundle: Bundle;
  let json: string;
  beforeAll(() => {
    const store = TranscriptStore.openReadOnly(fx.dbPath);
    bundle = exportBundle(store, CEREMONY_ID, "2025-03-02T00:00:00.000Z");
    store.close();
    json = bundleToJson(bundle);
  });

  it("round-trips and verifies, from memory and from a file", () => {
    expect(bundle.head).toBe(rows[4]!.entryHash);
    expect(parseBundle(json)).toEqual(bundle);
    expect(bundleToJson(parseBundle(json))).toBe(json);
    expect(json.startsWith('{\n  "format": "custos-transcript-bundle",\n  "version": 1,')).toBe(true);
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, source: "bundle", ceremonies: [{ ok: true, sealed: true, entries: 5 }] });
    const path = join(tempDir(), "bundle.json");
    writeFileSync(path, json);
    expect(verifyFile(path)).toMatchObject({ ok: true, source: "bundle" });
  });

  it("names the tampered entry in a bundle", () => {
    const edited = JSON.parse(json) as Bundle;
    (edited.entries[3]!.body.inputs.bagSerials as string[])[1] = "A-666";
    expectBadAt(verifyBundle(edited), 4, /body hash/);

    const path = join(tempDir(), "bundle.json");
    writeFileSync(path, json.replace('"A-101"', '"A-102"'));
    expectBadAt(verifyFile(path), 4);

    const swapped = JSON.parse(json) as Bundle;
    [swapped.entries[1], swapped.entries[2]] = [swapped.entries[2]!, swapped.entries[1]!];
    expectBadAt(verifyBundle(swapped), 2);

    const typeChanged = JSON.parse(json) as { entries: Array<{ body: { seq: unknown } }> };
    typeChanged.entries[2]!.body.seq = "3";
    writeFileSync(path, JSON.stringify(typeChanged));
    expectBadAt(verifyFile(path), 3, /malformed at seq/);

    const headChanged = { ...bundle, head: rows[3]!.entryHash };
    const v = only(verifyBundle(headChanged));
    expect(v.ok).toBe(false);
    expect(v.problems.join()).toMatch(/head/);
  });

  it("names each flipped character of an entry's signature in a bundle", () => {
    const sig = bundle.entries[2]!.signatures[0]!.signature;
    for (let pos = 0; pos < sig.length; pos++) {
      const edited = structuredClone(bundle);
      edited.entries[2]!.signatures[0]!.signature = flipChar(sig, pos);
      expectBadAt(verifyBundle(edited), 3);
    }
  });

  it("refuses a malformed bundle naming the field path", () => {
    const bad = JSON.parse(json) as { entries: Array<{ body: { seq: unknown } }> };
    bad.entries[2]!.body.seq = "3";
    let err: unknown;
    try {
      parseBundle(JSON.stringify(bad));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "BUNDLE_MALFORMED", message: expect.stringContaining("entries[2].body.seq") });
    expect(() => parseBundle("{not json")).toThrow(expect.objectContaining({ code: "BUNDLE_MALFORMED" }));
    expect(() => parseBundle(JSON.stringify({ ...JSON.parse(json), format: "x" }))).toThrow(/format/);
  });
});

describe("verifyFile input detection", () => {
  const unreadable = (path: string) => {
    try {
      verifyFile(path);
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return "no error";
  };

  it("refuses unreadable and unknown input with VERIFY_UNREADABLE", () => {
    const dir = tempDir();
    expect(unreadable(join(dir, "missing.sqlite"))).toBe("VERIFY_UNREADABLE");
    expect(unreadable(dir)).toBe("VERIFY_UNREADABLE");
    writeFileSync(join(dir, "garbage.bin"), Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]));
    expect(unreadable(join(dir, "garbage.bin"))).toBe("VERIFY_UNREADABLE");
    writeFileSync(join(dir, "other.json"), '{"hello":"world"}');
    expect(unreadable(join(dir, "other.json"))).toBe("VERIFY_UNREADABLE");
    const other = new Database(join(dir, "other.sqlite"));
    other.exec("CREATE TABLE x (y)");
    other.close();
    expect(unreadable(join(dir, "other.sqlite"))).toBe("VERIFY_UNREADABLE");
    const truncated = join(dir, "truncated.sqlite");
    writeFileSync(truncated, Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(50)]));
    expect(unreadable(truncated)).toBe("VERIFY_UNREADABLE");
    writeFileSync(join(dir, "report.pdf"), "%PDF-1.7\n%âãÏÓ\n");
    expect(unreadable(join(dir, "report.pdf"))).toBe("VERIFY_UNREADABLE");
  });

  it("verifies the bundle a PDF carries once the report module supplies the extractor", () => {
    const store = TranscriptStore.openReadOnly(fx.dbPath);
    const json = bundleToJson(exportBundle(store, CEREMONY_ID));
    store.close();
    const path = join(tempDir(), "report.pdf");
    writeFileSync(path, "%PDF-1.7\n");
    expect(verifyFile(path, { extractBundleFromPdf: () => json })).toMatchObject({ ok: true, source: "pdf" });
  });

  it("verifies a transcript that another connection still has open", () => {
    const dir = tempDir();
    const path = join(dir, "live.sqlite");
    const store = TranscriptStore.open(path);
    store.createCeremony(makeMeta());
    for (const s of standardSteps(fx.alice, fx.bob, fx.root).slice(0, 3)) appendStep(store, CEREMONY_ID, s, fx.people, fx.root);
    expect(only(verifyFile(path))).toMatchObject({ ok: true, entries: 3, sealed: false });
    store.close();
  });
});

describe("odd but valid JSON keys", () => {
  it("keeps a '__proto__' key through store, bundle and verify", () => {
    const dir = tempDir();
    const store = TranscriptStore.open(join(dir, "t.sqlite"));
    store.createCeremony(makeMeta());
    const steps = standardSteps(fx.alice, fx.bob, fx.root);
    const inputs = JSON.parse('{"__proto__":{"polluted":true},"constructor":"x"}') as EntryBody["inputs"];
    appendStep(store, CEREMONY_ID, { ...steps[0]!, inputs }, fx.people);
    const json = bundleToJson(exportBundle(store, CEREMONY_ID));
    store.close();
    expect(json).toContain('"__proto__"');
    expect(verifyFile(join(dir, "t.sqlite")).ok).toBe(true);
    expect(verifyBundle(parseBundle(json)).ok).toBe(true);
    const path = join(dir, "bundle.json");
    writeFileSync(path, json);
    expect(verifyFile(path).ok).toBe(true);
  });
});
