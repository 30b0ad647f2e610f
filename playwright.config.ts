import { defineConfig } from "@playwright/test";

// End-to-end: the built renderer in Debian's Chromium, with window.custos
// bound to the real core (real SoftHSM2, SQLite and PDFs) by the test itself.
export default defineConfig({
  testDir: "test/e2e",
  timeout: 300_000,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  reporter: [["list"]],
  outputDir: "test-results/e2e",
  use: {
    headless: true,
    // A locator action waits at most this long (not the whole test): a vanished element fails with its name.
    actionTimeout: 30_000,
    // A trace snapshots both pages at every key press (thousands in the keyboard-only ceremony) and
    // made that test several times slower; CUSTOS_E2E_TRACE=1 turns it back on to look into a failure.
    trace: process.env.CUSTOS_E2E_TRACE ? "retain-on-failure" : "off",
    viewport: { width: 1400, height: 1250 },
    launchOptions: {
      executablePath: process.env.CUSTOS_CHROMIUM ?? "/usr/bin/chromium",
      // The room display and the private view are two pages of one browser: neither may be throttled as a background tab.
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"],
    },
  },
});
