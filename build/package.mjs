#!/usr/bin/env node
// `npm run package:linux`: the packaged app, built the one safe way:
//  1. npm run build                     renderer and the four bundles
//  2. node build/electron-native.mjs    better_sqlite3.node for Electron's ABI, in native-electron/
//  3. node build/stage-app.mjs          release/stage: only what the app needs
//  4. electron-builder                  release/packages: AppImage and .deb (npmRebuild off)
//  5. checks on the result: the packaged SQLite module's ABI (nm -D), and that
//     app.asar holds no build tool, test library or TypeScript source.
// Needs network (Electron's zip for electron-builder, Electron's headers or a
// prebuilt module for step 2). Build on the platform you package for.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(root, "package.json"));
const platform = process.argv.includes("--mac") ? "mac" : process.argv.includes("--win") ? "win" : "linux";
const step = (what, cmd, args) => {
  console.log(`package: ${what}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`package: ${what} failed (exit ${r.status}).`);
    process.exit(1);
  }
};
const electronVersion = JSON.parse(fs.readFileSync(path.join(root, "node_modules", "electron", "package.json"), "utf8")).version;

step("bundles", "npm", ["run", "--silent", "build"]);
step("SQLite for Electron's ABI", process.execPath, [path.join(root, "build", "electron-native.mjs")]);
step("staging the app", process.execPath, [path.join(root, "build", "stage-app.mjs")]);
step(`electron-builder --${platform}`, process.execPath, [require.resolve("electron-builder/cli.js"), "--config", "build/electron-builder.yml", `--${platform}`, `-c.electronVersion=${electronVersion}`]);

// What actually went into the package.
const outDir = path.join(root, "release", "packages");
const unpacked = fs.readdirSync(outDir).map((d) => path.join(outDir, d)).find((d) => /-unpacked$|^mac/.test(path.basename(d)) && fs.statSync(d).isDirectory());
if (!unpacked) {
  console.error("package: no unpacked app folder in release/packages to check.");
  process.exit(1);
}
const resources = [path.join(unpacked, "resources"), path.join(unpacked, "Custos.app", "Contents", "Resources")].find((d) => fs.existsSync(path.join(d, "app.asar")));
const sqlite = path.join(resources, "app.asar.unpacked", "native-electron", "better_sqlite3.node");
step("the packaged SQLite module's ABI", process.execPath, [path.join(root, "build", "electron-native.mjs"), "--check", sqlite]);
const { listPackage } = require("@electron/asar");
const files = listPackage(path.join(resources, "app.asar"), { isPack: false });
const bad = files.filter((f) => /[\\/]node_modules[\\/](electron|esbuild|@esbuild|tsx|vite|vitest|typescript|react|react-dom|@playwright|playwright|electron-builder|prebuild-install)[\\/]/.test(f) || /\.tsx?$/.test(f) && !f.endsWith(".d.ts"));
if (bad.length > 0) {
  console.error(`package: app.asar holds what the app does not need:\n  ${bad.slice(0, 20).join("\n  ")}`);
  process.exit(1);
}
console.log(`package: done; ${files.length} entries in app.asar, SQLite module for Electron ${electronVersion}. Packages in ${path.relative(root, outDir)}.`);
