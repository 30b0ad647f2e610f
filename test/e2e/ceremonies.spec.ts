import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { rehearse } from "../../electron/core/rehearse/rehearse";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { verifyAnyFile } from "../../electron/core/source";
import { verdictOf } from "../helpers/verdict";
import { ROOT, openApp, screenshot } from "./harness";
import { Room, type Person } from "./room";

const pass = (name: string) => `${name.toLowerCase().replace(/ /g, "-")}-passphrase-2026`;
const person = (name: string, role: string): Person => ({ name, role, passphrase: pass(name) });

const custodians = ["Chiara Rossi", "Dmitri Volkov", "Esther Cohen", "Farid Haddad", "Grace Hopper"];
const generationRoom: Person[] = [
  person("Ada Lovelace", "ceremony-administrator"),
  person("Brian Kernighan", "security-officer"),
  person("Hiro Tanaka", "internal-witness"),
  ...custodians.map((c) => person(c, "custodian")),
];

test.describe.configure({ mode: "serial" });

const printed = path.join(os.tmpdir(), `custos-printed-${process.pid}.pdf`);
const fakeLp = path.join(os.tmpdir(), `custos-fake-lp-${process.pid}.sh`);
fs.writeFileSync(fakeLp, `#!/bin/sh\ncat > "${printed}"\necho "request id is fake-1"\n`, { mode: 0o755 });
process.env.CUSTOS_LP_COMMAND = fakeLp;

test("a generation ceremony with 5 custodians (threshold 3), then a recovery with 3 of them, clicked and typed as people would", async ({ page }) => {
  const { service, dataDir, dialogs, opened } = await openApp(page);
  try {
    // Home
    await expect(page.getByRole("heading", { name: "Custos" })).toBeVisible();
    await screenshot(page, "home");
    await page.getByLabel(/Root key generation/).check();
    await page.getByLabel(/REHEARSAL/).check();
    await page.getByLabel("Custodians (shares)").fill("5");
    await page.getByLabel("Threshold").fill("3");
    await page.getByRole("button", { name: "Start rehearsal" }).click();
    await expect(page.getByTestId("mode-badge")).toHaveText("REHEARSAL — not a production ceremony");

    const room = new Room(page, generationRoom);
    // The operator prints the first card (CUPS lp is replaced by a recorder) and saves it to a file chosen
    // in the Save dialog; saving into the app's own folder is refused.
    const chosen = path.join(os.tmpdir(), `custos-card-${process.pid}-${Date.now()}.pdf`);
    room.onFirstCard = async (prompt) => {
      await prompt.getByRole("button", { name: "Print this card" }).click();
      await expect(prompt.getByRole("status")).toContainText("Printed: request id is fake-1");
      dialogs.push(path.join(dataDir, "card.pdf"));
      await prompt.getByRole("button", { name: "Save card…" }).click();
      await expect(prompt.getByRole("alert")).toContainText("never stored in Custos's own folders");
      dialogs.push(chosen);
      await prompt.getByRole("button", { name: "Save card…" }).click();
      await expect(prompt.getByRole("status")).toContainText(`Saved as ${path.basename(chosen)}`);
      await screenshot(page, "share-card-printed-and-saved");
    };
    const steps: string[] = [];
    for (let i = 0; i < 16; i++) steps.push(await room.runStep());
    await expect(page.getByRole("heading", { name: "Ceremony complete" })).toBeVisible();
    expect(room.shares.size).toBe(5);
    for (const f of [chosen, printed]) {
      expect(fs.readFileSync(f).subarray(0, 5).toString()).toBe("%PDF-");
      expect(execFileSync("qpdf", ["--check", f], { encoding: "utf8" })).toMatch(/No syntax or stream encoding errors/);
    }
    fs.rmSync(chosen);
    await page.getByRole("button", { name: "Verify the transcript now" }).click();
    await expect(page.getByTestId("done-verdict")).toHaveText("Intact and complete: 17 entries, sealed.");
    await screenshot(page, "generation-complete");
    const genDir = (await page.getByTestId("artifacts-dir").textContent())!;
    for (const f of ["root-cert.pem", "root-public.pem", "backup.json", "bundle.json", "printed-report.pdf"]) expect(fs.existsSync(path.join(genDir, f)), f).toBe(true);
    await expect.poll(() => fs.existsSync(path.join(genDir, "report.pdf"))).toBe(true);
    // The Done screen: print the report, save a copy where the operator chooses, open the folder.
    fs.rmSync(printed, { force: true });
    await page.getByRole("button", { name: "Print report" }).click();
    await expect(page.getByRole("status")).toHaveText("Printed: request id is fake-1");
    expect(fs.readFileSync(printed)).toEqual(fs.readFileSync(path.join(genDir, "report.pdf")));
    const copy = path.join(os.tmpdir(), `custos-report-${process.pid}-${Date.now()}`);
    dialogs.push(copy);
    await page.getByRole("button", { name: "Save report…" }).click();
    await expect(page.getByRole("status")).toHaveText(`Saved as ${path.basename(copy)}.pdf`);
    expect(fs.readFileSync(`${copy}.pdf`)).toEqual(fs.readFileSync(path.join(genDir, "report.pdf")));
    fs.rmSync(`${copy}.pdf`);
    await page.getByRole("button", { name: "Open folder" }).click();
    await expect(page.getByRole("status")).toHaveText("Folder opened.");
    expect(opened).toEqual([genDir]);
    await screenshot(page, "generation-done-actions");
    // No share card or share text was written by the app.
    expect(fs.readdirSync(genDir).filter((f) => /share/i.test(f))).toEqual([]);

    // Recovery with custodians 1, 3 and 5.
    await page.getByRole("button", { name: "Back to the start" }).click();
    await page.getByLabel(/Root key recovery/).check();
    await page.getByLabel(/REHEARSAL/).check();
    await page.getByRole("button", { name: "Start rehearsal" }).click();
    const present = [custodians[0]!, custodians[2]!, custodians[4]!];
    const recoveryRoom = new Room(page, [
      person("Ines Moreau", "recovery-officer"),
      person("Jonas Berg", "security-officer"),
      person("Kemi Adeyemi", "internal-witness"),
      ...present.map((c) => ({ ...person(c, "custodian"), sourceName: c })),
    ]);
    for (const c of present) recoveryRoom.shares.set(c, room.shares.get(c)!);
    for (let i = 0; i < 12; i++) await recoveryRoom.runStep();
    await expect(page.getByRole("heading", { name: "Ceremony complete" })).toBeVisible();
    await page.getByRole("button", { name: "Verify the transcript now" }).click();
    await expect(page.getByTestId("done-verdict")).toHaveText("Intact and complete: 13 entries, sealed.");
    await screenshot(page, "recovery-complete");

    // The app's transcript verifies with the same verifier as `custos verify`.
    const db = path.join(dataDir, "transcript.sqlite");
    const v = await verdictOf(db);
    expect(v.complete).toBe(true);
    expect((await verifyAnyFile(db)).ceremonies).toHaveLength(2);

    // The UI path and the CLI path produce the same kinds of entries for the same script.
    const cliDir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-cli-"));
    await rehearse({ scriptPath: path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml"), outDir: path.join(cliDir, "r") });
    const kinds = (file: string, script: string) => {
      const s = TranscriptStore.openReadOnly(file);
      try {
        const c = s.listCeremonies().find((x) => x.scriptId === script)!;
        return s.entries(c.id).map((e) => `${e.body.stepId}:${e.body.action}:${Object.keys(e.body.outputs).sort().join(",")}`);
      } finally {
        s.close();
      }
    };
    const ui = kinds(db, "root-key-generation");
    const cli = kinds(path.join(cliDir, "r", "transcript.sqlite"), "root-key-generation");
    expect(ui).toEqual(cli);
    fs.rmSync(cliDir, { recursive: true, force: true });

    // The auditor's verify screen on the report PDF.
    await page.getByRole("button", { name: "Back to the start" }).click();
    await page.getByRole("button", { name: "Verify a transcript, bundle or report" }).click();
    dialogs.push(path.join(genDir, "report.pdf"));
    await page.getByRole("button", { name: "Choose a file…" }).click();
    await expect(page.getByTestId("chosen-file")).toHaveText("report.pdf");
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await expect(page.getByTestId("verdict")).toContainText("Intact");
    await expect(page.getByRole("table")).toContainText("seal-transcript");
    await screenshot(page, "verify-report");
  } finally {
    service.close();
  }
});

test("the renderer cannot reach Node or the network", async ({ page }) => {
  const { service } = await openApp(page);
  try {
    const r = await page.evaluate(async () => ({
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
      fetch: await fetch("https://example.com/").then(
        () => "reached",
        () => "blocked",
      ),
      keys: Object.keys((window as unknown as { custos: object }).custos),
    }));
    expect(r).toEqual({ require: "undefined", process: "undefined", fetch: "blocked", keys: ["invoke"] });
    // A forged payload is refused by the core's schema before any handler runs.
    const bad = await page.evaluate(() => (window as unknown as { custos: { invoke: (c: string, p: unknown) => Promise<unknown> } }).custos.invoke("ceremony:start", { script: "../../etc/passwd", mode: "rehearsal" }));
    expect(bad).toMatchObject({ ok: false, code: "IPC_INVALID_PAYLOAD" });
  } finally {
    service.close();
  }
});

test("leaving a ceremony and resuming it from the home screen continues at the first unfinished step", async ({ page }) => {
  const { service } = await openApp(page);
  try {
    await page.getByLabel(/Root key generation/).check();
    await page.getByRole("button", { name: "Start rehearsal" }).click();
    const room = new Room(page, generationRoom);
    await room.runStep();
    await room.runStep();
    await expect(page.getByTestId("step-counter")).toHaveText("Step 3 of 16");
    await page.getByRole("button", { name: "Leave (resume later)" }).click();
    await expect(page.getByRole("heading", { name: "Unfinished ceremonies" })).toBeVisible();
    await screenshot(page, "home-unfinished");
    await page.getByRole("button", { name: "Resume" }).click();
    await expect(page.getByTestId("step-counter")).toHaveText("Step 3 of 16");
    await expect(page.getByTestId("step-title")).toHaveText("Air-gap check");
    await expect(page.getByTestId("mode-badge")).toContainText("REHEARSAL");
    // The keys unlocked before leaving were dropped: the witness types the passphrase again to attest.
    await room.runStep();
    await expect(page.getByTestId("step-counter")).toHaveText("Step 4 of 16");
  } finally {
    service.close();
  }
});
