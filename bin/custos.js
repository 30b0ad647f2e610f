#!/usr/bin/env node
// Thin launcher: runs the TypeScript CLI through tsx so there is no build
// output to go stale between the source an auditor reads and what runs.
import { register } from "tsx/esm/api";
import { fileURLToPath } from "node:url";
import path from "node:path";

// Last line of the error boundary (electron/cli/boundary.ts handles everything a
// command throws): nothing that escapes it prints a stack trace either.
const last = (e) => {
  process.stderr.write(`custos: internal error: ${String(e?.message ?? e).split("\n")[0]}\n  This is a fault in Custos; please report it with the command you ran. Files already written are complete (every write is atomic).\n`);
  if (process.env.CUSTOS_DEBUG === "1") process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(70);
};
process.on("uncaughtException", last);
process.on("unhandledRejection", last);
// `custos verify … | head`: a closed pipe ends the output, not the process with a trace.
for (const s of [process.stdout, process.stderr]) s.on("error", (e) => (e.code === "EPIPE" ? process.exit(process.exitCode ?? 0) : last(e)));

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const { main } = await import(path.join(here, "..", "electron", "cli", "main.ts"));
process.exitCode = await main(process.argv.slice(2));
