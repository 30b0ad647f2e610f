#!/usr/bin/env node
// Builds better-sqlite3's native module for the installed Electron's ABI into
// a folder of its own, native-electron/, and proves its ABI. The project's
// node_modules is never touched: it stays on Node's ABI for Vitest and the
// CLI (rebuilding it in place, as electron-builder's npmRebuild does, breaks
// them the other way round). pkcs11js is Node-API and loads in both runtimes.
//
//   node build/electron-native.mjs                     build native-electron/better_sqlite3.node (needs network once)
//   node build/electron-native.mjs --check FILE [--abi N]
//                                                      only check FILE's ABI (default: this Electron's)
//
// Exit status: 0 built, up to date, or check passed; 1 wrong ABI or a build
// error; 3 nothing could be fetched (offline): Electron's headers and
// better-sqlite3's prebuilt modules are downloads from outside the npm registry.
//
// The ABI is read from the module itself: a NAN addon such as better-sqlite3
// exports node_register_module_v<NODE_MODULE_VERSION>, so
// `nm -D --defined-only FILE | grep node_register_module_v` names the ABI it
// was compiled for, whatever a build tool claims (with npm's nodedir set, a
// "rebuilt" module can still be Node's ABI).
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(root, "package.json"));
const OUT_DIR = path.join(root, "native-electron");
const OUT = path.join(OUT_DIR, "better_sqlite3.node");
const INFO = path.join(OUT_DIR, "build-info.json");

const say = (s) => console.log(`electron-native: ${s}`);
const fail = (code, s) => {
  console.error(`electron-native: ${s}`);
  process.exit(code);
};

/** The NODE_MODULE_VERSION a native module was built for, read from its dynamic symbols (null for Node-API modules). */
function moduleAbi(file) {
  const nm = spawnSync("nm", ["-D", "--defined-only", file], { encoding: "utf8" });
  let text = nm.status === 0 ? nm.stdout : null;
  // Without binutils the symbol name is still in the file's dynamic string table.
  if (text === null) text = fs.readFileSync(file).toString("latin1");
  const m = /node_register_module_v(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

const electronPkg = JSON.parse(fs.readFileSync(path.join(root, "node_modules", "electron", "package.json"), "utf8"));
const electronAbi = Number(fs.readFileSync(path.join(root, "node_modules", "electron", "abi_version"), "utf8").trim());

const args = process.argv.slice(2);
if (args[0] === "--check") {
  const file = args[1];
  if (!file || !fs.existsSync(file)) fail(1, `--check needs an existing file, not ${file ?? "nothing"}.`);
  const want = args[2] === "--abi" ? Number(args[3]) : electronAbi;
  const abi = moduleAbi(file);
  if (abi === null && /napi_register_module_v1/.test(fs.readFileSync(file).toString("latin1"))) {
    say(`${file}: a Node-API module; it loads in Node and in Electron alike.`);
    process.exit(0);
  }
  if (abi !== want) fail(1, `${file} is built for NODE_MODULE_VERSION ${abi ?? "(none found)"}, but Electron ${electronPkg.version} needs ${want}.`);
  say(`${file}: NODE_MODULE_VERSION ${abi}, as expected.`);
  process.exit(0);
}

const sqlitePkgDir = path.dirname(require.resolve("better-sqlite3/package.json"));
const sqliteVersion = JSON.parse(fs.readFileSync(path.join(sqlitePkgDir, "package.json"), "utf8")).version;
const wanted = { electron: electronPkg.version, abi: electronAbi, betterSqlite3: sqliteVersion, platform: process.platform, arch: process.arch };

// Up to date? Same versions, and the file really has the right ABI.
if (fs.existsSync(OUT) && fs.existsSync(INFO)) {
  const info = JSON.parse(fs.readFileSync(INFO, "utf8"));
  if (Object.entries(wanted).every(([k, v]) => info[k] === v) && moduleAbi(OUT) === electronAbi) {
    say(`${path.relative(root, OUT)} is up to date (Electron ${wanted.electron}, NODE_MODULE_VERSION ${electronAbi}).`);
    process.exit(0);
  }
}

// Build in a throwaway copy of the package, never in node_modules.
const work = fs.mkdtempSync(path.join(os.tmpdir(), "custos-electron-native-"));
const pkg = path.join(work, "better-sqlite3");
fs.cpSync(sqlitePkgDir, pkg, {
  recursive: true,
  filter: (src) => {
    const rel = path.relative(sqlitePkgDir, src).split(path.sep)[0];
    return rel !== "build" && rel !== "node_modules";
  },
});
// npm exports its configuration to scripts as npm_config_*; nodedir (set to
// /usr on some machines) would make node-gyp compile against the running
// Node's headers and still report success.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(nodedir|node_gyp|target|runtime|disturl|dist_url|arch)$/i.test(k)));
const run = (cmd, argv) => {
  const r = spawnSync(cmd, argv, { cwd: pkg, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) r.stderr = `${r.stderr ?? ""}\n${r.error.message}`;
  return r;
};
const built = path.join(pkg, "build", "Release", "better_sqlite3.node");
const tail = (r) => `${r.stderr || ""}${r.stdout || ""}`.trim().split("\n").slice(-6).join("\n    ");
const NETWORK_ERROR = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|getaddrinfo|network connectivity/;
let source = null;
let offline = true;

say(`building better-sqlite3 ${sqliteVersion} for Electron ${wanted.electron} (NODE_MODULE_VERSION ${electronAbi}) in ${work}`);
// 1. better-sqlite3's own prebuilt module for this Electron (GitHub releases): no compiler needed.
const prebuild = run(process.execPath, [require.resolve("prebuild-install/bin.js"), "--runtime", "electron", "--target", wanted.electron, "--arch", process.arch, "--platform", process.platform, "--verbose"]);
if (prebuild.status === 0 && fs.existsSync(built)) source = "prebuilt (prebuild-install)";
else {
  if (!NETWORK_ERROR.test(`${prebuild.stderr}${prebuild.stdout}`)) offline = false;
  say(`no prebuilt module (${tail(prebuild).split("\n").at(-1) || `exit ${prebuild.status}`}); compiling from source against Electron's headers`);
  // 2. Compile against Electron's headers (electronjs.org/headers); needs python3, make, g++.
  const gyp = require.resolve("node-gyp/bin/node-gyp.js");
  const r = run(process.execPath, [gyp, "rebuild", "--release", "--runtime=electron", `--target=${wanted.electron}`, "--dist-url=https://electronjs.org/headers", `--arch=${process.arch}`]);
  if (r.status === 0 && fs.existsSync(built)) source = "compiled (node-gyp, Electron headers)";
  else {
    if (!NETWORK_ERROR.test(`${r.stderr}${r.stdout}`)) offline = false;
    fs.rmSync(work, { recursive: true, force: true });
    if (offline) fail(3, "cannot fetch Electron's headers or a prebuilt module (no network?). Run this again on a machine with internet access; node_modules was not changed.");
    fail(1, `the build failed:\n    ${tail(r)}`);
  }
}

const abi = moduleAbi(built);
if (abi !== electronAbi) {
  fs.rmSync(work, { recursive: true, force: true });
  fail(1, `the ${source} module is NODE_MODULE_VERSION ${abi ?? "(none)"}, not ${electronAbi}: refusing it (check npm's nodedir setting: npm config get nodedir).`);
}
fs.mkdirSync(OUT_DIR, { recursive: true });
fs.copyFileSync(built, `${OUT}.tmp`);
fs.renameSync(`${OUT}.tmp`, OUT);
const sha256 = crypto.createHash("sha256").update(fs.readFileSync(OUT)).digest("hex");
fs.writeFileSync(INFO, JSON.stringify({ ...wanted, source, sha256, builtAt: new Date().toISOString() }, null, 2) + "\n");
fs.rmSync(work, { recursive: true, force: true });
say(`${path.relative(root, OUT)}: ${source}, NODE_MODULE_VERSION ${abi} (checked with nm -D), sha256 ${sha256.slice(0, 16)}…`);
