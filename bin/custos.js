#!/usr/bin/env node
// Thin launcher: runs the TypeScript CLI through tsx so there is no build
// output to go stale between the source an auditor reads and what runs.
import { register } from "tsx/esm/api";
import { fileURLToPath } from "node:url";
import path from "node:path";

// A reader that stops early (`custos verify … | head`) closes the pipe: that is not an error to
// report with a stack trace. The verdict is in the exit status.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
register();
const here = path.dirname(fileURLToPath(import.meta.url));
const { main } = await import(path.join(here, "..", "electron", "cli", "main.ts"));
process.exitCode = await main(process.argv.slice(2));
