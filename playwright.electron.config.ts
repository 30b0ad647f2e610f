import { defineConfig } from "@playwright/test";

// The Electron end-to-end suite: launches the built shell
// (dist/electron/main.cjs) with the Electron binary from node_modules through
// Playwright's _electron. Without an Electron binary it reports itself skipped.
export default defineConfig({
  testDir: "test/e2e-electron",
  testMatch: "**/*.electron.spec.ts",
  timeout: 60_000,
  workers: 1,
  reporter: [["list"]],
  outputDir: "test-results/e2e-electron",
});
