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
  // electronegativity reads webPreferences only as an object literal at the
  // BrowserWindow call; ours come from secureWebPreferences(), whose every flag
  // (sandbox, contextIsolation, …) is pinned by hardening.security.test.ts.
  "CONTEXT_ISOLATION_JS_CHECK@electron/main/window.ts": "flags set in secureWebPreferences(), pinned by tests",
  "SANDBOX_JS_CHECK@electron/main/window.ts": "flags set in secureWebPreferences(), pinned by tests",
  "AUXCLICK_JS_CHECK@electron/main/window.ts": "disableBlinkFeatures: Auxclick set in secureWebPreferences(), pinned by tests",
  // The header CSP is assembled from an array of directives, which its parser cannot evaluate;
  // the same policy is in renderer/index.html and pinned by hardening.security.test.ts.
  "CSP_GLOBAL_CHECK@electron/main/hardening.ts": "policy assembled at run time; identical to the meta CSP, pinned by tests",
  // csp-evaluator warns that script-src 'self' can be abused through JSONP or
  // uploaded files on a web origin; this renderer is a file:// bundle with no server
  // and every request outside it is cancelled (blockRequests).
  "CSP_GLOBAL_CHECK@renderer/index.html": "script-src 'self' on a file:// bundle with every other request cancelled",
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
  // One scan over the whole shell, so global checks (navigation limits, permission
  // handler, CSP) see main, preload and the page together.
  const scanDir = fs.mkdtempSync(path.join((await import("node:os")).tmpdir(), "custos-electronegativity-"));
  for (const p of ["electron/main", "electron/preload", "renderer/index.html"]) {
    fs.cpSync(path.join(root, p), path.join(scanDir, p), { recursive: true });
  }
  const inputs = [scanDir];
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
      const rel = path.relative(scanDir, issue.file);
      const where = `${rel}:${issue.location?.line ?? "?"}`;
      const reason = REVIEWED[`${issue.id}@${rel}`] ?? REVIEWED[issue.id];
      if (reason) {
        console.log(`  reviewed ${issue.id} at ${where}: ${reason}`);
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
  fs.rmSync(scanDir, { recursive: true, force: true });
}

process.exit(failed ? 1 : 0);
