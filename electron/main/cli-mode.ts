/**
 * `custos <command>` in the packaged app: the .deb's /usr/bin/custos runs the
 * app's binary with --custos-cli; the command runs in a utility process (the
 * main process loads no native module), with no window, and the app exits
 * with its status. Auditors get `custos verify` without installing Node.js.
 */
import type { App } from "electron";
import type { LaunchHost } from "./host-supervisor";

export const CLI_SWITCH = "--custos-cli";

/** The command's arguments when started with --custos-cli, else null. */
export function cliArguments(argv: readonly string[]): string[] | null {
  const i = argv.indexOf(CLI_SWITCH);
  if (i < 0) return null;
  const rest = argv.slice(i + 1);
  return rest[0] === "--" ? rest.slice(1) : rest;
}

/** Runs the command and exits with its status. */
export function runCli(app: Pick<App, "whenReady" | "exit">, launch: LaunchHost): void {
  void app.whenReady().then(() => {
    const child = launch();
    child.onExit((code, signal) => app.exit(code ?? (signal ? 1 : 0)));
  });
}
