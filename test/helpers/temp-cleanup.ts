/**
 * Removes, after each test file, the temporary folders the test helpers made
 * (tempDir in test/unit/transcript-fixture.ts registers them), so a run of the
 * suite leaves no folders behind in the temporary directory.
 */
import fs from "node:fs";
import { afterAll } from "vitest";

afterAll(() => {
  const dirs = (globalThis as { __custosTempDirs?: string[] }).__custosTempDirs ?? [];
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
