#!/usr/bin/env node
// Thin launcher: runs the TypeScript CLI through tsx so there is no build
// output to go stale between the source an auditor reads and what runs.
import { register } from "tsx/esm/api";
import { fileURLToPath } from "node:url";
import path from "node:path";

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const { main } = await import(path.join(here, "..", "electron", "cli", "main.ts"));
process.exitCode = await main(process.argv.slice(2));
