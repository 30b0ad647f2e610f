import path from "node:path";
import { expect, test } from "@playwright/test";
import { ROOT, openApp, screenshot } from "./harness";

// The auditor's verify screen on the real core: the verdict and the entries shown come from one
// reading of the file (transcript:entries), and entries of a ceremony that is not intact are never listed.
const vector = (kind: "valid" | "invalid", n: string) => path.join(ROOT, "test", "vectors", kind, n);

test("the verify screen lists the entries of an intact ceremony, complete or not, and none of a tampered one, saying why", async ({ page }) => {
  const { service, dialogs } = await openApp(page);
  const verify = async (file: string) => {
    dialogs.push(file);
    await page.getByRole("button", { name: "Choose a file…" }).click();
    await expect(page.getByTestId("chosen-file")).toHaveText(path.basename(file));
    await page.getByRole("button", { name: "Verify", exact: true }).click();
    await expect(page.getByTestId("verdict")).toBeVisible();
  };
  try {
    await page.getByRole("button", { name: "Verify a transcript, bundle or report" }).click();

    await verify(vector("valid", "rehearsal-generation.bundle.json"));
    await expect(page.getByTestId("verdict")).toContainText("Intact and complete");
    await expect(page.getByRole("table", { name: "Transcript entries" })).toContainText("generate-key-pair");
    await expect(page.getByTestId("entries-note")).toHaveCount(0);

    await verify(vector("valid", "incomplete.bundle.json"));
    await expect(page.getByTestId("verdict")).toContainText("Intact so far, NOT complete");
    await expect(page.getByRole("table", { name: "Transcript entries" })).toBeVisible();
    await screenshot(page, "verify-incomplete");

    await verify(vector("invalid", "body-edited.bundle.json"));
    await expect(page.getByTestId("verdict")).toContainText("NOT INTACT");
    await expect(page.getByRole("table", { name: "Transcript entries" })).toHaveCount(0);
    await expect(page.getByTestId("entries-note")).toContainText("Its entries are not shown: the ceremony is not intact");
    await screenshot(page, "verify-not-intact");
  } finally {
    service.close();
  }
});
