import { defineConfig } from "vitest/config";

// Native addons (pkcs11js, better-sqlite3) and SoftHSM's process-global
// configuration (SOFTHSM2_CONF) want one process per test file, not threads.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    // Builds dist/electron once per run (test/integration/core-host.test.ts and others run the built bundles).
    globalSetup: ["test/helpers/global-setup.ts"],
    // Names any test that blocks the worker's event loop long enough to break Vitest's RPC.
    setupFiles: ["test/helpers/loop-watch.ts", "test/helpers/temp-cleanup.ts"],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
