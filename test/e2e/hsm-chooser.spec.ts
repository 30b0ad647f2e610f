import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { provisionedSoftHsmToken } from "../helpers/softhsm-token";
import { SCREENS, axe, openApp } from "./harness";

// Issue 12 item 6: the administrator chooses the production HSM on the home screen, checks it with the
// preflight of `custos hsm-check`, and Custos remembers only a module found fit. Real core, real SoftHSM2
// token made by softhsm2-util in a temporary SOFTHSM2_CONF, real NSS softokn.

const NSS = "/usr/lib/x86_64-linux-gnu/libsoftokn3.so";
const haveNss = fs.existsSync(NSS) && spawnSync("certutil", ["-H"]).error === undefined;

/** Everything this test's process and the page print while it runs. */
function captureOutput(page: Page) {
  const lines: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array, ...r: never[]) => (lines.push(String(c)), out(c, ...r))) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array, ...r: never[]) => (lines.push(String(c)), err(c, ...r))) as typeof process.stderr.write;
  page.on("console", (m) => lines.push(m.text()));
  page.on("pageerror", (e) => lines.push(String(e)));
  return {
    text: () => lines.join("\n"),
    stop: () => {
      process.stdout.write = out;
      process.stderr.write = err;
    },
  };
}

async function sectionShot(page: Page, name: string) {
  const dir = path.join(SCREENS, "private");
  fs.mkdirSync(dir, { recursive: true });
  await page.locator("section.hsm-chooser").screenshot({ path: path.join(dir, `hsm-chooser-${name}.png`) });
}

const savedEnv = { module: process.env.CUSTOS_PKCS11_MODULE, conf: process.env.SOFTHSM2_CONF };
test.beforeEach(() => {
  // The environment override is tested in the integration test; here the choice is the administrator's.
  delete process.env.CUSTOS_PKCS11_MODULE;
});
test.afterEach(() => {
  if (savedEnv.module === undefined) delete process.env.CUSTOS_PKCS11_MODULE;
  else process.env.CUSTOS_PKCS11_MODULE = savedEnv.module;
  if (savedEnv.conf === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = savedEnv.conf;
});

test("a SoftHSM2 token is checked FIT on the home screen and used for production; its PINs are nowhere afterwards", async ({ page }) => {
  const token = provisionedSoftHsmToken("custos-e2e-chooser");
  // The core runs in this process (the harness): the module reads this token's configuration.
  process.env.SOFTHSM2_CONF = token.configPath;
  const output = captureOutput(page);
  const app = await openApp(page);
  try {
    const section = page.locator("section.hsm-chooser");
    await expect(section.getByRole("heading", { name: "HSM for production" })).toBeVisible();
    await expect(section).toContainText("Current module: none: production is unavailable");
    await expect(page.getByRole("radio", { name: /PRODUCTION/ })).toBeDisabled();
    const use = section.getByRole("button", { name: "Use this module" });
    await expect(use).toBeDisabled();
    await axe(page, "private", "home-hsm-chooser");

    // The form, by keyboard: labelled fields, Enter in a PIN field submits the check.
    await section.getByLabel(/PKCS#11 module/).fill(token.module);
    await section.getByLabel("Token label").fill(token.label);
    const so = section.getByLabel("Security officer PIN", { exact: true });
    const user = section.getByLabel("User PIN", { exact: true });
    await expect(so).toHaveAttribute("type", "password");
    await expect(so).toHaveAttribute("autocomplete", "off");
    await expect(user).toHaveAttribute("type", "password");
    await so.fill(token.soPin);
    await user.fill(token.userPin);
    await user.press("Enter");
    await expect(section.getByRole("heading", { name: /^FIT for a root key generation with / })).toBeVisible({ timeout: 180_000 });
    await expect(section.locator("table.checks")).toContainText("Passed");
    await expect(section.locator("table.checks")).not.toContainText("FAILED");
    await expect(section.locator("table.checks tbody tr")).not.toHaveCount(0);

    // After the check the PINs are in no field and nowhere in the page.
    await expect(so).toHaveValue("");
    await expect(user).toHaveValue("");
    const html = await page.content();
    expect(html).not.toContain(token.soPin);
    expect(html).not.toContain(token.userPin);
    await sectionShot(page, "fit");
    await axe(page, "private", "home-hsm-chooser-fit");

    // The verdict is bound to what is in the form: another module path disables "Use" again.
    await section.getByLabel(/PKCS#11 module/).fill(`${token.module}.other`);
    await expect(use).toBeDisabled();
    await section.getByLabel(/PKCS#11 module/).fill(token.module);
    await expect(use).toBeEnabled();
    await use.focus();
    await page.keyboard.press("Enter");
    await expect(section.getByRole("status")).toContainText(`Remembered: production ceremonies use ${token.module}.`);
    await expect(section).toContainText(`Current module: ${token.module} — chosen here, remembered in the settings.`);
    await expect(page.getByRole("radio", { name: new RegExp(`PRODUCTION on ${token.module.replace(/[./]/g, "\\$&")}`) })).toBeEnabled();

    const settings = fs.readFileSync(app.settingsFile, "utf8");
    expect(JSON.parse(settings)).toEqual({ pkcs11: { module: token.module } });
    expect(settings).not.toContain(token.soPin);
    expect(settings).not.toContain(token.userPin);
    for (const [what, text] of [
      ["the page", await page.content()],
      ["the captured output", output.text()],
    ] as const) {
      expect(text, what).not.toContain(token.soPin);
      expect(text, what).not.toContain(token.userPin);
    }
    await sectionShot(page, "used");

    // The environment stays an override: it wins, and the choice made here is shown as overridden.
    process.env.CUSTOS_PKCS11_MODULE = "/opt/vendor/lib/libvendorpkcs11.so";
    await page.reload();
    await expect(section).toContainText("Current module: /opt/vendor/lib/libvendorpkcs11.so — from the environment variable CUSTOS_PKCS11_MODULE, which overrides the settings.");
    await expect(section).toContainText(`The module chosen here, ${token.module}, is overridden by CUSTOS_PKCS11_MODULE while that variable is set.`);
    await expect(page.getByRole("radio", { name: /PRODUCTION on \/opt\/vendor\/lib\/libvendorpkcs11\.so/ })).toBeEnabled();
    await sectionShot(page, "overridden");
    await axe(page, "private", "home-hsm-chooser-overridden");
    delete process.env.CUSTOS_PKCS11_MODULE;
    await page.reload();
    await expect(section).toContainText(`Current module: ${token.module} — chosen here, remembered in the settings.`);

    // The room display (projected) may not check, choose or forget a module.
    const room = await app.openRoom();
    for (const [channel, payload] of [
      ["hsm:check", { module: token.module }],
      ["hsm:choose", { module: token.module }],
      ["hsm:forget", {}],
    ] as const) {
      const r = await room.evaluate(([c, p]) => (window as unknown as { custos: { invoke(c: string, p: unknown): Promise<{ ok: boolean; code?: string }> } }).custos.invoke(c, p), [channel, payload] as const);
      expect(r, channel).toMatchObject({ ok: false, code: "IPC_ROOM_READ_ONLY" });
    }
    expect(JSON.parse(fs.readFileSync(app.settingsFile, "utf8"))).toEqual({ pkcs11: { module: token.module } });

    // Forgetting goes back to none.
    await section.getByRole("button", { name: "Forget the chosen module" }).click();
    await expect(section).toContainText("Current module: none: production is unavailable");
    await expect(page.getByRole("radio", { name: /PRODUCTION/ })).toBeDisabled();
  } finally {
    output.stop();
    app.service.close();
    token.remove();
  }
});

test("a wrong path is refused in words; a module found NOT FIT cannot be used, and the screen says why", async ({ page }) => {
  test.skip(!haveNss, "NSS softokn (libnss3, libnss3-tools) is not installed");
  const db = fs.mkdtempSync(path.join(os.tmpdir(), "custos-e2e-nss-"));
  execFileSync("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"]);
  const app = await openApp(page);
  try {
    const section = page.locator("section.hsm-chooser");
    await section.getByLabel(/PKCS#11 module/).fill("libsofthsm2.so");
    await section.getByRole("button", { name: "Check this HSM" }).click();
    await expect(section.getByRole("alert")).toContainText('The module path must be a full path starting with "/"');

    await section.getByLabel(/PKCS#11 module/).fill(NSS);
    await section.getByLabel(/Initialisation arguments/).fill(`configdir='sql:${db}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=`);
    await section.getByLabel("Token label").fill("NSS Certificate DB");
    await section.getByRole("button", { name: "Check this HSM" }).click();
    await expect(section.getByRole("heading", { name: /^NOT FIT/ })).toBeVisible({ timeout: 180_000 });
    await expect(section).toContainText("does not enforce CKA_WRAP_WITH_TRUSTED");
    await expect(section.locator("table.checks")).toContainText("FAILED");
    await expect(section.getByRole("button", { name: "Use this module" })).toBeDisabled();
    await expect(section).toContainText("Not available: Custos does not remember a module that was not found fit.");
    expect(fs.existsSync(app.settingsFile)).toBe(false);
    await sectionShot(page, "not-fit");
    await axe(page, "private", "home-hsm-chooser-not-fit");
  } finally {
    app.service.close();
    fs.rmSync(db, { recursive: true, force: true });
  }
});
