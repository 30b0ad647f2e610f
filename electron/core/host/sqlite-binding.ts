/**
 * better-sqlite3 as the core host's bundle sees it. The project's
 * node_modules holds a better_sqlite3.node built for Node's ABI (tests, the
 * CLI); Electron's Node has another ABI and refuses it. The Electron build
 * lives in a folder of its own (native-electron/, built by
 * build/electron-native.mjs) and is handed to better-sqlite3 through its
 * `nativeBinding` option. The bundler (build/esbuild-electron.mjs) points every
 * `import "better-sqlite3"` of the host bundle at this file, so the transcript
 * store opens its database with the right binary without knowing about it.
 */
import Real from "better-sqlite3";
import { CustosError } from "../errors";

let addon: object | null = null;
let loadedFrom = "node_modules (the default build)";

/**
 * Loads the native module at `file` now, so a wrong ABI is reported when the
 * host starts, with what to do, and not at the first query of a ceremony.
 */
export function useSqliteBinding(file: string): void {
  const m = { exports: {} as object };
  try {
    process.dlopen(m, file);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const abi = /NODE_MODULE_VERSION (\d+)[^]*NODE_MODULE_VERSION (\d+)/.exec(msg);
    throw new CustosError(
      "SQLITE_BINDING",
      abi
        ? `The SQLite module ${file} is built for NODE_MODULE_VERSION ${abi[1]}, but this runtime needs ${abi[2]} (process.versions.modules).`
        : `The SQLite module ${file} cannot be loaded (${msg.split("\n")[0]}).`,
      "Rebuild it for this Electron with `node build/electron-native.mjs` (needs network once), or reinstall the Custos package.",
    );
  }
  addon = m.exports;
  loadedFrom = file;
}

/** Where the SQLite module in use came from (for the startup log). */
export function sqliteBindingSource(): string {
  return loadedFrom;
}

/** `new Database(file, options)` with the chosen native module unless the caller names one. */
function Database(filename?: string | Buffer, options?: Real.Options): Real.Database {
  const opts = addon && !(options && "nativeBinding" in options) ? { ...options, nativeBinding: addon as unknown as string } : options;
  return new Real(filename, opts);
}
Database.prototype = Real.prototype;
(Database as unknown as { SqliteError: unknown }).SqliteError = (Real as unknown as { SqliteError: unknown }).SqliteError;

export default Database as unknown as typeof Real;
