// What the packaged app carries, checked without an Electron binary: the
// staged app folder (build/stage-app.mjs) holds only what the bundles need and
// everything they need (its core host runs a whole rehearsal from that folder
// alone, outside the repository), and the .deb's post-install script puts a
// `custos` launcher on the PATH that runs commands without a window.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionState } from "../../electron/core/app/service";
import { HostSupervisor } from "../../electron/main/host-supervisor";
import { ROOT, walk } from "../helpers/files";
import { nodeLauncher } from "../helpers/host";
import { StateRoom, value } from "../helpers/state-room";

// Outside the repository, so Node's module resolution cannot fall back on the project's node_modules.
const base = fs.mkdtempSync(path.join(os.tmpdir(), "custos-stage-"));
const stage = path.join(base, "app");
const NODE_BUILD = path.join(ROOT, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node");

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, "dist", "renderer", "index.html"))) execFileSync("npm", ["run", "--silent", "build:renderer"], { cwd: ROOT, stdio: "pipe" });
  // The Node-ABI module stands in for the Electron one (this machine cannot build that).
  execFileSync(process.execPath, [path.join(ROOT, "build", "stage-app.mjs"), "--out", stage, "--native", NODE_BUILD], { cwd: ROOT, stdio: "pipe" });
}, 180_000);
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe("the staged app (what electron-builder packs)", () => {
  it("holds the bundles, the renderer, the scripts, the SQLite module, and only the packages the core keeps external", () => {
    const files = walk(stage);
    for (const f of ["package.json", "dist/electron/main.cjs", "dist/electron/preload.cjs", "dist/electron/core-host.cjs", "dist/electron/cli.cjs", "dist/renderer/index.html", "ceremony-scripts/root-key-generation.yaml", "native-electron/better_sqlite3.node", "node_modules/pkcs11js/build/Release/pkcs11.node"]) expect(files, f).toContain(f);
    const pkg = JSON.parse(fs.readFileSync(path.join(stage, "package.json"), "utf8"));
    expect(pkg.main).toBe("dist/electron/main.cjs");
    expect(Object.keys(pkg.dependencies).sort()).toEqual(["better-sqlite3", "dejavu-fonts-ttf", "graphene-pk11", "pdfkit"]);
    expect(pkg.devDependencies).toBeUndefined();
    const packages = new Set(files.filter((f) => f.startsWith("node_modules/")).map((f) => f.split("/").slice(1, f.split("/")[1]!.startsWith("@") ? 3 : 2).join("/")));
    for (const tool of ["electron", "esbuild", "tsx", "vite", "vitest", "typescript", "react", "react-dom", "@playwright/test", "electron-builder", "prebuild-install", "zod", "yaml"]) expect(packages.has(tool), tool).toBe(false);
    // No Node-ABI build of better-sqlite3, no C sources, no source maps, no install scripts.
    expect(files.filter((f) => f.startsWith("node_modules/better-sqlite3/") && !/^node_modules\/better-sqlite3\/(lib\/|package\.json|LICENSE)/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".map") || f.endsWith(".cc") || f.endsWith(".c"))).toEqual([]);
    for (const p of packages) expect(JSON.parse(fs.readFileSync(path.join(stage, "node_modules", p, "package.json"), "utf8")).scripts, p).toBeUndefined();
  });

  it("runs a whole generation rehearsal from the staged folder alone", async () => {
    const dataDir = path.join(base, "data");
    const sup = new HostSupervisor({
      launch: nodeLauncher(path.join(stage, "dist", "electron", "core-host.cjs"), { ...process.env, CUSTOS_LP_COMMAND: "/bin/true" }),
      init: { dataDir, resourcesDir: stage, kdfCost: "test", sqliteBinding: path.join(stage, "native-electron", "better_sqlite3.node") },
      log: () => {},
    });
    try {
      expect(await sup.start()).toBe(true);
      const maps = fs.readFileSync(`/proc/${sup.pid}/maps`, "utf8");
      expect(maps).toContain(path.join(stage, "native-electron", "better_sqlite3.node"));
      expect(maps).not.toContain(path.join(ROOT, "node_modules"));
      await value<SessionState>(sup.call("ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal", custodians: 3, threshold: 2 }));
      const room = new StateRoom((c, p) => sup.call(c, p), { custodians: 3 });
      let s = await room.state();
      while (!s.ceremony!.done) s = await room.runStep();
      expect(s.ceremony!.completed).toBe(16);
      // Still nothing of the repository loaded: the PDF stack came from the stage too.
      expect(fs.readFileSync(`/proc/${sup.pid}/maps`, "utf8")).not.toContain(path.join(ROOT, "node_modules"));
      const out = execFileSync(process.execPath, [path.join(stage, "dist", "electron", "cli.cjs"), "verify", path.join(dataDir, "transcript.sqlite")], {
        env: { ...process.env, CUSTOS_SQLITE_BINDING: path.join(stage, "native-electron", "better_sqlite3.node") },
        encoding: "utf8",
      });
      expect(out).toMatch(/intact/i);
    } finally {
      await sup.stop();
    }
  });
});

describe("the .deb's post-install script", () => {
  // electron-builder's template expansion (FpmTarget.writeConfigFile): ${name} must be a known macro.
  const expand = (file: string) =>
    fs.readFileSync(path.join(ROOT, "build", "linux", file), "utf8").replace(/\${([a-zA-Z]+)}/g, (_m, name: string) => {
      const macros: Record<string, string> = { executable: "custos", sanitizedProductName: "Custos", productFilename: "Custos" };
      if (!(name in macros)) throw new Error(`Macro ${name} is not defined`);
      return macros[name]!;
    });

  it.each(["after-install.sh", "after-remove.sh"])("%s expands with electron-builder's macros and is valid bash", (file) => {
    const script = path.join(base, file);
    fs.writeFileSync(script, expand(file));
    expect(spawnSync("bash", ["-n", script]).status).toBe(0);
  });

  it("installs a launcher that runs commands headless through --custos-cli and opens the app otherwise", () => {
    const text = expand("after-install.sh");
    const launcher = /<<'LAUNCHER'\n([^]*?)\nLAUNCHER\n/.exec(text)![1]!;
    expect(launcher).toContain("app='/opt/Custos/custos'");
    const fakeApp = path.join(base, "fake-custos");
    fs.writeFileSync(fakeApp, '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
    const bin = path.join(base, "custos-launcher");
    fs.writeFileSync(bin, launcher.replace("app='/opt/Custos/custos'", `app='${fakeApp}'`), { mode: 0o755 });
    const run = (...args: string[]) => execFileSync(bin, args, { encoding: "utf8" }).trim();
    expect(run("verify", "/tmp/report.pdf")).toBe("--ozone-platform=headless --disable-gpu --custos-cli verify /tmp/report.pdf");
    expect(run("report", "t.sqlite", "--out", "r.pdf")).toBe("--ozone-platform=headless --disable-gpu --custos-cli report t.sqlite --out r.pdf");
    expect(run()).toBe("");
    expect(run("--some-chromium-switch")).toBe("--some-chromium-switch");
  });
});
