/**
 * The `custos` command inside the packaged app (bundled to
 * dist/electron/cli.cjs). The .deb's /usr/bin/custos starts the app's own
 * binary with --custos-cli; its main process runs this file in a utility
 * process (no window), with the Electron-ABI SQLite module, so auditors get
 * `custos verify` without a separate Node.js. Under plain Node it runs as is.
 */
import { useSqliteBinding } from "../core/host/sqlite-binding";
import { CustosError } from "../core/errors";
import { main } from "./main";

function args(): string[] {
  const fromMain = process.env.CUSTOS_CLI_ARGV;
  if (fromMain) {
    const a = JSON.parse(fromMain) as unknown;
    if (Array.isArray(a) && a.every((x) => typeof x === "string")) return a;
  }
  return process.argv.slice(2);
}

async function run(): Promise<number> {
  const binding = process.env.CUSTOS_SQLITE_BINDING;
  try {
    if (binding) useSqliteBinding(binding);
  } catch (e) {
    const err = e as CustosError;
    process.stderr.write(`custos: ${err.message}\n  ${err.hint}\n`);
    return 2;
  }
  return main(args());
}

void run().then((code) => {
  process.exitCode = code;
});
