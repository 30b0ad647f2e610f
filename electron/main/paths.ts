/**
 * Where Custos keeps its data and finds its own files. Everything the shell
 * ships (bundle, preload, renderer, ceremony scripts) is located relative to
 * the bundle itself, so a packaged build reads only what is inside app.asar
 * (covered by the asar integrity fuse) and never a file picked by the
 * current directory or an environment variable.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { App } from "electron";

export interface AppPaths {
  /** Chromium profile and app data: <appData>/Custos whatever the launch command. */
  userDataDir: string;
  /** Transcript database, rehearsal tokens, ceremony artifacts. */
  dataDir: string;
  /** Folder holding ceremony-scripts/ (the app root: repository or app.asar). */
  resourcesDir: string;
  /** The built renderer (index.html and its assets); the only files the window may load. */
  rendererDir: string;
  /** The sandboxed preload bundle. */
  preloadPath: string;
  /** The core host bundle, run in a utility process. */
  hostPath: string;
  /** The `custos` command bundle, run in a utility process by --custos-cli. */
  cliPath: string;
  /** better_sqlite3.node built for this Electron's ABI (outside app.asar: dlopen cannot read an archive). */
  sqliteBinding: string;
  /** The app's settings (production HSM module): <userData>/settings.json. */
  settingsFile: string;
  /** Startup and crash reasons: <userData>/logs/custos.log. */
  logFile: string;
}

/**
 * Resolves the app's paths from the folder of the main bundle
 * (<root>/dist/electron, where <root> is the repository in development and
 * resources/app.asar when packaged).
 */
export function resolvePaths(app: Pick<App, "getPath" | "isPackaged">, bundleDir: string, env: NodeJS.ProcessEnv = process.env): AppPaths {
  const root = path.resolve(bundleDir, "..", "..");
  // CUSTOS_USER_DATA_DIR and CUSTOS_DATA_DIR let development runs and the
  // Electron end-to-end suite use throwaway folders; a packaged build ignores
  // them, so nobody can point a production ceremony at another transcript
  // database or settings file through the environment.
  const dev = (name: string) => (!app.isPackaged && env[name] ? path.resolve(env[name]!) : undefined);
  const userDataDir = dev("CUSTOS_USER_DATA_DIR") ?? path.join(app.getPath("appData"), "Custos");
  // electron-builder unpacks *.node next to the archive (asarUnpack).
  const unpacked = path.basename(root) === "app.asar" ? `${root}.unpacked` : root;
  return {
    userDataDir,
    dataDir: dev("CUSTOS_DATA_DIR") ?? path.join(userDataDir, "data"),
    resourcesDir: root,
    rendererDir: path.join(root, "dist", "renderer"),
    preloadPath: path.join(bundleDir, "preload.cjs"),
    hostPath: path.join(bundleDir, "core-host.cjs"),
    cliPath: path.join(bundleDir, "cli.cjs"),
    // CUSTOS_SQLITE_BINDING (development only) lets the bundle smoke test run the app's main process under plain Node.
    sqliteBinding: dev("CUSTOS_SQLITE_BINDING") ?? path.join(unpacked, "native-electron", "better_sqlite3.node"),
    settingsFile: path.join(userDataDir, "settings.json"),
    logFile: path.join(userDataDir, "logs", "custos.log"),
  };
}

/**
 * Is this URL a file: URL naming a file inside the renderer folder? The one
 * test behind the request filter and the IPC sender check: a compromised
 * renderer must not read other local files, and a frame showing anything but
 * our own renderer must not reach the IPC handlers.
 */
export function isRendererFileUrl(url: string, rendererDir: string): boolean {
  let file: string;
  try {
    const u = new URL(url);
    if (u.protocol !== "file:") return false;
    // fileURLToPath refuses a remote host (file://evil/share) and encoded
    // slashes; the URL parser has already resolved ".." and "%2e%2e".
    file = fileURLToPath(u);
  } catch {
    return false;
  }
  const rel = path.relative(path.resolve(rendererDir), path.resolve(file));
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
