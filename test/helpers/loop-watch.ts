/**
 * Vitest's worker answers its runner over RPC with a 60 s timeout; a test that
 * keeps the event loop busy that long fails the whole run with "Timeout calling
 * onTaskUpdate" and no name. This names the test that blocked, at 20 s.
 */
import { afterAll, expect } from "vitest";

let last = Date.now();
const timer = setInterval(() => {
  const now = Date.now();
  if (now - last > 20_000) {
    process.stderr.write(`[loop-watch] the event loop was blocked for ${((now - last) / 1000).toFixed(1)} s in "${expect.getState().currentTestName ?? "(a hook)"}" (${expect.getState().testPath ?? "?"})\n`);
  }
  last = now;
}, 500);
timer.unref();
afterAll(() => clearInterval(timer));
