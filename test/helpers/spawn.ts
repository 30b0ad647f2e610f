import { spawn, type SpawnOptions } from "node:child_process";

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * spawnSync without blocking the test worker: Vitest's worker answers its
 * runner over RPC, and a child running for a minute under spawnSync makes that
 * RPC time out ("Timeout calling onTaskUpdate"). Use this for long children.
 */
export function run(command: string, args: readonly string[], options: SpawnOptions & { timeout?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = options.timeout ? setTimeout(() => child.kill("SIGKILL"), options.timeout) : undefined;
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on("close", (status) => {
      if (timer) clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Is a process (a daemon a test started) still running? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
