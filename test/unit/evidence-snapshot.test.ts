/**
 * A source transcript (recovery, re-split, destruction, signing) and the
 * custody register's inputs are verified and then read back; both come from
 * one private copy, so a file swapped between the two reads (an insider at
 * the keyboard with a script) cannot slip unverified content in.
 */
import { copyFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readForViewer, readVerifiedSource } from "../../electron/core/source";
import { CustosError } from "../../electron/core/errors";
import { withEvidenceSnapshot } from "../../electron/core/files/snapshot";
import { verifyFile } from "../../electron/core/transcript/verify/index";
import { tempDir } from "./transcript-fixture";

const GENUINE = join(__dirname, "../vectors/valid/rehearsal-generation.bundle.json");

/** The genuine bundle with the backup's KCV changed: it no longer verifies. */
function forged(): string {
  const text = readFileSync(GENUINE, "utf8");
  const kcv = /"kcv":"([0-9A-F]{6})"/.exec(text)![1]!;
  const other = kcv === "000000" ? "111111" : "000000";
  const out = text.replace(`"kcv":"${kcv}"`, `"kcv":"${other}"`);
  expect(out).not.toBe(text);
  return out;
}

// This process's private folders only (they are named after it): other runs may sweep dead processes' folders meanwhile.
const mine = (kind: string) => readdirSync(tmpdir()).filter((n) => n.startsWith(`custos-${kind}-${process.pid}-`)).length;
const snapshots = () => mine("snapshot");

describe("a source transcript is read back from the copy that was verified", () => {
  it("a file swapped right after its verification changes nothing: the verified content is used", async () => {
    const file = join(tempDir("custos-swap-test-"), "bundle.json");
    copyFileSync(GENUINE, file);
    const bad = forged();
    const before = snapshots();
    const src = await readVerifiedSource(file, undefined, "backup", { afterVerify: () => writeFileSync(file, bad) });
    expect(readFileSync(file, "utf8")).toBe(bad);
    const wrap = src.entries.find((e) => e.body.action === "wrap-and-split-backup")!;
    const genuine = JSON.parse(readFileSync(GENUINE, "utf8")).entries.find((e: { body: { action: string } }) => e.body.action === "wrap-and-split-backup");
    expect(wrap.body.outputs).toEqual(genuine.body.outputs);
    expect(snapshots()).toBe(before);
  });

  it("the swapped file itself is refused when it is the one verified", async () => {
    const file = join(tempDir("custos-swap-test-"), "bundle.json");
    writeFileSync(file, forged());
    await expect(readVerifiedSource(file)).rejects.toMatchObject({ code: "SOURCE_TAMPERED" });
  });

  it("messages name the file given, never the private copy", async () => {
    const file = join(tempDir("custos-swap-test-"), "notes.txt");
    writeFileSync(file, "not a transcript");
    const e = await readVerifiedSource(file).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CustosError);
    expect((e as CustosError).message).toContain(file);
    expect((e as CustosError).message).not.toMatch(/custos-snapshot-/);
  });

  it("a file that cannot be copied is refused, never read in place (no room for the copy here)", async () => {
    const file = join(tempDir("custos-swap-test-"), "bundle.json");
    copyFileSync(GENUINE, file);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = join(file, "no-such-folder");
    try {
      await expect(readVerifiedSource(file)).rejects.toMatchObject({ code: "EVIDENCE_UNREADABLE" });
      let used = false;
      await expect(withEvidenceSnapshot(file, () => (used = true))).rejects.toMatchObject({ code: "EVIDENCE_UNREADABLE" });
      expect(used).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it("the copy is private and removed afterwards, whatever happens", async () => {
    const file = join(tempDir("custos-swap-test-"), "bundle.json");
    copyFileSync(GENUINE, file);
    const before = snapshots();
    await expect(
      withEvidenceSnapshot(file, (copy) => {
        expect(copy).not.toBe(file);
        expect(readFileSync(copy)).toEqual(readFileSync(file));
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(snapshots()).toBe(before);
  });

  it("a -wal beside a transcript larger than 512 MiB (sparse: no disk used) is refused before any byte is copied", async () => {
    const dir = tempDir("custos-big-wal-");
    const file = join(dir, "transcript.sqlite");
    copyFileSync(join(__dirname, "../vectors/valid/two-ceremonies.sqlite"), file);
    writeFileSync(`${file}-wal`, "");
    truncateSync(`${file}-wal`, 513 * 1024 * 1024);
    const before = { snap: snapshots(), evidence: mine("evidence") };
    await expect(verifyFile(file)).rejects.toMatchObject({ message: expect.stringMatching(/-wal file is larger than 512 MiB/) });
    let used = false;
    await expect(withEvidenceSnapshot(file, () => (used = true))).rejects.toMatchObject({ code: "EVIDENCE_UNREADABLE", message: expect.stringMatching(/-wal file is larger than 512 MiB/) });
    expect(used).toBe(false);
    expect(snapshots()).toBe(before.snap);
    expect(mine("evidence")).toBe(before.evidence);
    expect(statSync(`${file}-wal`).size).toBe(513 * 1024 * 1024);
  });

  it("the transcript viewer's verdict and entries come from the same copy: a file swapped between the two changes neither", async () => {
    const file = join(tempDir("custos-swap-test-"), "bundle.json");
    copyFileSync(GENUINE, file);
    const bad = forged();
    const v = await readForViewer(file, undefined, { afterVerify: () => writeFileSync(file, bad) });
    expect(readFileSync(file, "utf8")).toBe(bad);
    expect(v.error).toBeUndefined();
    expect(v.verdict.ceremonies.map((c) => c.ok)).toEqual([true]);
    const genuine = JSON.parse(readFileSync(GENUINE, "utf8"));
    expect(v.source!.entries.map((e) => e.body)).toEqual(genuine.entries.map((e: { body: unknown }) => e.body));
    // The forged file itself: its verdict is NOT INTACT and no entries are offered as verified.
    const f = await readForViewer(file);
    expect(f.verdict.ceremonies.map((c) => c.ok)).toEqual([false]);
    expect(f.source).toBeUndefined();
    expect(f.error).toBe("Its entries are not shown: the ceremony is not intact (see the verdict).");
    // An intact ceremony that was never finished: its entries are shown, and the verdict says it is not complete.
    const inc = await readForViewer(join(__dirname, "../vectors/valid/incomplete.bundle.json"));
    expect(inc.verdict.ceremonies.map((c) => [c.ok, c.completeness])).toEqual([[true, "incomplete"]]);
    expect(inc.source!.entries.length).toBe(inc.verdict.ceremonies[0]!.entries);
  });
});
