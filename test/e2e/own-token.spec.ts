// Issue 16 item 3 on screen: the administrator enrols with a key on her own token (a SoftHSM2
// token made here stands in for her smart card, read through a copy of libsofthsm2.so as
// CUSTOS_PERSONAL_PKCS11_MODULE: see the README), signs her steps with its PIN up to the root
// key's generation, then signs the abort with it too (a wrong PIN first); the transcript
// records her token and verifies as aborted. The whole ceremony with token signers runs
// through the app service in test/integration/app-token-attestation.test.ts.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { findPkcs11Module } from "../../electron/core/hsm";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { verdictOf } from "../helpers/verdict";
import { openApp, surfaceShot } from "./harness";
import { Room, Watch, type Person } from "./room";

const PIN = "Ada-card-PIN-2026";
const reasonRecorded = "The root key was generated on the wrong token; the ceremony is closed and run again.";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "custos-e2e-own-token-"));

function adaCard(): string {
  fs.mkdirSync(path.join(work, "tokens"));
  const conf = path.join(work, "softhsm2.conf");
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(work, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const module = path.join(work, "libsofthsm2-personal.so");
  fs.copyFileSync(findPkcs11Module(), module);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", "ada-card", "--so-pin", "87654321", "--pin", PIN], { env });
  execFileSync("pkcs11-tool", ["--module", module, "--token-label", "ada-card", "--login", "--pin", PIN, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "attest", "--id", "a1"], { env, stdio: "pipe" });
  const list = execFileSync("pkcs11-tool", ["--module", module, "-L"], { env, encoding: "utf8" });
  process.env.CUSTOS_PERSONAL_PKCS11_MODULE = module;
  process.env.CUSTOS_PERSONAL_SOFTHSM2_CONF = conf;
  return /serial num\s*:\s*(\S+)/.exec(list.split(/\n(?=Slot \d+)/).find((b) => /token label\s*:\s*ada-card\b/.test(b))!)![1]!;
}

test.afterAll(() => {
  delete process.env.CUSTOS_PERSONAL_PKCS11_MODULE;
  delete process.env.CUSTOS_PERSONAL_SOFTHSM2_CONF;
  fs.rmSync(work, { recursive: true, force: true });
});

test("a participant enrols with a key on her own token and signs steps and the abort with its PIN; the transcript records the token and verifies", async ({ page }) => {
  const serial = adaCard();
  const pass = (n: string) => `${n.toLowerCase().replace(/ /g, "-")}-passphrase-2026`;
  const people: Person[] = [
    { name: "Ada Lovelace", role: "ceremony-administrator", passphrase: pass("Ada Lovelace"), token: { serial, keyLabel: "attest", pin: PIN } },
    { name: "Brian Kernighan", role: "security-officer", passphrase: pass("Brian Kernighan") },
    { name: "Hiro Tanaka", role: "internal-witness", passphrase: pass("Hiro Tanaka") },
    ...["Chiara Rossi", "Dmitri Volkov", "Esther Kaur"].map((n) => ({ name: n, role: "custodian", passphrase: pass(n) })),
  ];
  // No attestation window: every signature asks again, so Ada types her token's PIN at the later steps.
  const app = await openApp(page, undefined, undefined, { attestWindowMs: 0 });
  const roomPage = await app.openRoom();
  try {
    const room = new Room(page, people, new Watch(roomPage));
    room.coreState = async () => (await app.service.invoke("session:state", {})).result;
    await room.check(page.getByRole("radio", { name: /Root key generation/ }));
    await page.getByLabel("Custodians (shares)").fill("3");
    await page.getByLabel("Threshold").fill("2");
    await room.click(page.getByRole("button", { name: "Start rehearsal" }));
    const ran: string[] = [];
    while (!ran.includes("Root key generation")) {
      ran.push(await room.runStep());
      if (ran.length > 12) throw new Error(`no root key generation among ${ran.join(", ")}`);
    }
    // The abort is signed by the administrator (with her token's PIN) and the witness (passphrase).
    await room.click(page.getByRole("button", { name: "Abort the ceremony…" }));
    const form = page.locator("form.abort");
    const reason = reasonRecorded;
    await room.fill(form.getByLabel("Reason"), reason);
    const adaPin = form.getByLabel(`PIN of Ada Lovelace\u2019s own token (serial ${serial}, signs the abort)`);
    await room.fill(adaPin, "not-her-PIN");
    await room.fill(form.getByLabel("Passphrase of the internal witness (signs the abort)"), pass("Hiro Tanaka"));
    await room.click(form.getByRole("button", { name: "Sign and abort the ceremony" }));
    await expect(form.getByRole("alert")).toContainText(`The PIN was not accepted by Ada Lovelace's own token (serial ${serial})`);
    await expect(form.getByLabel("Reason")).toHaveValue(reason);
    await surfaceShot(page, "private", "abort-form-own-token");
    await room.fill(adaPin, PIN);
    await room.fill(form.getByLabel("Passphrase of the internal witness (signs the abort)"), pass("Hiro Tanaka"));
    await room.click(form.getByRole("button", { name: "Sign and abort the ceremony" }));
    await expect(page.getByRole("heading", { name: "Ceremony aborted" })).toBeVisible();
    await surfaceShot(page, "private", "own-token-aborted");
  } finally {
    await roomPage.close();
  }
  const db = path.join(app.dataDir, "transcript.sqlite");
  // Intact and closed by a signed abort (§7.6 exit 4).
  expect((await verdictOf(db)).status).toBe(4);
  const store = TranscriptStore.openReadOnly(db);
  try {
    const id = store.listCeremonies()[0]!.id;
    const entries = store.entries(id);
    const enrolled = entries.find((e) => e.body.action === "enrol-participants")!.body.outputs.participants as Array<{ id: string; name: string; token?: { serial: string } }>;
    const ada = enrolled.find((p) => p.name === "Ada Lovelace")!;
    expect(ada.token?.serial).toBe(serial);
    expect(entries.flatMap((e) => e.signatures).filter((s) => s.signer === ada.id && s.algorithm === "ECDSA-SHA256").length).toBeGreaterThan(2);
    const abort = entries.find((e) => e.body.action === "abort")!;
    expect(abort.body.inputs.reason).toBe(reasonRecorded);
    expect(abort.signatures.find((s) => s.signer === ada.id)?.algorithm).toBe("ECDSA-SHA256");
  } finally {
    store.close();
  }
});
