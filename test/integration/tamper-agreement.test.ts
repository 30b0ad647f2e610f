/**
 * Issue 10, "done when": tampered copies of fresh rehearsals of every
 * ceremony kind — truncation at every point, reordering, deletion,
 * duplication, insertion after the close, header edits, signer substitution,
 * an insider re-signing alone, a re-keyed forgery, page edits, attachment
 * swaps, encoding tricks — are judged by custos verify and by the
 * independent verifier written from docs/transcript-format.md alone
 * (test/independent-verifier, Python). They must agree on the verdict, the
 * code and the entry, and custos verify must exit 0 on none of them.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rehearse, rehearseFrom, type RehearsalFile } from "../../electron/core/rehearse/rehearse";
import { renderReport } from "../../electron/core/report/report";
import { CustosError } from "../../electron/core/errors";
import { verifyAnyFile } from "../../electron/core/source";
import { canonicalJson } from "../../electron/core/transcript/canonical";
import { attestationMessage, bodyHash, entryHash, sortSignatures } from "../../electron/core/transcript/chain";
import { deriveAttestationKey, type KdfParams } from "../../electron/core/transcript/identity";
import type { Bundle, EntryBody } from "../../electron/core/transcript/types";
import { exitStatus, type Pins } from "../../electron/core/transcript/verify/index";
import { assemble, bundleText, planCeremony } from "../vectors/builder";
import { ROOT, tool } from "../helpers/files";
import { run } from "../helpers/spawn";

const PY = path.join(ROOT, "test", "independent-verifier", "verify.py");
const script = (n: string) => path.join(ROOT, "ceremony-scripts", `${n}.yaml`);
const BATCH = path.join(ROOT, "test", "independent-verifier", "batch.py");
const VERDICT = { 0: "complete", 1: "not-intact", 3: "incomplete", 4: "aborted" } as const;
/** Every ceremony kind of ceremony-scripts/. */
const KINDS = ["root-key-generation", "root-key-recovery", "share-resplit", "share-health-check", "sign-intermediate", "issue-crl", "cross-certify", "key-destruction"];

let dir: string;
const kinds: Array<{ name: string; out: string; bundle: Bundle; info: RehearsalFile }> = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-agree-"));
  const gen = path.join(dir, "root-key-generation");
  await rehearse({ scriptPath: script("root-key-generation"), outDir: gen, custodians: 3, threshold: 2 });
  for (const k of ["root-key-recovery", "share-resplit", "share-health-check"]) {
    await rehearseFrom({ scriptPath: script(k), fromDir: gen, outDir: path.join(dir, k), custodians: 3, threshold: 2 });
  }
  // The signing ceremonies use the generation's token, so they run before the destruction empties it.
  const csr = path.join(dir, "intermediate.csr");
  tool("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", path.join(dir, "intermediate.key"), "-out", csr, "-subj", "/CN=Agreement Intermediate"]);
  await rehearseFrom({ scriptPath: script("sign-intermediate"), fromDir: gen, outDir: path.join(dir, "sign-intermediate"), inputs: { csr } });
  const revoked = path.join(dir, "revoked.txt");
  fs.writeFileSync(revoked, "0a1b2c keyCompromise\n01:23:45 superseded\n");
  await rehearseFrom({ scriptPath: script("issue-crl"), fromDir: gen, outDir: path.join(dir, "issue-crl"), inputs: { revoked } });
  const other = path.join(dir, "other-root");
  await rehearse({ scriptPath: script("root-key-generation"), outDir: other, custodians: 3, threshold: 2 });
  await rehearseFrom({ scriptPath: script("cross-certify"), fromDir: gen, outDir: path.join(dir, "cross-certify"), inputs: { "other-root": path.join(other, "root-cert.pem") } });
  await rehearseFrom({ scriptPath: script("key-destruction"), fromDir: gen, outDir: path.join(dir, "key-destruction"), custodians: 3, threshold: 2 });
  for (const name of KINDS) {
    const out = path.join(dir, name);
    kinds.push({
      name,
      out,
      bundle: JSON.parse(fs.readFileSync(path.join(out, "bundle.json"), "utf8")) as Bundle,
      info: JSON.parse(fs.readFileSync(path.join(out, "rehearsal.json"), "utf8")) as RehearsalFile,
    });
  }
}, 300_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Judgement {
  verdict: string;
  code?: string | null;
  seq?: number | null;
}

async function custosSays(file: string, pins: Pins): Promise<Judgement> {
  try {
    const r = await verifyAnyFile(file, { pins });
    const status = exitStatus(r);
    const f = r.fileFailure ?? r.ceremonies.find((c) => !c.ok)?.failure;
    return { verdict: VERDICT[status], code: f?.code ?? null, seq: f?.seq ?? null };
  } catch (e) {
    if (e instanceof CustosError && ["VERIFY_UNREADABLE", "TRANSCRIPT_UNREADABLE"].includes(e.code)) return { verdict: "unreadable", code: null, seq: null };
    throw e;
  }
}

const pyArgs = (file: string, pins: Pins): string[] => [
  file,
  ...(pins.head ? ["--expect-head", pins.head] : []),
  ...(pins.rootFingerprint ? ["--expect-root-fingerprint", pins.rootFingerprint] : []),
];
const judgement = (line: string): Judgement => {
  const j = JSON.parse(line) as Judgement;
  return { verdict: j.verdict, code: j.code ?? null, seq: j.seq ?? null };
};

/** Async, so a case list of a hundred files never holds the test worker's event loop (Vitest's RPC times out). */
async function pythonSays(file: string, pins: Pins): Promise<Judgement> {
  const r = await run("python3", [PY, ...pyArgs(file, pins)]);
  return judgement(r.stdout.trim().split("\n").pop() ?? "");
}

/** The same judgements for many files from one Python process (batch.py: verify.py's own run(), one line each). */
function pythonSaysAll(cases: Array<{ file: string; pins?: Pins }>): Promise<Judgement[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [BATCH], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const lines = out.trim().split("\n");
      if (code !== 0 || lines.length !== cases.length) reject(new Error(`batch.py exited ${code} with ${lines.length} answers for ${cases.length} files: ${err}`));
      else resolve(lines.map(judgement));
    });
    child.stdin.end(cases.map((c) => JSON.stringify(pyArgs(c.file, c.pins ?? {}))).join("\n") + "\n");
  });
}

interface Case {
  name: string;
  file: string;
  pins?: Pins;
}

function writeBundle(name: string, b: Bundle | string): string {
  const f = path.join(dir, "cases", `${name}.json`);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, typeof b === "string" ? b : bundleText(b));
  return f;
}

const clone = (b: Bundle): Bundle => JSON.parse(JSON.stringify(b)) as Bundle;

/** Recomputes hashes and the chain from entry `from` on (an attacker who knows the format), keeping the signatures as they are. */
function rechain(b: Bundle, from = 0): Bundle {
  let prev = from === 0 ? "0".repeat(64) : b.entries[from - 1]!.entryHash;
  for (let i = from; i < b.entries.length; i++) {
    const e = b.entries[i]!;
    e.body = { ...e.body, seq: i + 1, prevHash: prev };
    e.bodyHash = bodyHash(e.body);
    e.signatures = sortSignatures(e.signatures);
    e.entryHash = entryHash(e.bodyHash, e.signatures);
    prev = e.entryHash;
  }
  b.head = b.entries.at(-1)?.entryHash ?? "0".repeat(64);
  return b;
}

/** An insider who knows only their own passphrase re-signs, with their own key, the entries they rewrote. */
function insiderResign(k: (typeof kinds)[number], role: string, edit: (body: EntryBody) => void, at: number, dropOthers: boolean): Bundle {
  const b = clone(k.bundle);
  const enrol = b.entries.find((e) => e.body.action === "enrol-participants")!.body.outputs.participants as unknown as Array<{ id: string; name: string; roles: string[]; kdf: KdfParams }>;
  const me = enrol.find((p) => p.roles.includes(role))!;
  const passphrase = k.info.participants.find((p) => p.name === me.name)!.passphrase;
  const key = deriveAttestationKey(passphrase, me.kdf);
  edit(b.entries[at]!.body);
  let prev = at === 0 ? "0".repeat(64) : b.entries[at - 1]!.entryHash;
  for (let i = at; i < b.entries.length; i++) {
    const e = b.entries[i]!;
    e.body = { ...e.body, prevHash: prev };
    e.bodyHash = bodyHash(e.body);
    const mine = attestationMessage(e.bodyHash);
    const kept = e.signatures.filter((s) => s.signer !== me.id && !(dropOthers && s.kind === "participant"));
    const signed = e.signatures.some((s) => s.signer === me.id) || dropOthers;
    e.signatures = sortSignatures([...kept, ...(signed ? [{ signer: me.id, kind: "participant" as const, algorithm: "Ed25519" as const, publicKey: key.publicKey, signature: key.sign(mine) }] : [])]);
    e.entryHash = entryHash(e.bodyHash, e.signatures);
    prev = e.entryHash;
  }
  b.head = prev;
  return b;
}

function casesFor(k: (typeof kinds)[number]): Case[] {
  const g = k.bundle;
  const n = g.entries.length;
  const pinHead: Pins = { head: g.head };
  const out: Case[] = [];
  const add = (name: string, b: Bundle | string, pins: Pins = {}) => out.push({ name: `${k.name}: ${name}`, file: writeBundle(`${k.name}-${name.replace(/\W+/g, "-")}`, b), pins });
  // Truncation at every point, the header made to match, with and without the final head pinned.
  for (let m = 1; m < n; m++) {
    const t = clone(g);
    t.entries = t.entries.slice(0, m);
    t.head = t.entries[m - 1]!.entryHash;
    t.ceremony.status = t.entries[m - 1]!.body.action === "abort" ? "aborted" : "open";
    add(`cut to ${m} entries`, t);
    if (m % 4 === 0) add(`cut to ${m} entries, final head pinned`, t, pinHead);
  }
  // Deletion, duplication and reordering, plain and re-chained.
  for (let i = 1; i < n; i += 2) {
    const d = clone(g);
    d.entries.splice(i, 1);
    add(`entry ${i + 1} deleted`, d);
    add(`entry ${i + 1} deleted and re-chained`, rechain(clone(d), i));
    const u = clone(g);
    u.entries.splice(i, 0, clone(g).entries[i]!);
    add(`entry ${i + 1} duplicated`, u);
    if (i + 1 < n) {
      const r = clone(g);
      [r.entries[i], r.entries[i + 1]] = [r.entries[i + 1]!, r.entries[i]!];
      add(`entries ${i + 1} and ${i + 2} swapped and re-chained`, rechain(r, i));
    }
  }
  // Insertion after the close: a copy of an entry, re-chained onto the seal.
  const after = clone(g);
  after.entries.push(clone(g).entries[3]!);
  add("an entry inserted after the seal", rechain(after, n));
  // Header edits.
  for (const [field, value] of [["mode", "production"], ["status", "open"], ["scriptTitle", "Approved root"], ["createdAt", "2020-01-01T00:00:00.000Z"]] as const) {
    const h = clone(g);
    (h.ceremony as unknown as Record<string, string>)[field] = value;
    add(`header ${field} edited`, h);
  }
  // Signer substitution: a signature relabelled as another participant's.
  const sub = clone(g);
  const sigEntry = sub.entries.find((e) => e.body.action !== "enrol-participants" && e.signatures.some((s) => s.kind === "participant"))!;
  const enrolled = (sub.entries.find((e) => e.body.action === "enrol-participants")!.body.outputs.participants as unknown as Array<{ id: string }>).map((p) => p.id);
  const signed = new Set(sigEntry.signatures.map((s) => s.signer));
  const s0 = sigEntry.signatures.find((s) => s.kind === "participant")!;
  // Someone enrolled who did not sign this entry: the signature stays valid, but is made with another key than theirs.
  s0.signer = enrolled.find((id) => !signed.has(id))!;
  expect(s0.signer).toBeDefined();
  add("a signature relabelled as another signer's, re-chained", rechain(sub, sigEntry.body.seq - 1));
  // The administrator (or recovery officer) rewrites an entry near the end and re-signs alone.
  const lead = g.entries.some((e) => e.body.action === "collect-shares-and-restore") ? "recovery-officer" : "ceremony-administrator";
  const target = g.entries.findIndex((e, i) => i > 3 && e.signatures.some((s) => s.kind === "participant") && e.body.action === "checklist");
  if (target > 0) {
    const edit = (b: EntryBody) => void ((b.inputs as Record<string, unknown>).confirmedItems = ["Everything was fine."]);
    add("insider rewrites a checklist and re-signs, keeping the others' signatures", insiderResign(k, lead, edit, target, false));
    add("insider rewrites a checklist and re-signs alone", insiderResign(k, lead, edit, target, true));
  }
  // Encoding tricks.
  const text = bundleText(g);
  add("pretty-printed", `${JSON.stringify(g, null, 2)}\n`);
  add("with a BOM", `\uFEFF${text}`);
  add("a duplicated key", text.replace('"format":"custos-transcript-bundle"', '"format":"x","format":"custos-transcript-bundle"'));
  add("an escaped character", text.replace('"format":"custos-transcript-bundle"', '"format":"custos-transcript-bundl\\u0065"'));
  add("a number written 2.0", text.replace('"version":2', '"version":2.0'));
  return out;
}

describe("custos verify and the independent verifier agree on tampered rehearsals, and custos exits 0 on none", () => {
  for (const name of KINDS) {
    it(`${name}: truncation, deletion, duplication, reordering, insertion after the close, header edits, signer substitution, insider re-signing, encoding tricks`, async () => {
      const k = kinds.find((x) => x.name === name)!;
      const cases = casesFor(k);
      expect(cases.length).toBeGreaterThan(30);
      const theirs = await pythonSaysAll(cases);
      for (const [i, c] of cases.entries()) {
        const mine = await custosSays(c.file, c.pins ?? {});
        expect(mine.verdict, c.name).not.toBe("complete");
        expect(theirs[i], `${c.name}: custos says ${JSON.stringify(mine)}`).toEqual(mine);
      }
      // batch.py answers as verify.py does, one file at a time (checked on the last case).
      expect(await pythonSays(cases.at(-1)!.file, cases.at(-1)!.pins ?? {})).toEqual(theirs.at(-1));
      // The genuine bundle: both say complete.
      const genuine = path.join(k.out, "bundle.json");
      expect(await custosSays(genuine, { head: k.bundle.head })).toEqual({ verdict: "complete", code: null, seq: null });
      expect(await pythonSays(genuine, { head: k.bundle.head })).toEqual({ verdict: "complete", code: null, seq: null });
    }, 300_000);
  }

  it("a re-keyed forgery of the generation verifies without pins in both, and fails the genuine head and root pins in both", async () => {
    const k = kinds.find((x) => x.name === "root-key-generation")!;
    const forged = assemble(await planCeremony(script("root-key-generation"), { custodians: 3, threshold: 2, id: k.bundle.ceremony.id }));
    const f = writeBundle("rekeyed-forgery", forged);
    expect((await custosSays(f, {})).verdict).toBe("complete");
    expect((await pythonSays(f, {})).verdict).toBe("complete");
    const root = tool("openssl", ["x509", "-in", path.join(k.out, "root-cert.pem"), "-noout", "-fingerprint", "-sha256"]).split("=")[1]!.trim();
    for (const pins of [{ head: k.bundle.head }, { rootFingerprint: root }]) {
      const mine = await custosSays(f, pins);
      expect(mine).toEqual({ verdict: "not-intact", code: "PIN_MISMATCH", seq: null });
      expect(await pythonSays(f, pins)).toEqual(mine);
    }
  }, 120_000);

  it("page edits and attachment swaps of the reports: both say not intact, with the same code", async () => {
    for (const k of kinds) {
      const report = path.join(k.out, "report.pdf");
      // The cover re-rendered from an edited bundle (mode flipped), the genuine bundle attached again.
      const flipped = clone(k.bundle);
      flipped.ceremony.mode = "production";
      const forgedPdf = path.join(dir, `${k.name}-forged.pdf`);
      fs.writeFileSync(forgedPdf, await renderReport(flipped));
      const swapped = path.join(dir, `${k.name}-mode-flipped.pdf`);
      tool("qpdf", [forgedPdf, "--remove-attachment=bundle.json", "--add-attachment", path.join(k.out, "bundle.json"), "--key=bundle.json", "--filename=bundle.json", "--", swapped]);
      // Another ceremony's intact bundle attached to this report.
      const other = kinds.find((x) => x !== k)!;
      const foreign = path.join(dir, `${k.name}-foreign-attachment.pdf`);
      tool("qpdf", [report, "--remove-attachment=bundle.json", "--add-attachment", path.join(other.out, "bundle.json"), "--key=bundle.json", "--filename=bundle.json", "--", foreign]);
      for (const file of [swapped, foreign]) {
        const mine = await custosSays(file, {});
        expect(mine.verdict, file).toBe("not-intact");
        expect(mine.code, file).toBe("REPORT_MISMATCH");
        expect(await pythonSays(file, {}), file).toEqual(mine);
      }
      expect(canonicalJson(k.bundle).length).toBeGreaterThan(0);
    }
  }, 300_000);
});
