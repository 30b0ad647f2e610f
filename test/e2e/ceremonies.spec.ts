import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { findPkcs11Module } from "../../electron/core/hsm";
import { verifyAnyFile } from "../../electron/core/source";
import { verdictOf } from "../helpers/verdict";
import { axe, openApp, screenshot, surfaceShot } from "./harness";
import { Room, Watch, type Person } from "./room";

const pass = (name: string) => `${name.toLowerCase().replace(/ /g, "-")}-passphrase-2026`;
const person = (name: string, role: string, title?: string): Person => ({ name, role, passphrase: pass(name), ...(title ? { title } : {}) });

const custodians = ["Chiara Rossi", "Dmitri Volkov", "Esther Kaur", "Farid Haddad", "Grace Hopper"];
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

/** Shared by the serial tests: the generation's data folder, its shares, and every share handed out. */
let dataDir = "";
let genDir = "";
const genShares = new Map<string, string[]>();
let watchAll: Watch["handed"] = [];

type Entry = { body: { seq: number; action: string; inputs: Record<string, unknown> }; signatures: Array<{ signer: string }> };
const bundleEntries = (dir: string): Entry[] => (JSON.parse(fs.readFileSync(path.join(dir, "bundle.json"), "utf8")) as { entries: Entry[] }).entries;
const deviationKinds = (entries: Entry[]) => entries.filter((e) => e.body.action === "deviation").map((e) => String(e.body.inputs.kind));

test("a generation ceremony with the keyboard alone: the room display never shows a share; a wrong PIN, a wrongly copied card, an exception during a question and leaving mid hand-out are all on the record", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  const app = await openApp(page);
  dataDir = app.dataDir;
  const roomPage = await app.openRoom();
  try {
    const watch = new Watch(roomPage);
    await expect(page.getByRole("heading", { name: "Custos" })).toBeVisible();
    await expect(roomPage.getByTestId("room-idle")).toBeVisible();
    const room = new Room(page, generationRoom, watch);
    room.keyboard = true;
    room.coreState = async () => (await app.service.invoke("session:state", {})).result;
    await room.observe("home");
    // The quorum comes from the script (3 of 5).
    await room.check(page.getByRole("radio", { name: /Root key generation/ }));
    await expect(page.getByLabel("Custodians (shares)")).toHaveValue("5");
    await expect(page.getByLabel("Threshold")).toHaveValue("3");
    await room.click(page.getByRole("button", { name: "Start rehearsal" }));
    await expect(page.getByTestId("mode-badge")).toHaveText("REHEARSAL — not a production ceremony");
    await expect(roomPage.getByTestId("mode-badge")).toHaveText("REHEARSAL — not a production ceremony");
    // The script's SHA-256 is on the room display at the opening, as hex and words.
    await expect(roomPage.getByTestId("facts")).toContainText("Script SHA-256");

    room.deviations = { wrongPin: true, miscopy: true, exceptionAt: "checklist", leaveAtShare: 2 };
    const chosen = path.join(os.tmpdir(), `custos-card-${process.pid}-${Date.now()}.pdf`);
    room.onFirstCard = async (prompt) => {
      // Printed straight to the printer, and saved to a medium: the words are not shown for either.
      await room.check(prompt.getByRole("radio", { name: /Print on the local printer/ }));
      await room.click(prompt.getByRole("button", { name: "Print this card" }));
      await expect(prompt.getByRole("status")).toContainText("Printed: request id is fake-1");
      await expect(prompt.getByTestId("share-words")).toHaveCount(0);
      await room.check(prompt.getByRole("radio", { name: /Save to the custodian's medium/ }));
      app.dialogs.push(path.join(dataDir, "card.pdf"));
      await room.click(prompt.getByRole("button", { name: "Save card…" }));
      await expect(prompt.getByRole("alert")).toContainText("never stored in Custos's own folders");
      app.dialogs.push(chosen);
      await room.click(prompt.getByRole("button", { name: "Save card…" }));
      await expect(prompt.getByRole("status")).toContainText(`Saved as ${path.basename(chosen)}`);
      await room.observe("share-card-printed-and-saved");
    };
    await room.runToEnd();
    await expect(page.getByRole("heading", { name: "Ceremony complete" })).toBeVisible();
    await expect(roomPage.getByRole("heading", { name: "Ceremony complete" })).toBeVisible();
    expect(room.shares.size).toBe(5);
    for (const f of [chosen, printed]) {
      expect(fs.readFileSync(f).subarray(0, 5).toString()).toBe("%PDF-");
      expect(execFileSync("qpdf", ["--check", f], { encoding: "utf8" })).toMatch(/No syntax or stream encoding errors/);
    }
    fs.rmSync(chosen);
    // Attestation people can see: the seal's entry and its signers; the root key's fingerprint and the certificate hash.
    await expect(roomPage.getByTestId("recorded")).toContainText(/Recorded as entry \d+, signed by .*Ada Lovelace \(Ceremony administrator\).*the root key/);
    await expect(roomPage.getByTestId("facts")).toContainText("Root key fingerprint");
    await expect(roomPage.getByTestId("facts")).toContainText("Certificate SHA-256");
    await room.observe("generation-complete");
    await room.click(page.getByRole("button", { name: "Verify the transcript now" }));
    await expect(page.getByTestId("done-verdict")).toHaveText(/^Intact and complete: \d+ entries, sealed\.$/);
    genDir = (await page.getByTestId("artifacts-dir").textContent())!;
    for (const f of ["root-cert.pem", "root-public.pem", "backup.json", "bundle.json", "printed-report.pdf"]) expect(fs.existsSync(path.join(genDir, f)), f).toBe(true);
    await expect.poll(() => fs.existsSync(path.join(genDir, "report.pdf"))).toBe(true);
    expect(fs.readdirSync(genDir).filter((f) => /share/i.test(f))).toEqual([]);

    // Every deviation is an entry of the bundle, which `custos verify` accepts as intact and complete.
    const entries = bundleEntries(genDir);
    const kinds = deviationKinds(entries);
    for (const k of ["wrong-pin", "share-check-failed", "card-void", "card-reissued", "left", "resumed"]) expect(kinds, k).toContain(k);
    const exc = entries.filter((e) => e.body.action === "exception");
    expect(exc).toHaveLength(1);
    expect(exc[0]!.signatures.map((s) => s.signer)).toHaveLength(1);
    const left = entries.find((e) => e.body.inputs.kind === "left")!;
    // Out when the room left during share 2's hand-out: share 1's re-issued card (card 1 was already void
    // after the miscopy) and share 2's card, which was on the private view (it may have been seen).
    expect(left.body.inputs.voidCards).toEqual([
      { share: 1, custodianName: "Chiara Rossi", card: 2 },
      { share: 2, custodianName: "Dmitri Volkov", card: 1 },
    ]);
    expect(JSON.stringify(entries.filter((e) => e.body.inputs.kind === "wrong-pin"))).not.toContain("99999999");
    const v = await verdictOf(path.join(genDir, "bundle.json"));
    expect(v.complete).toBe(true);
    for (const [k, w] of room.shares) genShares.set(k, w);
    watchAll = watch.handed;
    watch.write();
    expect(watch.checks).toBeGreaterThan(40);
  } finally {
    app.service.close();
  }
});

test("a recovery with 3 of the custodians (one share typed wrongly first), then a re-split to new custodians: the room display never shows a share", async ({ page }) => {
  test.skip(!genDir, "needs the generation");
  await page.setViewportSize({ width: 1280, height: 720 });
  const app = await openApp(page, dataDir);
  const roomPage = await app.openRoom();
  try {
    const watch = new Watch(roomPage);
    watch.handed.push(...watchAll);
    await page.getByRole("button", { name: "Back to the start" }).or(page.getByRole("heading", { name: "Custos" })).first().waitFor();
    await page.getByRole("radio", { name: /Root key recovery/ }).check();
    await page.getByRole("button", { name: "Start rehearsal" }).click();
    const present = [custodians[0]!, custodians[2]!, custodians[4]!];
    const recovery = new Room(
      page,
      [person("Ines Moreau", "recovery-officer"), person("Jonas Berg", "security-officer"), person("Kemi Adeyemi", "internal-witness"), ...present.map((c) => ({ ...person(c, "custodian"), sourceName: c }))],
      watch,
    );
    for (const c of present) recovery.shares.set(c, genShares.get(c)!);
    recovery.deviations = { miscopy: true };
    await recovery.runToEnd();
    await expect(page.getByRole("heading", { name: "Ceremony complete" })).toBeVisible();
    const recDir = (await page.getByTestId("artifacts-dir").textContent())!;
    await expect.poll(() => fs.existsSync(path.join(recDir, "bundle.json"))).toBe(true);
    expect(deviationKinds(bundleEntries(recDir))).toContain("share-entry-failed");
    await recovery.observe("recovery-complete");

    // Re-split: three current custodians bring their cards, three new custodians get new ones (2 of 3).
    await page.getByRole("button", { name: "Back to the start" }).click();
    await page.getByRole("radio", { name: /Share re-split/ }).check();
    await page.getByLabel("Custodians (shares)").fill("3");
    await page.getByLabel("Threshold").fill("2");
    await page.getByRole("button", { name: "Start rehearsal" }).click();
    const fresh = ["Lena Fischer", "Mateo Garcia", "Nora Lindqvist"];
    const resplit = new Room(
      page,
      [
        person("Ada Lovelace", "ceremony-administrator"),
        person("Brian Kernighan", "security-officer"),
        person("Hiro Tanaka", "internal-witness"),
        ...present.map((c) => ({ ...person(c, "custodian", "Current custodian"), sourceName: c })),
        ...fresh.map((c) => person(c, "new-custodian")),
      ],
      watch,
    );
    for (const c of present) resplit.shares.set(c, genShares.get(c)!);
    await resplit.runToEnd();
    await expect(page.getByRole("heading", { name: "Ceremony complete" })).toBeVisible();
    await resplit.observe("resplit-complete");
    for (const c of fresh) expect(resplit.shares.get(c)).toHaveLength(32);
    watch.write();

    const db = path.join(dataDir, "transcript.sqlite");
    expect((await verifyAnyFile(db)).ceremonies.length).toBeGreaterThanOrEqual(3);
    expect((await verdictOf(path.join((await page.getByTestId("artifacts-dir").textContent())!, "bundle.json"))).complete).toBe(true);

    // The auditor's verify screen on the generation's report PDF.
    await page.getByRole("button", { name: "Back to the start" }).click();
    await page.getByRole("button", { name: "Verify a transcript, bundle or report" }).click();
    app.dialogs.push(path.join(genDir, "report.pdf"));
    await page.getByRole("button", { name: "Choose a file…" }).click();
    await expect(page.getByTestId("chosen-file")).toHaveText("report.pdf");
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await expect(page.getByTestId("verdict")).toContainText("Intact");
    await screenshot(page, "verify-report");
    await axe(page, "private", "verify-report");
  } finally {
    app.service.close();
  }
});

test("PRODUCTION needs a typed confirmation and warns about SoftHSM; a signed abort closes a ceremony with its reason", async ({ page }) => {
  process.env.CUSTOS_PKCS11_MODULE = findPkcs11Module();
  const app = await openApp(page);
  const roomPage = await app.openRoom();
  try {
    await page.getByRole("radio", { name: /Root key generation/ }).check();
    await page.getByRole("radio", { name: /PRODUCTION/ }).check();
    await expect(page.getByRole("alert")).toContainText("The production module is SoftHSM");
    const start = page.getByRole("button", { name: "Start PRODUCTION ceremony" });
    await expect(start).toBeDisabled();
    await page.getByLabel(/Type PRODUCTION/).fill("production");
    await expect(start).toBeDisabled();
    await surfaceShot(page, "private", "home-production-confirm");
    await axe(page, "private", "home-production-confirm");
    await page.getByRole("radio", { name: /REHEARSAL/ }).check();
    await page.getByRole("button", { name: "Start rehearsal" }).click();
    const room = new Room(page, generationRoom, new Watch(roomPage));
    await room.runStep();
    await room.runStep();
    await page.getByRole("button", { name: "Abort the ceremony…" }).click();
    const form = page.locator("form.abort");
    await form.getByLabel("Reason").fill("The HSM's tamper-evident bag serial does not match the record.");
    await form.getByLabel("Passphrase of the ceremony administrator").fill(pass("Ada Lovelace"));
    await form.getByLabel("Passphrase of the internal witness").fill("a wrong passphrase here");
    await form.getByRole("button", { name: "Sign and abort the ceremony" }).click();
    await expect(form.getByRole("alert")).toContainText("not Hiro Tanaka's enrolled passphrase");
    await expect(form.getByLabel("Reason")).toHaveValue("The HSM's tamper-evident bag serial does not match the record.");
    await room.observe("abort-form");
    await form.getByLabel("Passphrase of the ceremony administrator").fill(pass("Ada Lovelace"));
    await form.getByLabel("Passphrase of the internal witness").fill(pass("Hiro Tanaka"));
    await form.getByRole("button", { name: "Sign and abort the ceremony" }).click();
    await expect(page.getByRole("heading", { name: "Ceremony aborted" })).toBeVisible();
    await expect(roomPage.getByRole("heading", { name: "Ceremony aborted" })).toBeVisible();
    await expect(roomPage.getByTestId("recorded")).toContainText("signed by Ada Lovelace (Ceremony administrator), Hiro Tanaka (Internal witness)");
    await room.observe("aborted");
    const dir = (await page.getByTestId("artifacts-dir").textContent())!;
    await expect.poll(() => fs.existsSync(path.join(dir, "bundle.json"))).toBe(true);
    const abort = bundleEntries(dir).filter((e) => e.body.action === "abort");
    expect(abort).toHaveLength(1);
    expect(abort[0]!.body.inputs.reason).toBe("The HSM's tamper-evident bag serial does not match the record.");
    expect(abort[0]!.signatures).toHaveLength(2);
    const v = await verdictOf(path.join(dir, "bundle.json"));
    expect(v.status).toBe(4);
  } finally {
    delete process.env.CUSTOS_PKCS11_MODULE;
    app.service.close();
  }
});

test("the renderer cannot reach Node or the network, and the room display cannot act", async ({ page }) => {
  const app = await openApp(page);
  const roomPage = await app.openRoom();
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
    // The room display's window reads only: it cannot start, answer or ask for the private state.
    const fromRoom = await roomPage.evaluate(() => (window as unknown as { custos: { invoke: (c: string, p: unknown) => Promise<unknown> } }).custos.invoke("ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal" }));
    expect(fromRoom).toMatchObject({ ok: false, code: "IPC_ROOM_READ_ONLY" });
  } finally {
    app.service.close();
  }
});
