#!/usr/bin/env node
// Bundles the Electron shell: electron/main/index.ts -> dist/electron/main.cjs
// and electron/preload/index.ts -> dist/electron/preload.cjs (CommonJS: the
// package is "type": "module", and a sandboxed preload can only be a classic
// script). Native and data-reading packages stay external and load from
// node_modules (rebuilt for Electron by electron-builder).
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "dist", "electron");

// Native addons (.node files, rebuilt per Electron ABI) and packages that read
// their own data files through __dirname (pdfkit's AFM fonts) cannot be bundled.
const external = ["electron", "graphene-pk11", "pkcs11js", "better-sqlite3", "pdfkit"];

const common = {
  absWorkingDir: root,
  bundle: true,
  format: "cjs",
  sourcemap: true,
  logLevel: "warning",
  legalComments: "inline",
  define: { "process.env.NODE_ENV": '"production"' },
};

const main = await build({
  ...common,
  entryPoints: ["electron/main/index.ts"],
  outfile: path.join(outDir, "main.cjs"),
  platform: "node",
  target: "node20",
  external,
  metafile: true,
});

// The sandboxed preload has no Node: only require("electron") (and a few
// polyfilled modules) exists there, so it is built for the browser platform
// and anything else it pulls in fails the build below.
const preload = await build({
  ...common,
  entryPoints: ["electron/preload/index.ts"],
  outfile: path.join(outDir, "preload.cjs"),
  platform: "browser",
  target: "chrome130",
  external: ["electron"],
  metafile: true,
});

const preloadCode = fs.readFileSync(path.join(outDir, "preload.cjs"), "utf8");
const requires = [...preloadCode.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
const foreign = requires.filter((r) => r !== "electron");
if (foreign.length > 0) {
  console.error(`esbuild-electron: the preload requires ${foreign.join(", ")}; a sandboxed preload can only require "electron".`);
  process.exit(1);
}

for (const [name, result] of [["main.cjs", main], ["preload.cjs", preload]]) {
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`esbuild-electron: dist/electron/${name} ${(bytes / 1024).toFixed(1)} KB`);
}
