#!/usr/bin/env node
// Lays out exactly what the packaged app needs in a folder of its own
// (release/stage by default), for electron-builder to pack as the app:
//   package.json                 name, version, main; the externals as its only dependencies
//   dist/electron/*.cjs          main, preload, core host, CLI (no source maps)
//   dist/renderer/**             the built renderer
//   ceremony-scripts/*.yaml      the shipped ceremonies (inside app.asar: covered by its integrity check)
//   native-electron/             better_sqlite3.node for Electron's ABI (unpacked next to app.asar)
//   node_modules/                only the packages the core bundles leave external
//                                (found in the bundles' require() calls) and what they
//                                depend on at run time: no build tools, no sources of
//                                native modules, no Node-ABI better_sqlite3.node.
// The project's node_modules is only read, never changed (no rebuild in place).
//
//   node build/stage-app.mjs [--out DIR] [--native FILE]
// --native names the better_sqlite3.node to ship (default: native-electron/better_sqlite3.node,
// whose ABI must be Electron's; the tests pass a Node-ABI stand-in).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const out = path.resolve(arg("--out") ?? path.join(root, "release", "stage"));
const nativeArg = arg("--native");
const native = path.resolve(nativeArg ?? path.join(root, "native-electron", "better_sqlite3.node"));
const fail = (s) => {
  console.error(`stage-app: ${s}`);
  process.exit(1);
};

const BUNDLES = ["main.cjs", "preload.cjs", "core-host.cjs", "cli.cjs"];
for (const b of BUNDLES) if (!fs.existsSync(path.join(root, "dist", "electron", b))) fail(`dist/electron/${b} is missing: run npm run build first.`);
if (!fs.existsSync(path.join(root, "dist", "renderer", "index.html"))) fail("dist/renderer is missing: run npm run build first.");
if (!fs.existsSync(native)) fail(`${native} is missing: run node build/electron-native.mjs first (needs network once).`);
if (!nativeArg) {
  // The packaged app loads this module in Electron: its ABI must be Electron's.
  const check = spawnSync(process.execPath, [path.join(root, "build", "electron-native.mjs"), "--check", native], { stdio: "inherit" });
  if (check.status !== 0) fail("refusing to package a SQLite module built for another ABI.");
}

/** Packages a bundle requires that are not Node built-ins or electron: the externals. */
function externalsOf(file) {
  const code = fs.readFileSync(file, "utf8");
  const names = [...code.matchAll(/\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g)].map((m) => m[1]);
  return names.filter((n) => n !== "electron" && !n.startsWith("node:") && !builtinModules.includes(n)).map((n) => (n.startsWith("@") ? n.split("/").slice(0, 2).join("/") : n.split("/")[0]));
}
// Data packages the core reads files from at run time (never require()d): the report fonts
// (electron/core/report/pdf.ts resolves dejavu-fonts-ttf; a report must render the same bytes everywhere).
const DATA_PACKAGES = ["dejavu-fonts-ttf"];
const externals = [...new Set([...["core-host.cjs", "cli.cjs"].flatMap((b) => externalsOf(path.join(root, "dist", "electron", b))), ...DATA_PACKAGES])].sort();
const mainExternals = externalsOf(path.join(root, "dist", "electron", "main.cjs"));
if (mainExternals.length > 0) fail(`main.cjs requires ${mainExternals.join(", ")}: the main process must load no package from node_modules.`);

/** Install-time dependencies that never run in the app. */
const INSTALL_ONLY = { "better-sqlite3": ["prebuild-install"] };

/** Finds an installed package the way Node would, from the folder of the package that needs it. */
function findPackage(name, fromDir) {
  for (let d = fromDir; ; d = path.dirname(d)) {
    const p = path.join(d, "node_modules", name);
    if (fs.existsSync(path.join(p, "package.json"))) return p;
    if (d === root || d === path.dirname(d)) return null;
  }
}

// Every package the externals need at run time, with the folder it lives in.
const closure = new Map();
const queue = externals.map((n) => [n, root]);
while (queue.length > 0) {
  const [name, from] = queue.shift();
  const dir = findPackage(name, from);
  if (!dir) fail(`${name} (needed by ${path.relative(root, from) || "the bundles"}) is not installed: run npm install.`);
  if (closure.has(dir)) continue;
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  closure.set(dir, pkg);
  const drop = INSTALL_ONLY[pkg.name] ?? [];
  for (const dep of Object.keys(pkg.dependencies ?? {})) if (!drop.includes(dep)) queue.push([dep, dir]);
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) if (!drop.includes(dep) && findPackage(dep, dir)) queue.push([dep, dir]);
}

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const copy = (from, to, filter) => fs.cpSync(from, to, { recursive: true, filter, dereference: true });

for (const b of BUNDLES) copy(path.join(root, "dist", "electron", b), path.join(out, "dist", "electron", b));
copy(path.join(root, "dist", "renderer"), path.join(out, "dist", "renderer"), (src) => !src.endsWith(".map"));
for (const f of fs.readdirSync(path.join(root, "ceremony-scripts")).filter((f) => f.endsWith(".yaml"))) copy(path.join(root, "ceremony-scripts", f), path.join(out, "ceremony-scripts", f));
copy(native, path.join(out, "native-electron", "better_sqlite3.node"));
const info = path.join(path.dirname(native), "build-info.json");
if (!nativeArg && fs.existsSync(info)) copy(info, path.join(out, "native-electron", "build-info.json"));

// Top-level folders a package never needs at run time; a native package's sources too.
const SKIP_TOP = new Set(["test", "tests", "docs", "example", "examples", ".github", "node_modules"]);
const SKIP_TOP_NATIVE = new Set(["src", "deps", "include", "includes", "binding.gyp"]);
for (const [dir, pkg] of closure) {
  const native = fs.existsSync(path.join(dir, "binding.gyp"));
  const target = path.join(out, path.relative(root, dir));
  copy(dir, target, (src) => {
    const rel = path.relative(dir, src);
    if (rel === "") return true;
    const top = rel.split(path.sep)[0];
    // Dot folders and files too (pdfkit publishes a whole .yarn release in its tarball).
    if (SKIP_TOP.has(top) || top.startsWith(".") || (native && SKIP_TOP_NATIVE.has(top))) return false;
    if (native && top === "build") {
      // Only the compiled module of a Node-API addon (pkcs11js); better-sqlite3's
      // Node-ABI build stays behind: the app ships native-electron/ instead.
      if (pkg.name === "better-sqlite3") return false;
      return fs.statSync(src).isDirectory() ? !/^(obj|obj\.target|\.deps)$/.test(path.basename(src)) : src.endsWith(".node");
    }
    if (/LICEN[CS]E|COPYING|NOTICE/i.test(path.basename(src))) return true;
    // Of the font package, only the three faces the reports embed.
    if (pkg.name === "dejavu-fonts-ttf" && !fs.statSync(src).isDirectory()) return /^ttf[\\/]DejaVuSans(-Bold|Mono)?\.ttf$/.test(rel) || rel === "package.json";
    return !/\.(map|md|markdown|ts|tsbuildinfo)$/.test(src);
  });
  // Install scripts never run in the app, and an install-time dependency is not shipped.
  const staged = { ...pkg };
  delete staged.scripts;
  delete staged.devDependencies;
  if (INSTALL_ONLY[pkg.name]) staged.dependencies = Object.fromEntries(Object.entries(staged.dependencies ?? {}).filter(([d]) => !INSTALL_ONLY[pkg.name].includes(d)));
  fs.writeFileSync(path.join(target, "package.json"), JSON.stringify(staged, null, 2) + "\n");
}

const rootPkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const version = (n) => closure.get(findPackage(n, root))?.version;
fs.writeFileSync(
  path.join(out, "package.json"),
  JSON.stringify(
    {
      name: rootPkg.name,
      productName: "Custos",
      version: rootPkg.version,
      description: rootPkg.description,
      license: rootPkg.license,
      author: "Custos contributors <custos@localhost>",
      main: "dist/electron/main.cjs",
      dependencies: Object.fromEntries(externals.map((n) => [n, version(n)])),
    },
    null,
    2,
  ) + "\n",
);

const size = (d) => fs.readdirSync(d, { withFileTypes: true }).reduce((a, e) => a + (e.isDirectory() ? size(path.join(d, e.name)) : fs.statSync(path.join(d, e.name)).size), 0);
console.log(`stage-app: ${path.relative(process.cwd(), out) || out}: externals ${externals.join(", ")}; ${closure.size} packages in node_modules; ${(size(out) / 2 ** 20).toFixed(1)} MiB`);
