#!/usr/bin/env node
// Security lint of the Electron shell, in three steps; any failure exits 1.
//  1. Our own assertions: test/unit/main/hardening.security.test.ts (every
//     webPreferences flag, the CSP, the fuses in electron-builder.yml).
//  2. build/electron-builder.yml against electron-builder's own schema, so a
//     misspelt fuse key cannot silently leave a fuse at its default.
//  3. Doyensec's electronegativity on the shell's sources, if it is installed
//     (it is not a dependency; this script never downloads it). It always exits
//     0 itself, so its findings are counted here.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(root, "package.json"));
let failed = false;

// 1. Our own assertions.
const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");
const tests = spawnSync(process.execPath, [vitest, "run", "test/unit/main/hardening.security.test.ts"], { cwd: root, stdio: "inherit" });
if (tests.status !== 0) {
  console.error("check-electron-security: the hardening security tests failed.");
  failed = true;
}

// 2. The packaging configuration, validated by electron-builder itself.
try {
  const { getConfig, validateConfiguration } = require("app-builder-lib/out/util/config/config.js");
  const { DebugLogger } = require("builder-util");
  const config = await getConfig(root, path.join("build", "electron-builder.yml"), null);
  await validateConfiguration(config, new DebugLogger(false));
  console.log("check-electron-security: build/electron-builder.yml is valid for electron-builder.");
} catch (e) {
  console.error(`check-electron-security: build/electron-builder.yml is invalid: ${e instanceof Error ? e.message : String(e)}`);
  failed = true;
}

// 3. electronegativity, when present.
// Findings reviewed and accepted, each with the reason; everything else fails.
const REVIEWED = {
  // Flags every preload for manual review. Ours exposes one function and is
  // pinned by test/unit/main/preload.test.ts.
  PRELOAD_JS_CHECK: "preload reviewed: one global, one function",
};
let run = null;
try {
  const mod = require("@doyensec/electronegativity");
  run = mod.default ?? mod;
} catch {
  console.log("check-electron-security: electronegativity is not installed (npm i -D @doyensec/electronegativity to add it); relying on our own assertions.");
}
if (run) {
  const electronVersion = require("electron/package.json").version;
  const inputs = ["electron/main", "electron/preload", "renderer/index.html"].map((p) => path.join(root, p)).filter((p) => fs.existsSync(p));
  let findings = 0;
  for (const input of inputs) {
    const result = await run({
      input,
      output: null,
      isSarif: false,
      customScan: [],
      // This check downloads Electron's release list from GitHub (and writes it
      // to the current folder); the version is pinned in package-lock.json instead.
      excludeFromScan: ["AvailableSecurityFixesGlobalCheck"],
      parserPlugins: [],
      isRelative: false,
      electronVersionOverride: electronVersion,
    });
    for (const e of result.errors.filter((x) => !x.tolerable)) console.error(`electronegativity could not parse ${e.file}: ${e.message}`);
    for (const issue of result.issues) {
      const where = `${path.relative(root, issue.file)}:${issue.location?.line ?? "?"}`;
      if (REVIEWED[issue.id]) {
        console.log(`  reviewed ${issue.id} at ${where}: ${REVIEWED[issue.id]}`);
        continue;
      }
      findings++;
      console.error(`  FINDING ${issue.id} at ${where}: ${issue.description ?? issue.shortenedURL ?? ""}`);
    }
  }
  if (findings > 0) {
    console.error(`check-electron-security: electronegativity reported ${findings} finding(s).`);
    failed = true;
  } else console.log("check-electron-security: electronegativity reported no unreviewed findings.");
}

process.exit(failed ? 1 : 0);
