#!/usr/bin/env node
// Bundles the Electron app into dist/electron (CommonJS: the package is
// "type": "module", and a sandboxed preload can only be a classic script):
//   main.cjs       electron/main/index.ts       the shell: windows, dialogs, guards; NO native module
//   preload.cjs    electron/preload/index.ts    the sandboxed preload (browser platform)
//   core-host.cjs  electron/core/host/entry.ts  the core in a utility process: SQLite, PKCS#11, PDF
//   cli.cjs        electron/cli/bundle-entry.ts the `custos` command of the packaged app
// Native and data-reading packages stay external and load from node_modules;
// in the host and CLI bundles every `import "better-sqlite3"` goes through
// electron/core/host/sqlite-binding.ts, which hands better-sqlite3 the
// Electron-ABI module (native-electron/) with its nativeBinding option.
import { build } from "esbuild";
import { builtinModules } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "dist", "electron");

/** Packages the core bundles keep external: native addons, and pdfkit (reads its font metrics through __dirname). */
const CORE_EXTERNALS = ["graphene-pk11", "pkcs11js", "better-sqlite3", "pdfkit"];

const sqliteShim = path.join(root, "electron", "core", "host", "sqlite-binding.ts");
/** Routes better-sqlite3 through the shim, except for the shim's own import of the real package. */
const sqliteBinding = {
  name: "custos-sqlite-binding",
  setup(b) {
    b.onResolve({ filter: /^better-sqlite3$/ }, (args) => (path.resolve(args.importer) === sqliteShim ? { path: "better-sqlite3", external: true } : { path: sqliteShim }));
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  format: "cjs",
  sourcemap: true,
  logLevel: "warning",
  legalComments: "inline",
  define: { "process.env.NODE_ENV": '"production"' },
  metafile: true,
};
const node = { ...common, platform: "node", target: "node20" };

const results = {
  "main.cjs": await build({ ...node, entryPoints: ["electron/main/index.ts"], outfile: path.join(outDir, "main.cjs"), external: ["electron"] }),
  // The sandboxed preload has no Node: only require("electron") (and a few
  // polyfilled modules) exists there, so it is built for the browser platform.
  "preload.cjs": await build({ ...common, entryPoints: ["electron/preload/index.ts"], outfile: path.join(outDir, "preload.cjs"), platform: "browser", target: "chrome130", external: ["electron"] }),
  "core-host.cjs": await build({ ...node, entryPoints: ["electron/core/host/entry.ts"], outfile: path.join(outDir, "core-host.cjs"), external: CORE_EXTERNALS, plugins: [sqliteBinding] }),
  "cli.cjs": await build({ ...node, entryPoints: ["electron/cli/bundle-entry.ts"], outfile: path.join(outDir, "cli.cjs"), external: CORE_EXTERNALS, plugins: [sqliteBinding] }),
};

const requiresOf = (file) => [...fs.readFileSync(path.join(outDir, file), "utf8").matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
const builtin = (r) => r.startsWith("node:") || builtinModules.includes(r);
let failed = false;

const foreignPreload = requiresOf("preload.cjs").filter((r) => r !== "electron");
if (foreignPreload.length > 0) {
  console.error(`esbuild-electron: the preload requires ${foreignPreload.join(", ")}; a sandboxed preload can only require "electron".`);
  failed = true;
}
// The main process owns the window: it must never load a native module (a
// vendor library or SQLite that blocks or crashes would take the window with
// it). Everything it requires is Electron or a Node built-in.
const foreignMain = requiresOf("main.cjs").filter((r) => r !== "electron" && !builtin(r));
const coreInMain = Object.keys(results["main.cjs"].metafile.inputs).filter((f) => /^electron\/core\/(?!host\/protocol\.ts|errors\.ts)/.test(f) || f.includes("node_modules/better-sqlite3") || f.includes("node_modules/graphene-pk11"));
if (foreignMain.length > 0 || coreInMain.length > 0) {
  console.error(`esbuild-electron: main.cjs must load no native module and no core code; it requires ${[...foreignMain, ...coreInMain].join(", ")}.`);
  failed = true;
}
if (failed) process.exit(1);

for (const [name, result] of Object.entries(results)) {
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`esbuild-electron: dist/electron/${name} ${(bytes / 1024).toFixed(1)} KB`);
}
