/**
 * Vitest's worker answers its runner over RPC with a 60 s timeout. Tests that
 * run synchronous children (spawnSync) one after another never give the event
 * loop a turn between them, so the runner's answers wait behind all of them and
 * the run fails with "Timeout calling onTaskUpdate", naming no test. Each test
 * therefore starts after one turn of the event loop, and a test that alone
 * blocks the loop for longer than CUSTOS_LOOP_WATCH_MS (20 s) is named.
 */
import fs from "node:fs";
import { afterAll, afterEach, beforeEach, expect } from "vitest";

const limit = Number(process.env.CUSTOS_LOOP_WATCH_MS ?? 20_000);
let last = Date.now();
const report = (now: number, where: string) => {
  if (now - last > limit) {
    const line = `[loop-watch] the event loop was blocked for ${((now - last) / 1000).toFixed(1)} s in ${where} (${expect.getState().testPath ?? "?"})\n`;
    // A file when asked for; else the worker's stderr (never /dev/stderr: a socket there gives ENXIO).
    try {
      if (process.env.CUSTOS_LOOP_WATCH_LOG) fs.appendFileSync(process.env.CUSTOS_LOOP_WATCH_LOG, line);
      else process.stderr.write(line);
    } catch {
      // Only a diagnostic: it must never fail a test.
    }
  }
  last = now;
};
const timer = setInterval(() => report(Date.now(), `"${expect.getState().currentTestName ?? "a hook"}"`), 500);
timer.unref();

beforeEach(async () => {
  await new Promise<void>((resolve) => setImmediate(resolve));
  last = Date.now();
});
afterEach((ctx) => report(Date.now(), `"${ctx.task.name}"`));
afterAll(() => clearInterval(timer));
