/**
 * Issue 16, the custody register: one rehearsal sequence on real SoftHSM2
 * tokens — generation → health check → re-split → health check → recovery,
 * each driven by `custos rehearse … --from DIR` as the README documents —
 * and `custos custody` over it. The register's facts are checked against
 * each transcript (holders, check dates, bag serials, the quorum); a missing
 * transcript and a tampered one are each named, with exit status 1; the PDF
 * is checked with qpdf, pdftotext and pdftoppm.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRegister } from "../../electron/core/custody";
import type { Bundle } from "../../electron/core/transcript/types";
import { CLI, ROOT, tool } from "../helpers/files";

const script = (n: string) => path.join(ROOT, "ceremony-scripts", `${n}.yaml`);
let dir: string;
const d = (n: string) => path.join(dir, n);
const bundle = (n: string): Bundle => JSON.parse(fs.readFileSync(path.join(d(n), "bundle.json"), "utf8"));
const entry = (n: string, action: string) => bundle(n).entries.find((e) => e.body.action === action)!.body;
const step = (n: string, stepId: string) => bundle(n).entries.find((e) => e.body.stepId === stepId && e.body.action === "checklist")!.body;
const SEQ = ["g", "h1", "r", "h2", "rec"];

/** The real custos command, run without blocking the test worker (a rehearsal takes tens of seconds). */
function custos(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

async function run(args: string[]) {
  const r = await custos(args);
  if (r.status !== 0) throw new Error(`custos ${args.join(" ")} exited ${r.status}: ${r.stderr}${r.stdout}`);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-custody-"));
  await run(["rehearse", script("root-key-generation"), "--out", d("g"), "--custodians", "3", "--threshold", "2"]);
  await run(["rehearse", script("share-health-check"), "--from", d("g"), "--out", d("h1")]);
  await run(["rehearse", script("share-resplit"), "--from", d("g"), "--out", d("r"), "--custodians", "3", "--threshold", "2"]);
  await run(["rehearse", script("share-health-check"), "--from", d("r"), "--out", d("h2")]);
  await run(["rehearse", script("root-key-recovery"), "--from", d("r"), "--out", d("rec")]);
}, 600_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("custody register over generation → health check → re-split → health check → recovery", () => {
  it("states what each transcript says: the root, the links, each share's holder and last check, each bag's life, the quorum", async () => {
    const reg = await buildRegister(SEQ.map(d), { asOf: "2027-01-01" });
    expect(reg.findings).toEqual([]);
    expect(reg.status).toBe(0);
    expect(reg.mode).toBe("rehearsal");
    const ids = Object.fromEntries(SEQ.map((n) => [n, bundle(n).ceremony.id]));
    // The root: the generation's key.
    const rootKey = entry("g", "generate-key-pair").outputs["rootKey"] as { fingerprint: string };
    expect(reg.root).toMatchObject({ fingerprint: rootKey.fingerprint, generated: { ceremonyId: ids["g"] } });
    // The key's life, in order, each ceremony linked to the head its source had.
    expect(reg.ceremonies.map((c) => [c.ceremonyId, c.kind])).toEqual([
      [ids["g"], "generation"],
      [ids["h1"], "health-check"],
      [ids["r"], "re-split"],
      [ids["h2"], "health-check"],
      [ids["rec"], "recovery"],
    ]);
    for (const n of ["h1", "r", "h2", "rec"]) {
      const c = reg.ceremonies.find((x) => x.ceremonyId === ids[n])!;
      const src = entry(n, "load-source-ceremony").outputs["source"] as { ceremonyId: string; head: string };
      expect(c.link?.state).toBe("linked");
      expect(c.source).toEqual({ ceremonyId: src.ceremonyId, head: src.head });
      expect(bundle(n === "h1" || n === "r" ? "g" : "r").head).toBe(src.head);
    }
    // Backups: the quorum and who holds which share, as each transcript recorded them.
    for (const [n, current] of [["g", false], ["r", true]] as const) {
      const backup = entry(n, n === "g" ? "wrap-and-split-backup" : "resplit-backup").outputs;
      const b = backup["backup"] as { threshold: number; total: number; kcv: string };
      const enrolled = entry(n, "enrol-participants").outputs["participants"] as Array<{ id: string; name: string }>;
      const set = reg.backups.find((x) => x.ceremonyId === ids[n])!;
      expect(set).toMatchObject({ threshold: b.threshold, total: b.total, kcv: b.kcv, current });
      const shares = reg.shares.filter((s) => s.setId === ids[n]);
      expect(shares.map((s) => [s.index, s.holder])).toEqual(
        (backup["shares"] as Array<{ index: number; custodian: string }>).map((s) => [s.index, enrolled.find((p) => p.id === s.custodian)!.name]),
      );
    }
    expect(reg.backups.find((x) => x.ceremonyId === ids["g"])!.revoked?.ceremonyId).toBe(ids["r"]);
    // Last checks: the health check's verdict and time, or the later use of the card.
    const check = (n: string) => entry(n, "check-shares");
    const usedInResplit = entry("r", "resplit-backup").inputs["oldSharesUsed"] as number[];
    const usedInRecovery = ((entry("rec", "collect-shares-and-restore").outputs["restore"] as { shares: Array<{ index: number }> }).shares).map((s) => s.index);
    for (const s of reg.shares) {
      const [used, hc, later] = s.setId === ids["g"] ? [usedInResplit, check("h1"), entry("r", "resplit-backup")] : [usedInRecovery, check("h2"), entry("rec", "collect-shares-and-restore")];
      const expected = used.includes(s.index) ? { at: later.timestamp, verdict: "used" } : { at: hc.timestamp, verdict: "valid" };
      expect(s.lastCheck, `share ${s.index} of ${s.setId}`).toMatchObject(expected);
    }
    const hc2 = check("h2").outputs["healthCheck"] as { quorumAvailable: boolean; valid: number; threshold: number };
    expect(reg.ceremonies.find((c) => c.ceremonyId === ids["h2"])!.healthCheck).toMatchObject({ quorumAvailable: hc2.quorumAvailable, valid: hc2.valid, threshold: hc2.threshold });
    // Bags: sealed at the generation, shown and opened at the health check, new bags sealed there, opened when the card was used.
    const sealedG = step("g", "bags-out").inputs["share-bag-serials"] as string[];
    const seenH1 = step("h1", "bags-seen").inputs["share-bag-serials"] as string[];
    const newH1 = step("h1", "bags-resealed").inputs["new-share-bag-serials"] as string[];
    expect(seenH1).toEqual(sealedG);
    sealedG.forEach((serial, i) => {
      const bag = reg.bags.find((b) => b.serial === serial)!;
      expect(bag).toMatchObject({ holds: "share-card", share: { setId: ids["g"], index: i + 1 }, sealed: { ceremonyId: ids["g"] }, opened: { ceremonyId: ids["h1"] } });
      expect(bag.opened?.inferred).toBeUndefined();
    });
    newH1.forEach((serial, i) => {
      const bag = reg.bags.find((b) => b.serial === serial)!;
      expect(bag.sealed?.ceremonyId).toBe(ids["h1"]);
      expect(bag.opened?.ceremonyId).toBe(usedInResplit.includes(i + 1) ? ids["r"] : undefined);
      expect(reg.shares.find((s) => s.setId === ids["g"] && s.index === i + 1)!.bag).toBe(serial);
    });
    const hsmBag = step("g", "closing").inputs["hsm-return-bag-serial"] as string;
    expect(reg.bags.find((b) => b.serial === hsmBag)).toMatchObject({ holds: "hsm", sealed: { ceremonyId: ids["g"] } });

    // A year and a half later, every share of the current backup is overdue; the revoked ones are not.
    const late = await buildRegister(SEQ.map(d), { asOf: "2028-06-30", checkIntervalMonths: 12 });
    expect(late.status).toBe(3);
    expect(late.findings.map((f) => [f.code, f.ceremonyId])).toEqual([1, 2, 3].map(() => ["OVERDUE", ids["r"]]));
  });

  it("custos custody prints the register, writes the PDF, and exits 0; the PDF passes qpdf and shows the facts", async () => {
    const pdf = d("register.pdf");
    const r = await custos(["custody", ...SEQ.map(d), "--out", pdf, "--as-of", "2027-01-01"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("findings: none");
    expect(r.stdout).toContain("register: intact and linked (exit 0)");
    tool("qpdf", ["--check", pdf]);
    const text = tool("pdftotext", ["-layout", pdf, "-"]);
    const flat = text.replace(/\s+/g, " ");
    const rootKey = entry("g", "generate-key-pair").outputs["rootKey"] as { fingerprint: string };
    expect(flat).toContain(rootKey.fingerprint);
    for (const n of SEQ) expect(flat).toContain(bundle(n).ceremony.id);
    for (const p of entry("r", "enrol-participants").outputs["participants"] as Array<{ name: string; roles: string[] }>) if (p.roles.includes("new-custodian")) expect(flat).toContain(p.name);
    for (const serial of step("h2", "bags-resealed").inputs["new-share-bag-serials"] as string[]) expect(flat).toContain(serial);
    expect(flat).toContain("Every transcript is intact and every link between them holds.");
    tool("pdftoppm", ["-png", "-r", "60", "-f", "1", "-l", "2", pdf, d("register-page")]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("register-page")).length).toBe(2);
  });

  it("names a missing transcript: the ceremonies made from it say so, and the status is 1", async () => {
    // The register itself (the CLI's exit status is checked on the tampered set below: one CLI run fewer).
    const reg = await buildRegister([d("g"), d("h1"), d("h2"), d("rec")], { asOf: "2027-01-01" });
    expect(reg.status).toBe(1);
    const rid = bundle("r").ceremony.id;
    expect(reg.findings.filter((f) => f.severity === "broken").map((f) => [f.code, f.ceremonyId, f.text])).toEqual(
      ["h2", "rec"].map((n) => ["MISSING_SOURCE", bundle(n).ceremony.id, `Ceremony ${bundle(n).ceremony.id} was made from ${rid} (head ${bundle("r").head.slice(0, 16)}…), which is NOT in the set: a transcript is missing.`]),
    );
  });

  it("names a tampered transcript (exit status 1), and the links to a tampered source", async () => {
    // One character of a recorded bag serial changed in the health check's bundle: same length, still canonical JSON.
    const original = fs.readFileSync(path.join(d("h1"), "bundle.json"), "utf8");
    const serial = (step("h1", "bags-resealed").inputs["new-share-bag-serials"] as string[])[0]!;
    const forged = serial.slice(0, -1) + (serial.endsWith("1") ? "2" : "1");
    const tampered = path.join(dir, "tampered-h1.bundle.json");
    fs.writeFileSync(tampered, original.replace(serial, forged));
    const r = await custos(["custody", d("g"), tampered, d("r"), d("h2"), d("rec")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`BROKEN NOT_INTACT: ${tampered} (ceremony ${bundle("h1").ceremony.id}) is NOT INTACT: BODY_HASH_MISMATCH`);
    expect(r.stdout).toContain("register: NOT INTACT or BROKEN LINK (exit 1)");
    // Its facts are not used: the forged serial appears nowhere else in the register.
    expect(r.stdout.split("\n").filter((l) => l.includes(forged))).toEqual([]);

    // A tampered generation: every ceremony made from it names the broken link.
    const bad = path.join(dir, "tampered-g.bundle.json");
    const g = fs.readFileSync(path.join(d("g"), "bundle.json"), "utf8");
    const name = (entry("g", "enrol-participants").outputs["participants"] as Array<{ name: string }>)[0]!.name;
    fs.writeFileSync(bad, g.replace(name, name.replace(/.$/, (c) => (c === "x" ? "y" : "x"))));
    const r2 = await buildRegister([bad, d("h1"), d("r"), d("h2"), d("rec")], { asOf: "2027-01-01" });
    expect(r2.status).toBe(1);
    expect(r2.findings.find((f) => f.code === "NOT_INTACT")?.text).toContain(`${bad} (ceremony ${bundle("g").ceremony.id}) is NOT INTACT: BODY_HASH_MISMATCH`);
    for (const n of ["h1", "r"]) {
      expect(r2.findings.map((f) => f.text)).toContain(`Ceremony ${bundle(n).ceremony.id} was made from ${bundle("g").ceremony.id} (head ${bundle("g").head.slice(0, 16)}…), whose transcript in the set (${bad}) is not intact.`);
    }
  });

  it("an input that is not a transcript is unreadable: exit 2, named", async () => {
    const junk = path.join(dir, "junk");
    fs.mkdirSync(junk, { recursive: true });
    fs.writeFileSync(path.join(junk, "bundle.json"), "not a transcript\u001b[2J");
    const r = await custos(["custody", junk]);
    expect(r.status).toBe(2);
    expect(r.stdout).toContain(`BROKEN UNREADABLE: ${path.join(junk, "bundle.json")} cannot be read as a transcript`);
    expect(r.stdout).not.toContain("\u001b");
  });
});
