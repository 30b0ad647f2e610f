// Invariants 2 and 3 at rest: after a generation rehearsal, a recovery
// rehearsal from it, and a generation rehearsal SIGKILLed right after its
// backup step (so the transcript's -wal and -shm files are still there), the
// wrapping key (KEK) and every share are searched for in every file of the
// three folders and in everything the processes printed. Share material may
// appear only in a generation folder's shares/ and share-cards/, each card
// holding its own share only; the KEK nowhere.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RehearsalFile } from "../../electron/core/rehearse/rehearse";
import { readRehearsalShare } from "../../electron/core/rehearse/simulated-room";
import { combineShares, decodeShare, kcv } from "../../electron/core/shares";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { CLI, ROOT, secretForms, walk } from "../helpers/files";

const GEN_SCRIPT = path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml");
const REC_SCRIPT = path.join(ROOT, "ceremony-scripts", "root-key-recovery.yaml");
const readJson = <T>(f: string) => JSON.parse(fs.readFileSync(f, "utf8")) as T;

/** Runs the real command line; stdout and stderr captured; optionally SIGKILLed when a line appears. */
function run(args: string[], killOn?: RegExp): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (c: Buffer) => {
      output += c.toString("utf8");
      if (killOn && killOn.test(output) && child.exitCode === null) child.kill("SIGKILL");
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, output }));
  });
}

interface Secret {
  /** What it is, for the failure message: "KEK of gen", "share 3 of gen". */
  what: string;
  /** Folder whose shares/ and share-cards/ may hold it (the share's own files only); none for a KEK. */
  home?: string;
  /** Base name (share-03-of-05) of the files that may hold it. */
  file?: string;
  forms: Buffer[];
  /** Every run of 6 consecutive words of the share's word form. */
  sixGrams: Set<string>;
}

/** A way of reading a file: its raw bytes, each inflated PDF stream, and what pdftotext reads off the pages. */
interface View {
  how: string;
  bytes: Buffer;
  /** The bytes with all whitespace removed (hex printed in groups of four on a card). */
  squeezed: Buffer;
  words: string[][];
}

function view(how: string, bytes: Buffer): View {
  const latin = bytes.toString("latin1");
  return { how, bytes, squeezed: Buffer.from(latin.replace(/\s+/g, ""), "latin1"), words: wordSequences(latin) };
}

function views(file: string, bytes: Buffer): View[] {
  const out: View[] = [view("raw bytes", bytes)];
  if (file.endsWith(".pdf")) {
    // Every stream, inflated where it is Flate-compressed (page content, fonts, the attached bundle).
    const text = bytes.toString("latin1");
    const re = /stream\r?\n/g;
    let m: RegExpExecArray | null;
    let n = 0;
    while ((m = re.exec(text))) {
      const start = m.index + m[0].length;
      const end = text.indexOf("endstream", start);
      if (end < 0) break;
      const chunk = bytes.subarray(start, end);
      try {
        out.push(view(`inflated stream #${++n}`, zlib.inflateSync(chunk)));
      } catch {
        // not Flate (images already counted as raw bytes)
      }
      re.lastIndex = end;
    }
    const t = spawnSync("pdftotext", ["-layout", file, "-"], { maxBuffer: 64 * 1024 * 1024 });
    if (t.status === 0) out.push(view("pdftotext", t.stdout));
  }
  return out;
}

/** The word sequences a text offers: all lowercase words in order, and words numbered "NN word" put in number order (share cards print a numbered grid). */
function wordSequences(text: string): string[][] {
  const lower = text.toLowerCase();
  const plain = lower.match(/[a-z]+/g) ?? [];
  const numbered = [...lower.matchAll(/(?:^|[^0-9a-z])(\d{1,3})\s+([a-z]+)(?![a-z])/g)].map((x) => ({ n: Number(x[1]), w: x[2]! }));
  numbered.sort((a, b) => a.n - b.n);
  return [plain, numbered.map((x) => x.w)];
}

/** Which of the secret's forms occur in this view. */
function hits(v: View, s: Secret): string[] {
  const found: string[] = [];
  for (const [i, f] of s.forms.entries()) {
    if (v.bytes.includes(f)) found.push(`form ${i} (${f.length} bytes)`);
    else if (i > 0 && v.squeezed.includes(f)) found.push(`form ${i} with whitespace removed`);
  }
  for (const seq of v.words) {
    for (let i = 0; i + 6 <= seq.length; i++) {
      if (s.sixGrams.has(seq.slice(i, i + 6).join(" "))) {
        found.push(`six consecutive share words "${seq.slice(i, i + 6).join(" ")}"`);
        return found;
      }
    }
  }
  return found;
}

let work: string;
let gen: string;
let rec: string;
let killed: string;
const outputs: Array<{ name: string; text: string }> = [];
const secrets: Secret[] = [];
/** Every file's bytes, read once right after the processes ended (before anything here opens a transcript). */
const snapshot = new Map<string, Buffer>();

/** KEK and shares of a generation folder, from its shares/ texts; the KEK checked against the recorded KCV. */
async function secretsOf(dir: string, name: string, recordedKcv: string): Promise<Secret[]> {
  const info = readJson<RehearsalFile>(path.join(dir, "rehearsal.json"));
  const files = fs.readdirSync(path.join(dir, "shares")).filter((f) => f.endsWith(".txt")).sort();
  const out: Secret[] = [];
  const decoded = files.map((f) => {
    const words = readRehearsalShare(path.join(dir, "shares", f));
    const d = decodeShare(words, { ceremonyId: info.ceremonyId });
    const list = words.split(/\s+/);
    const sixGrams = new Set<string>();
    for (let i = 0; i + 6 <= list.length; i++) sixGrams.add(list.slice(i, i + 6).join(" "));
    out.push({ what: `share ${d.index} of ${name}`, home: dir, file: f.replace(/\.txt$/, ""), forms: secretForms(d.share), sixGrams });
    return d;
  });
  const threshold = Math.ceil(decoded.length / 2); // the script's 3 of 5
  const kek = await combineShares(decoded.slice(0, threshold).map((d) => d.share), threshold);
  expect(kcv(kek), `the KEK recombined from ${name}'s shares/ matches the recorded KCV`).toBe(recordedKcv);
  expect(kek.length).toBe(32);
  out.push({ what: `KEK of ${name}`, forms: secretForms(kek), sixGrams: new Set() });
  return out;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "custos-secrets-"));
  gen = path.join(work, "gen");
  rec = path.join(work, "rec");
  killed = path.join(work, "gen-killed");
  const [g, k] = await Promise.all([run(["rehearse", GEN_SCRIPT, "--out", gen]), run(["rehearse", GEN_SCRIPT, "--out", killed], /\[10\/16\] backup/)]);
  expect(g.code, g.output).toBe(0);
  expect(k.signal, k.output).toBe("SIGKILL");
  const r = await run(["rehearse", REC_SCRIPT, "--from", gen, "--out", rec]);
  expect(r.code, r.output).toBe(0);
  outputs.push({ name: "output of custos rehearse (generation)", text: g.output }, { name: "output of the SIGKILLed generation", text: k.output }, { name: "output of custos rehearse --from (recovery)", text: r.output });
  for (const dir of [gen, rec, killed]) for (const f of walk(dir)) snapshot.set(path.join(dir, f), fs.readFileSync(path.join(dir, f)));
  const genBackup = readJson<{ wrapping: { kcv: string } }>(path.join(gen, "backup.json"));
  secrets.push(...(await secretsOf(gen, "gen", genBackup.wrapping.kcv)));
  // The killed run never reached the export step: its KCV is in the transcript's backup entry.
  const kInfo = readJson<RehearsalFile>(path.join(killed, "rehearsal.json"));
  const store = TranscriptStore.openReadOnly(path.join(killed, "transcript.sqlite"));
  const kKcv = (store.entries(kInfo.ceremonyId).find((e) => e.body.stepId === "backup")!.body.outputs.backup as { kcv: string }).kcv;
  store.close();
  secrets.push(...(await secretsOf(killed, "gen-killed", kKcv)));
}, 120_000);
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("no KEK or share at rest outside the share cards (Invariants 2, 3)", () => {
  it("scans the files the test is about: transcript with -wal and -shm, PDFs, JSON, SoftHSM token files", () => {
    const names = [...snapshot.keys()].map((f) => path.relative(work, f));
    for (const f of ["gen/transcript.sqlite", "gen/report.pdf", "gen/printed-report.pdf", "gen/bundle.json", "gen/backup.json", "rec/transcript.sqlite", "rec/report.pdf", "rec/bundle.json"]) {
      expect(names).toContain(f);
    }
    expect(names).toContain("gen-killed/transcript.sqlite-wal");
    expect(names).toContain("gen-killed/transcript.sqlite-shm");
    expect(names.filter((f) => /softhsm-tokens\/.+\.object$/.test(f)).length).toBeGreaterThanOrEqual(6);
    expect(names.filter((f) => /share-cards\/.+\.pdf$/.test(f))).toHaveLength(10);
    console.log(`scanned ${names.length} files:\n  ${names.sort().join("\n  ")}`);
  });

  it("the scanner finds each share where it is meant to be (own share text and own share card, through pdftotext)", () => {
    for (const s of secrets.filter((x) => x.home)) {
      for (const [sub, ext] of [["shares", ".txt"], ["share-cards", ".pdf"]] as const) {
        const file = path.join(s.home!, sub, s.file! + ext);
        const found = views(file, snapshot.get(file)!).flatMap((v) => hits(v, s).map((h) => `${v.how}: ${h}`));
        expect(found.some((h) => /six consecutive share words/.test(h)), `${s.what} words in ${file}`).toBe(true);
        expect(found.some((h) => /form [12]\b/.test(h)), `${s.what} hex in ${file}`).toBe(true);
      }
    }
  });

  it("finds no KEK and no share (raw, hex, HEX, base64, base64url, six words in a row) in any other file or in the processes' output", () => {
    const leaks: string[] = [];
    for (const [file, bytes] of snapshot) {
      const vs = views(file, bytes);
      for (const s of secrets) {
        const allowed = s.home !== undefined && path.dirname(path.dirname(file)) === s.home && path.basename(file).startsWith(s.file! + ".") && /\/(shares|share-cards)\//.test(file);
        if (allowed) continue;
        for (const v of vs) for (const h of hits(v, s)) leaks.push(`${s.what} in ${path.relative(work, file)} (${v.how}): ${h}`);
      }
    }
    for (const o of outputs) for (const s of secrets) for (const h of hits(view("text", Buffer.from(o.text)), s)) leaks.push(`${s.what} in the ${o.name}: ${h}`);
    expect(leaks).toEqual([]);
  });

  it("the transcript connection the app uses has PRAGMA secure_delete on, and every free page of the file is zeroed", () => {
    const db = path.join(gen, "transcript.sqlite");
    // A fresh read-only connection shows the library's default: secure_delete is a
    // per-connection setting, not stored in the file.
    const ro = new Database(db, { readonly: true });
    const fresh = Number(ro.pragma("secure_delete", { simple: true }));
    const freePages = Number(ro.pragma("freelist_count", { simple: true }));
    ro.close();
    // The app's own connection (TranscriptStore.open), on a copy so the evidence is untouched.
    const copy = path.join(work, "secure-delete-copy.sqlite");
    fs.copyFileSync(db, copy);
    const store = TranscriptStore.open(copy);
    const appConn = (store as unknown as { db: Database.Database }).db;
    const app = Number(appConn.pragma("secure_delete", { simple: true }));
    store.close();
    console.log(`PRAGMA secure_delete: ${fresh} on a fresh read-only connection (library default), ${app} on TranscriptStore.open's connection; freelist_count ${freePages}`);
    expect(app).toBe(1);
    // Walk the free-list in the file itself: with secure_delete every free leaf page is all zeros,
    // and a trunk page holds nothing past its list of page numbers.
    const img = snapshot.get(db)!;
    const pageSize = img.readUInt16BE(16) === 1 ? 65536 : img.readUInt16BE(16);
    expect(img.readUInt32BE(36)).toBe(freePages);
    let trunk = img.readUInt32BE(32);
    let seen = 0;
    const dirty: string[] = [];
    while (trunk) {
      const t = img.subarray((trunk - 1) * pageSize, trunk * pageSize);
      const leaves = t.readUInt32BE(4);
      seen += 1 + leaves;
      if (t.subarray(8 + 4 * leaves).some((b) => b !== 0)) dirty.push(`trunk page ${trunk}`);
      for (let i = 0; i < leaves; i++) {
        const leaf = t.readUInt32BE(8 + 4 * i);
        if (img.subarray((leaf - 1) * pageSize, leaf * pageSize).some((b) => b !== 0)) dirty.push(`leaf page ${leaf}`);
      }
      trunk = t.readUInt32BE(0);
    }
    expect(seen).toBe(freePages);
    expect(dirty, "free pages that still hold old bytes").toEqual([]);
  });

  it("the scan reaches compressed and WAL content: public values known to be there are found", () => {
    // The wrapped backup blob (public) is in the transcript, in the bundle attached to report.pdf
    // (Flate-compressed), and in the killed run's -wal: the same paths a leaked secret would take.
    const blob = Buffer.from(readJson<{ blob: string }>(path.join(gen, "backup.json")).blob);
    const found = (file: string) => views(file, snapshot.get(file)!).filter((v) => v.bytes.includes(blob)).map((v) => v.how);
    expect(found(path.join(gen, "transcript.sqlite"))).toContain("raw bytes");
    expect(found(path.join(gen, "report.pdf")).some((h) => h.startsWith("inflated stream"))).toBe(true);
    expect(found(path.join(gen, "report.pdf"))).not.toContain("raw bytes");
    const kInfo = readJson<RehearsalFile>(path.join(killed, "rehearsal.json"));
    expect(snapshot.get(path.join(killed, "transcript.sqlite-wal"))!.includes(Buffer.from(kInfo.ceremonyId))).toBe(true);
  });
});
