/**
 * custos verify beyond the test vectors: any byte of any stored entry
 * (Invariant 4), evidence never changed (Invariant 11), the signature checks
 * on worker threads agree with the inline ones, and nothing a file says can
 * drive the terminal.
 */
import { createHash } from "node:crypto";
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../electron/cli/main";
import { verifyAnyFile } from "../../electron/core/source";
import { TranscriptStore, type RawEntry } from "../../electron/core/transcript/index";
import { checkSignaturesInline, exitStatus, parallelSignatureChecker, verifyCeremony, verifyFile, type SignatureChecker } from "../../electron/core/transcript/verify/index";
import { canonicalJson } from "../../electron/core/transcript/canonical";
import type { SignatureTask } from "../../electron/core/transcript/verify/signatures";
import { assemble, bundleText, makeRootKey, planCeremony } from "../vectors/builder";
import { rootCertificate } from "../vectors/signing-builder";
import { GENERATION_SCRIPT, buildFixture, storeBundle, tempDir, type Fixture } from "./transcript-fixture";

let fx: Fixture;
let rows: RawEntry[];

beforeAll(async () => {
  fx = await buildFixture();
  const store = TranscriptStore.openReadOnly(fx.dbPath);
  rows = store.rawEntries(fx.meta.id);
  store.close();
});

function copyOf(path: string): string {
  const dir = tempDir("custos-tamper-");
  const to = join(dir, "transcript.sqlite");
  copyFileSync(path, to);
  return to;
}

function sha(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) });
  return { code, out, err };
}

describe("verify: an intact ceremony", () => {
  it("is complete from the SQLite file (exit 0), and reading it changes no byte and leaves no file behind", async () => {
    const dir = readdirSync(join(fx.dbPath, ".."));
    const before = sha(fx.dbPath);
    const r = await verifyAnyFile(fx.dbPath);
    expect(exitStatus(r)).toBe(0);
    expect(r.ceremonies[0]!.completeness).toBe("complete");
    expect(r.ceremonies[0]!.facts).toMatchObject({ mode: "rehearsal", signed: true, stepsDone: fx.plan.script.steps.length });
    expect(sha(fx.dbPath)).toBe(before);
    expect(readdirSync(join(fx.dbPath, ".."))).toEqual(dir);
  });

  it("reads a database another process still writes (a -wal beside it) without touching it or its -wal, and creates no -shm", async () => {
    const dir = tempDir();
    const path = join(dir, "transcript.sqlite");
    const writer = TranscriptStore.open(path);
    const plan = await planCeremony(GENERATION_SCRIPT);
    const b = assemble(plan);
    storeBundle(writer, { ...b, entries: b.entries.slice(0, 6) });
    const files = readdirSync(dir).sort();
    expect(files).toContain("transcript.sqlite-wal");
    const hashes = files.map((f) => sha(join(dir, f)));
    const r = await verifyAnyFile(path);
    expect(exitStatus(r)).toBe(3); // intact so far, not complete
    expect(r.ceremonies[0]!.entries).toBe(6);
    expect(readdirSync(dir).sort()).toEqual(files);
    expect(files.map((f) => sha(join(dir, f)))).toEqual(hashes);
    writer.close();
  });
});

describe("verify: a change to any byte of any stored entry is detected and the entry named (Invariant 4)", () => {
  it("on the SQLite file, for every entry and every column", async () => {
    const columns = ["step_id", "action", "body_json", "body_hash", "signatures_json", "entry_hash"] as const;
    for (const row of rows) {
      const seq = Number(row.seq);
      for (const col of columns) {
        const path = copyOf(fx.dbPath);
        const db = new Database(path);
        const value = String(db.prepare(`SELECT ${col} AS v FROM entries WHERE seq = ?`).get(seq) && (db.prepare(`SELECT ${col} AS v FROM entries WHERE seq = ?`).get(seq) as { v: string }).v);
        const at = Math.floor(value.length / 2);
        const flipped = value.slice(0, at) + String.fromCharCode(value.charCodeAt(at) ^ 1) + value.slice(at + 1);
        db.prepare(`UPDATE entries SET ${col} = ? WHERE seq = ?`).run(flipped, seq);
        db.close();
        const r = await verifyAnyFile(path);
        expect(exitStatus(r), `${col} of entry ${seq}`).toBe(1);
        expect(r.ceremonies[0]!.failure?.seq, `${col} of entry ${seq}: ${JSON.stringify(r.ceremonies[0]!.failure)}`).toBe(seq);
      }
      const path = copyOf(fx.dbPath);
      const db = new Database(path);
      db.prepare("UPDATE entries SET seq = ? WHERE seq = ?").run(seq + 1000, seq);
      db.close();
      const r = await verifyAnyFile(path);
      expect(exitStatus(r), `seq of entry ${seq}`).toBe(1);
    }
  }, 120_000);

  it("on the SQLite file, any text column of an entry stored as a blob of the same bytes is a storage-class failure (§4.1)", async () => {
    for (const col of ["ceremony_id", "step_id", "action", "body_json", "body_hash", "signatures_json", "entry_hash"]) {
      const path = copyOf(fx.dbPath);
      const db = new Database(path);
      db.prepare(`UPDATE entries SET ${col} = CAST(${col} AS BLOB) WHERE seq = 3`).run();
      db.close();
      const r = await verifyAnyFile(path);
      expect(exitStatus(r), col).toBe(1);
      expect(r.fileFailure?.code, col).toBe("SQLITE_TYPES");
    }
  });

  it("in memory, at 40 spread positions (first and last included) of every stored column of every entry", async () => {
    const cols = ["stepId", "action", "bodyJson", "bodyHash", "signaturesJson", "entryHash"] as const;
    let checked = 0;
    for (let i = 0; i < rows.length; i++) {
      for (const col of cols) {
        // A turn of the event loop now and then: this loop is all CPU (a small ceremony's walk never yields), and a
        // worker that does not answer Vitest's RPC for 60 s fails the run on a loaded machine.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const value = String(rows[i]![col]);
        // Every character would be ~30,000 verifications; 40 spread positions per column keep every
        // part of every column covered (the property test in transcript-props mutates whole fields).
        const positions = new Set<number>([0, value.length - 1]);
        for (let k = 1; k < 39; k++) positions.add(Math.floor((k * value.length) / 39));
        for (const at of positions) {
          const edited = rows.map((r) => ({ ...r }));
          edited[i]![col] = value.slice(0, at) + String.fromCharCode(value.charCodeAt(at) ^ 1) + value.slice(at + 1);
          const v = await verifyCeremony(fx.meta, edited, { source: "sqlite" });
          checked++;
          if (v.ok || v.failure?.seq !== i + 1) throw new Error(`${col} of entry ${i + 1}, character ${at}: ${JSON.stringify(v.failure)}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(rows.length * cols.length * 10);
  }, 300_000);
});

describe("signature checks on worker threads", () => {
  it("give the same first invalid signature as the inline checks, wherever it is", async () => {
    const plan = await planCeremony(GENERATION_SCRIPT);
    const b = assemble(plan);
    const tasks: SignatureTask[] = [];
    for (let k = 0; k < 120; k++) for (const e of b.entries) for (const s of e.signatures) tasks.push({ seq: e.body.seq, bodyHash: e.bodyHash, signature: s });
    expect(tasks.length).toBeGreaterThan(2000);
    const parallel: SignatureChecker = parallelSignatureChecker(2);
    expect(await parallel(tasks)).toBe(-1);
    for (const at of [0, 17, Math.floor(tasks.length / 2), tasks.length - 1]) {
      const bad = tasks.map((t, k) => (k === at ? { ...t, signature: { ...t.signature, signature: tasks[(k + 1) % tasks.length]!.signature.signature } } : t));
      // A second bad one later must not hide the first.
      const twice = bad.map((t, k) => (k === tasks.length - 1 && at !== k ? { ...t, bodyHash: "0".repeat(64) } : t));
      expect(await checkSignaturesInline(twice)).toBe(at);
      expect(await parallel(twice)).toBe(at);
    }
  }, 120_000);
});

describe("the custos verify command", () => {
  it("gives exit 0, 3, 4, 1 and 2 for complete, incomplete, aborted, not intact and unreadable input", async () => {
    const v = (f: string) => join(__dirname, "../vectors", f);
    expect((await cli(["verify", v("valid/generation.bundle.json")])).code).toBe(0);
    expect((await cli(["verify", v("valid/incomplete.bundle.json")])).code).toBe(3);
    expect((await cli(["verify", v("valid/aborted.bundle.json")])).code).toBe(4);
    expect((await cli(["verify", v("invalid/chain-broken.bundle.json")])).code).toBe(1);
    expect((await cli(["verify", v("invalid/not-json.bundle.json")])).code).toBe(2);
    const usage = await cli(["verify", v("valid/generation.bundle.json"), "--expect-head", "abc"]);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--expect-head needs 64 hex characters/);
    // The usage text keeps its lines (not one line of escaped line feeds).
    expect(usage.err).toMatch(/\n +\[--expect-head HEX\] \[--expect-entry SEQ=HEX\]/);
    expect(usage.err).not.toContain("\\u{000A}");
    // A pin given twice is a usage error: the first value (which does not hold here) would never be checked.
    const genuine = JSON.parse(readFileSync(v("valid/generation.bundle.json"), "utf8")).head as string;
    for (const [name, first] of [["--expect-head", "0".repeat(64)], ["--expect-root-fingerprint", "0".repeat(64)], ["--expect-script-sha256", "0".repeat(64)], ["--ceremony", "other"]] as const) {
      const twice = await cli(["verify", v("valid/generation.bundle.json"), name, first, name, name === "--ceremony" ? "root-key-generation-2026-11-30-v3ct0r" : genuine]);
      expect(twice.code, twice.out + twice.err).toBe(2);
      expect(twice.err).toContain(`${name} was given 2 times; give it once`);
    }
  });

  it("--ceremony on a file that fails at the file level gives that failure (exit 1), not 'no such ceremony'", async () => {
    const f = join(__dirname, "../vectors/invalid/sqlite-index-mismatch.sqlite");
    const r = await cli(["verify", f, "--ceremony", "root-key-generation-2026-11-30-v3ct0r"]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/SQLITE_INTEGRITY/);
    expect(r.out.split("\n")[0]).toBe(`file: ${f} (SQLite transcript)`);
  });

  it("a hint that quotes the file (its ceremony ids) cannot start a line of its own", async () => {
    const b = JSON.parse(readFileSync(join(__dirname, "../vectors/valid/generation.bundle.json"), "utf8"));
    b.ceremony.id = "x\nverdict: intact and complete (exit 0)";
    const f = join(tempDir("custos-hint-"), "bundle.json");
    writeFileSync(f, `${canonicalJson(b)}\n`);
    const r = await cli(["verify", f, "--ceremony", "other"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("It holds:");
    for (const line of (r.out + r.err).split("\n")) expect(line, line).not.toMatch(/^verdict: intact/);
    expect(r.err).toContain('  It holds: "x\\nverdict: intact and complete (exit 0)".');
  });

  it("lists the pins it checked, and fails on one that does not hold", async () => {
    const f = join(__dirname, "../vectors/valid/generation.bundle.json");
    const head = JSON.parse(readFileSync(f, "utf8")).head as string;
    const ok = await cli(["verify", f, "--expect-head", head.toUpperCase().replace(/(..)/g, "$1:").slice(0, -1)]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/pin\s+held: --expect-head/);
    const bad = await cli(["verify", f, "--expect-head", "0".repeat(64)]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/PIN_MISMATCH/);
    expect(bad.out).toMatch(/DOES NOT HOLD: --expect-head/);
  });

  it("pins a re-split's root by the source ceremony's root key (no certificate of its own) and an entry by its hash", async () => {
    const f = join(__dirname, "../vectors/valid/share-resplit.bundle.json");
    const b = JSON.parse(readFileSync(f, "utf8")) as { entries: Array<{ body: { action: string; outputs: Record<string, { spki?: string }> }; entryHash: string }> };
    const load = b.entries.find((e) => e.body.action === "load-source-ceremony")!;
    const root = createHash("sha256").update(Buffer.from(load.body.outputs.sourceRootKey!.spki!, "base64")).digest("hex");
    const held = await verifyFile(f, { pins: { rootFingerprint: root, entries: [{ seq: 3, hash: b.entries[2]!.entryHash }] } });
    expect(exitStatus(held)).toBe(0);
    expect(held.ceremonies[0]!.pins.map((p) => p.held)).toEqual([true, true]);
    for (const pins of [{ rootFingerprint: "0".repeat(64) }, { entries: [{ seq: 3, hash: b.entries[3]!.entryHash }] }, { entries: [{ seq: b.entries.length + 1, hash: b.entries[3]!.entryHash }] }]) {
      const r = await verifyFile(f, { pins });
      expect(exitStatus(r)).toBe(1);
      expect(r.ceremonies[0]!.failure?.code).toBe("PIN_MISMATCH");
    }
  });

  it("a root-fingerprint pin does not hold for the certificate of an earlier root key (a script with two key steps)", async () => {
    // The shipped generation script with a second key generation after the certificate: the seal's root key is B,
    // the certificate recorded is of A. Only B (its SPKI, or a certificate of B) may match the pin (§10).
    const text = readFileSync(GENERATION_SCRIPT, "utf8")
      .replace(/^id: root-key-generation$/m, "id: root-key-generation-two-keys")
      .replace(/(    action: self-sign-certificate\n[\s\S]*?    attest:\n      - role: ceremony-administrator\n      - role: internal-witness\n)/, "$1\n  - id: generate-root-key-2\n    title: Second root key generation\n    read: >\n      The HSM generates another root key pair.\n    action: generate-key-pair\n    params:\n      onOrphan: destroy\n    attest:\n      - role: ceremony-administrator\n      - role: internal-witness\n");
    expect(text).toContain("generate-root-key-2");
    const script = join(tempDir("custos-two-keys-"), "two-keys.yaml");
    writeFileSync(script, text);
    const plan = await planCeremony(script);
    const a = makeRootKey();
    const certA = await rootCertificate(a, "Earlier Root CA", new Date(Date.UTC(2026, 10, 30)));
    const gen = plan.specs.findIndex((x) => x.stepId === "generate-root-key");
    plan.specs[gen]!.outputs = { rootKey: { label: "custos-root-a", algorithm: "EC-P384", spki: a.spki, fingerprint: a.fingerprint } };
    plan.specs[plan.specs.findIndex((x) => x.stepId === "root-certificate")]!.outputs = { certificate: { pem: certA.pem, sha256: certA.sha256 } };
    const f = join(tempDir("custos-two-keys-"), "bundle.json");
    writeFileSync(f, bundleText(assemble(plan)));
    expect(exitStatus(await verifyFile(f))).toBe(0);
    expect(exitStatus(await verifyFile(f, { pins: { rootFingerprint: plan.root.fingerprint } }))).toBe(0);
    for (const earlier of [certA.sha256, a.fingerprint]) {
      const r = await verifyFile(f, { pins: { rootFingerprint: earlier } });
      expect(r.ceremonies[0]!.failure?.code, earlier).toBe("PIN_MISMATCH");
    }
  });

  it("prints no control character a forged file carries: escape sequences are shown, not obeyed", async () => {
    const plan = await planCeremony(GENERATION_SCRIPT);
    const at = plan.specs.findIndex((s) => s.stepId === "generate-root-key");
    const admin = plan.people.find((p) => p.roles.includes("ceremony-administrator"))!.id;
    const witness = plan.people.find((p) => p.roles.includes("internal-witness"))!.id;
    const evil = "\u001b[2J\u001b[H\u001b[32mINTACT AND COMPLETE — sealed\u001b[0m\u202e\r";
    const b = assemble(plan, [...plan.specs.slice(0, at), { stepId: plan.specs[at]!.stepId, action: "abort", inputs: { reason: evil }, outputs: {}, signers: [admin, witness] }]);
    const f = join(tempDir(), "evil.bundle.json");
    writeFileSync(f, bundleText(b));
    const r = await cli(["verify", f]);
    expect(r.code).toBe(4);
    // eslint-disable-next-line no-control-regex
    expect(r.out + r.err).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(r.out).toContain("\\u{001B}[2J");
    expect(r.out).toContain("\\u{202E}");
  });
});

describe("verify: a body re-signed by an insider", () => {
  it("that names a required signer twice is malformed (§2.1: no duplicates), whatever the list's length", async () => {
    const plan = await planCeremony(GENERATION_SCRIPT);
    for (const length of [2, 3, 40]) {
      const b = assemble(plan, plan.specs, (body, i) => {
        if (i !== 4) return;
        // Well-formed ids (p + digits), all different but the last, which repeats one in the middle.
        body.requiredSigners = Array.from({ length: length - 1 }, (_, k) => `p${String(k + 1).padStart(2, "0")}`);
        body.requiredSigners.push(body.requiredSigners[Math.floor((length - 1) / 2)]!);
      });
      const file = join(tempDir("custos-dup-signer-"), "bundle.json");
      writeFileSync(file, bundleText(b));
      const r = await verifyAnyFile(file);
      expect(exitStatus(r)).toBe(1);
      expect(r.ceremonies[0]!.failure).toMatchObject({ code: "BODY_MALFORMED", seq: 5 });
    }
  });
});

describe("verify: an entry stuffed with signatures", () => {
  it("fails check 8 (SIGNATURES_MALFORMED), in a file large enough for the worker threads, and the walk's verdict stands", async () => {
    const plan = await planCeremony(GENERATION_SCRIPT);
    const b = assemble(plan);
    const e = b.entries[4]!;
    expect(e.signatures.length).toBeGreaterThan(0);
    // 6,000 copies of one valid signature: the file passes 1 MiB.
    e.signatures = Array.from({ length: 6000 }, () => e.signatures[0]!);
    const file = join(tempDir("custos-stuffed-"), "bundle.json");
    writeFileSync(file, bundleText(b));
    expect(readFileSync(file).length).toBeGreaterThan(1024 * 1024);
    const r = await verifyAnyFile(file);
    expect(exitStatus(r)).toBe(1);
    expect(r.ceremonies[0]!.failure).toMatchObject({ code: "SIGNATURES_MALFORMED", seq: 5 });
  });
});

describe("verify: two ceremonies whose rows SQLite returns interleaved", () => {
  // A database whose entries.ceremony_id sorts without case (PRAGMA table_info does not show a collation): the
  // rows of ceremony C and of a made-up ceremony whose id is C's in capitals would come back mixed. §4.1 fixes
  // each table's declaration, so the file is refused as a whole before any row is read.
  it("re-declared COLLATE NOCASE: the declaration is refused (SQLITE_SCHEMA), on the inline and on the threaded path", async () => {
    const src = new Database(fx.dbPath, { readonly: true });
    const out = join(tempDir("custos-interleaved-"), "transcript.sqlite");
    const db = new Database(out);
    try {
      for (const p of ["application_id", "user_version"]) db.pragma(`${p} = ${Number(src.pragma(p, { simple: true }))}`);
      db.exec((src.prepare("SELECT sql FROM sqlite_master WHERE name = 'ceremonies'").get() as { sql: string }).sql);
      db.exec(`CREATE TABLE entries (ceremony_id TEXT NOT NULL COLLATE NOCASE, seq INTEGER NOT NULL, step_id TEXT NOT NULL, action TEXT NOT NULL,
        body_json TEXT NOT NULL, body_hash TEXT NOT NULL, signatures_json TEXT NOT NULL, entry_hash TEXT NOT NULL, PRIMARY KEY (ceremony_id COLLATE BINARY, seq))`);
      const header = src.prepare("SELECT * FROM ceremonies").get() as Record<string, string>;
      const all = src.prepare("SELECT * FROM entries ORDER BY seq").all() as Array<Record<string, string | number>>;
      const insH = db.prepare(`INSERT INTO ceremonies VALUES (${Object.keys(header).map((k) => `@${k}`).join(", ")})`);
      const insE = db.prepare("INSERT INTO entries VALUES (@ceremony_id, @seq, @step_id, @action, @body_json, @body_hash, @signatures_json, @entry_hash)");
      const hash = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
      insH.run(header);
      for (const r of all) {
        if (r.seq === all.length) {
          const sigs = JSON.parse(r.signatures_json as string) as Array<{ signature: string }>;
          const b = Buffer.from(sigs[0]!.signature, "base64");
          b[10]! ^= 1;
          sigs[0]!.signature = b.toString("base64");
          r.signatures_json = canonicalJson(sigs);
          r.entry_hash = hash(`{"bodyHash":"${r.body_hash}","signatures":${r.signatures_json}}`);
        }
        insE.run(r);
      }
      const other = header.id!.toUpperCase();
      expect(other).not.toBe(header.id);
      insH.run({ ...header, id: other, status: "open" });
      let prev = "0".repeat(64);
      for (const r of all.slice(0, 2)) {
        const body = { ...JSON.parse(r.body_json as string), ceremonyId: other, prevHash: prev };
        const bodyJson = canonicalJson(body);
        const bodyHash = hash(bodyJson);
        prev = hash(`{"bodyHash":"${bodyHash}","signatures":[]}`);
        insE.run({ ...r, ceremony_id: other, body_json: bodyJson, body_hash: bodyHash, signatures_json: "[]", entry_hash: prev });
      }
    } finally {
      db.close();
      src.close();
    }
    for (const threads of [1, 2]) {
      const r = await verifyFile(out, { threads, earlyThreadsBytes: 0 });
      expect(r.fileFailure?.code, `threads ${threads}`).toBe("SQLITE_SCHEMA");
      expect(exitStatus(r)).toBe(1);
    }
  });

  // With the declared schema: ceremony ids stored as invalid UTF-8 (0x80, 0xFF) read as the same text "\uFFFD",
  // while SQLite sorts the bytes, so a ceremony "é" (0xC3 0xA9) comes between its rows. Entry 3 of the first
  // carries a forged signature. §4.1 refuses such text before any ceremony is read (SQLITE_TYPES), so no verifier
  // has to choose between merging the two ids (as a U+FFFD reader does) or keeping them apart; the signature
  // checks' own defence against interleaved rows (positions, not offsets) is tested in signature-workers.test.ts.
  it("ids stored as invalid UTF-8 bytes are SQLITE_TYPES, on the inline and on the threaded path", async () => {
    const out = copyOf(fx.dbPath);
    const db = new Database(out);
    try {
      db.pragma("journal_mode = DELETE");
      const header = db.prepare("SELECT * FROM ceremonies").get() as Record<string, string>;
      const first = db.prepare("SELECT * FROM entries WHERE seq <= 2 ORDER BY seq").all() as Array<Record<string, string>>;
      const signed = db.prepare("SELECT signatures_json AS s FROM entries WHERE signatures_json <> '[]' ORDER BY seq LIMIT 1").get() as { s: string };
      const forged = { ...(JSON.parse(signed.s) as Array<Record<string, string>>)[0]!, signature: Buffer.alloc(64, 7).toString("base64") };
      db.exec("DELETE FROM entries; DELETE FROM ceremonies");
      const insH = db.prepare(`INSERT INTO ceremonies VALUES (CAST(@id AS TEXT), ${Object.keys(header).filter((k) => k !== "id").map((k) => `@${k}`).join(", ")})`);
      const insE = db.prepare("INSERT INTO entries VALUES (CAST(@cid AS TEXT), @seq, @step_id, @action, @body_json, @body_hash, @signatures_json, @entry_hash)");
      const hash = (t: string) => createHash("sha256").update(t, "utf8").digest("hex");
      const make = (readAs: string, stored: Array<Buffer | string>, third?: Record<string, unknown>) => {
        insH.run({ ...header, id: stored[0], status: "open" });
        let prev = "0".repeat(64);
        let timestamp = "";
        const bodies = [...first.map((r) => JSON.parse(r.body_json!) as Record<string, unknown>), ...(third ? [third] : [])];
        bodies.forEach((body, k) => {
          Object.assign(body, { ceremonyId: readAs, prevHash: prev });
          timestamp = (body.timestamp as string | undefined) ?? timestamp;
          body.timestamp = timestamp;
          const bodyJson = canonicalJson(body);
          const bodyHash = hash(bodyJson);
          const sigs = k === 2 ? canonicalJson([forged]) : "[]";
          prev = hash(`{"bodyHash":"${bodyHash}","signatures":${sigs}}`);
          insE.run({ cid: stored[Math.min(k, stored.length - 1)], seq: k + 1, step_id: body.stepId, action: body.action, body_json: bodyJson, body_hash: bodyHash, signatures_json: sigs, entry_hash: prev });
        });
      };
      const deviation = { v: 2, seq: 3, stepId: first[1]!.step_id, action: "deviation", inputs: { kind: "retry" }, outputs: {}, requiredSigners: [] };
      make("\uFFFD", [Buffer.from([0x80]), Buffer.from([0x80]), Buffer.from([0xff])], deviation);
      make("é", ["é"]);
    } finally {
      db.close();
    }
    for (const threads of [1, 2]) {
      const r = await verifyFile(out, { threads, earlyThreadsBytes: 0 });
      expect(r.fileFailure, `threads ${threads}`).toEqual({ code: "SQLITE_TYPES", reason: "a stored text is not valid UTF-8 (ceremonies.id of row 1)." });
      expect(r.ceremonies).toEqual([]);
      expect(exitStatus(r)).toBe(1);
    }
  });
});

describe("verify: §4.1 text is UTF-8", () => {
  // SQLite's reader shows bytes that are not UTF-8 as U+FFFD; a real U+FFFD (EF BF BD) is valid text and must pass.
  it("a transcript whose signed text holds a real U+FFFD verifies; the same character stored as a lone 0xFF byte is SQLITE_TYPES", async () => {
    const plan = await planCeremony(GENERATION_SCRIPT);
    const seal = plan.specs[plan.specs.length - 1]!;
    const signers = ["internal-witness", "ceremony-administrator"].map((r) => plan.people.find((p) => p.roles.includes(r))!.id);
    const note = { stepId: seal.stepId, action: "exception", inputs: { text: "the label read \uFFFD\uFFFD (smudged)" }, outputs: {}, signers };
    const file = join(tempDir("custos-fffd-"), "transcript.sqlite");
    const store = TranscriptStore.open(file);
    storeBundle(store, assemble(plan, [...plan.specs.slice(0, -1), note, seal]));
    store.close();
    for (const threads of [1, 2]) expect(exitStatus(await verifyFile(file, { threads, earlyThreadsBytes: 0 })), `threads ${threads}`).toBe(0);

    const bad = copyOf(file);
    const db = new Database(bad);
    db.pragma("journal_mode = DELETE");
    const changed = db.prepare("UPDATE entries SET body_json = CAST(replace(CAST(body_json AS BLOB), X'EFBFBD', X'FF') AS TEXT) WHERE action = 'exception'").run().changes;
    db.close();
    expect(changed).toBe(1);
    const r = await verifyFile(bad);
    expect(r.fileFailure).toEqual({ code: "SQLITE_TYPES", reason: `a stored text is not valid UTF-8 (entries.body_json of row ${plan.specs.length}).` });
    expect(exitStatus(r)).toBe(1);
  });

  it("a database in UTF-16 is SQLITE_SCHEMA, whatever it holds", async () => {
    const r = await verifyFile(join(__dirname, "../vectors/invalid/sqlite-utf16.sqlite"));
    expect(r.fileFailure).toEqual({ code: "SQLITE_SCHEMA", reason: "the database's text encoding is UTF-16le; a transcript's is UTF-8." });
  });
});

describe("verify: a stored text nested deeper than the stack", () => {
  it.each(["body_json", "signatures_json"])("in %s is not canonical (a verdict, never a fault)", async (col) => {
    const path = copyOf(fx.dbPath);
    const db = new Database(path);
    db.prepare(`UPDATE entries SET ${col} = ? WHERE seq = 2`).run(`${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    db.close();
    const r = await verifyAnyFile(path);
    expect(exitStatus(r)).toBe(1);
    expect(r.ceremonies[0]!.failure).toMatchObject({ code: col === "body_json" ? "BODY_NOT_CANONICAL" : "SIGNATURES_MALFORMED", seq: 2 });
  });
});
