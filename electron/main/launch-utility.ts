/**
 * Starts the core host in an Electron utility process: a Node environment of
 * its own, outside the main process, so a 30-second key generation, scrypt or
 * a verify of 10,000 entries never stops the window from painting.
 */
import { utilityProcess } from "electron";
import type { HostProcess, LaunchHost } from "./host-supervisor";

/** A launcher for HostSupervisor that forks `modulePath` with utilityProcess. */
export function utilityLauncher(modulePath: string, o: { serviceName: string; env?: NodeJS.ProcessEnv }): LaunchHost {
  return (): HostProcess => {
    const child = utilityProcess.fork(modulePath, [], { serviceName: o.serviceName, stdio: "inherit", env: o.env ?? process.env });
    return {
      get pid() {
        return child.pid;
      },
      post: (m) => child.postMessage(m),
      onMessage: (cb) => void child.on("message", cb),
      onExit: (cb) => void child.once("exit", (code) => cb(code, null)),
      kill: (signal) => {
        // utilityProcess.kill() sends SIGTERM, which a process stuck inside a
        // PKCS#11 call may never act on.
        if (signal === "SIGKILL" && child.pid) {
          try {
            process.kill(child.pid, "SIGKILL");
            return;
          } catch {
            // already gone
          }
        }
        child.kill();
      },
    };
  };
}
