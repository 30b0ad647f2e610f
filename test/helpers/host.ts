/**
 * The core host as the app runs it, but under plain Node: the built bundle
 * (dist/electron/core-host.cjs) in a child_process.fork child, behind the same
 * HostSupervisor and protocol the Electron main process uses.
 */
import { execFileSync, fork } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { HostProcess, LaunchHost } from "../../electron/main/host-supervisor";
import { ROOT } from "./files";

export const HOST_BUNDLE = path.join(ROOT, "dist", "electron", "core-host.cjs");

/** Builds dist/electron (esbuild, about a second) so the test runs what the app ships. */
export function buildElectronBundles(): void {
  execFileSync(process.execPath, [path.join(ROOT, "build", "esbuild-electron.mjs")], { cwd: ROOT, stdio: "pipe" });
  if (!fs.existsSync(HOST_BUNDLE)) throw new Error("build/esbuild-electron.mjs did not write dist/electron/core-host.cjs");
}

/** A launcher that forks the bundle with Node's IPC channel (structured clone, like Electron's ports). */
export function nodeLauncher(modulePath = HOST_BUNDLE, env: NodeJS.ProcessEnv = process.env): LaunchHost {
  return (): HostProcess => {
    const child = fork(modulePath, [], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"], env });
    return {
      get pid() {
        return child.pid;
      },
      post: (m) => void child.send(m),
      onMessage: (cb) => void child.on("message", cb),
      onExit: (cb) => void child.once("exit", (code, signal) => cb(code, signal)),
      kill: (signal) => void child.kill(signal),
    };
  };
}
