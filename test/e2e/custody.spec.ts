import path from "node:path";
import { expect, test } from "@playwright/test";
import { ROOT, openApp, screenshot } from "./harness";

// Issue 16: the auditor's custody screen, on the real core, over the rehearsed test vectors of one root
// (a generation and the ceremonies made from it). The CLI test covers the facts; this covers the screen.
const vector = (n: string) => path.join(ROOT, "test", "vectors", "valid", `${n}.bundle.json`);
const ROOT_SET = ["rehearsal-generation", "rehearsal-share-resplit", "rehearsal-root-key-recovery", "rehearsal-sign-intermediate"];

test("the custody register screen shows the root, the key's life, the shares' holders and a missing transcript", async ({ page }) => {
  const { service, dialogs } = await openApp(page);
  try {
    await page.getByRole("button", { name: "Custody register of a root" }).click();
    for (const n of ROOT_SET) {
      dialogs.push(vector(n));
      await page.getByRole("button", { name: "Add a transcript…" }).click();
      await expect(page.getByTestId("custody-files")).toContainText(`${n}.bundle.json`);
    }
    await page.getByRole("button", { name: "Build the register" }).click();
    await expect(page.getByTestId("custody-status")).toContainText("Every transcript is intact and every link between them holds.", { timeout: 120_000 });
    await expect(page.getByTestId("custody-life")).toContainText("Generation");
    await expect(page.getByTestId("custody-life")).toContainText("Recovery");
    await expect(page.getByTestId("custody-shares").first()).toContainText("Dmitri Haddad");
    // The screen is never given a path: files are shown by folder and name.
    await expect(page.locator("body")).not.toContainText(ROOT);
    await screenshot(page, "custody-register");

    // Without the generation, the ceremonies made from it name it as missing.
    await page.getByRole("button", { name: "Clear" }).click();
    for (const n of ROOT_SET.slice(1)) {
      dialogs.push(vector(n));
      await page.getByRole("button", { name: "Add a transcript…" }).click();
    }
    await page.getByRole("button", { name: "Build the register" }).click();
    await expect(page.getByTestId("custody-status")).toContainText("BROKEN LINK", { timeout: 120_000 });
    await expect(page.getByTestId("custody-findings")).toContainText("MISSING_SOURCE");
    await screenshot(page, "custody-register-missing");
  } finally {
    service.close();
  }
});
