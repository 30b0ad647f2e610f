/**
 * Every security setting of the shell in one place, each flag explicit, so a
 * reviewer reads one file and a changed Electron default cannot weaken it.
 * The threat throughout: the renderer shows share words and drives a root key
 * ceremony; if it is ever compromised (a bug in React, a malicious dependency)
 * it must not reach the network, other local files, new windows, devices or
 * a debugger, and the main process (which holds the KEK in memory) must not
 * leave that memory in a crash or core dump.
 */
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import inspector from "node:inspector";
import path from "node:path";
import { app as electronApp, type App, type Session, type WebPreferences } from "electron";
import { isRendererFileUrl } from "./paths";

/** The renderer's Content Security Policy; the same text as the meta tag in renderer/index.html. */
export const RENDERER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/** webPreferences for the one window: sandboxed, isolated, no Node, no webviews, devtools only in development. */
export function secureWebPreferences(preloadPath: string, isPackaged: boolean = electronApp.isPackaged): WebPreferences {
  return {
    preload: preloadPath,
    // The renderer runs in Chromium's OS sandbox with no Node and talks to main
    // only through the preload's single function.
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    // A file dropped on the window would otherwise replace the app with it.
    navigateOnDragDrop: false,
    // Spell checking sends typed words (passphrases, share words) to a dictionary service.
    spellcheck: false,
    enableWebSQL: false,
    webgl: false,
    plugins: false,
    safeDialogs: true,
    // A middle click would otherwise open a link in a new window, bypassing will-navigate.
    disableBlinkFeatures: "Auxclick",
    // DevTools can read every share word on screen and call window.custos.
    devTools: !isPackaged,
  };
}

/** Is this renderer request allowed? Only our own renderer files, inline images, and DevTools in development. */
export function isRequestAllowed(url: string, resourceType: string, rendererDir: string, allowDevtools: boolean): boolean {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return false;
  }
  if (protocol === "devtools:") return allowDevtools;
  // data: images are allowed by the CSP (QR codes); a data: document is a way to run foreign markup.
  if (protocol === "data:") return resourceType !== "mainFrame" && resourceType !== "subFrame";
  return isRendererFileUrl(url, rendererDir);
}

/** Cancels every web request that is not a file of our renderer folder. */
export function blockRequests(session: Session, rendererDir: string, allowDevtools: boolean = !electronApp.isPackaged): void {
  // The app has no network use: a compromised renderer must not reach out
  // (exfiltrate share words) nor read other local files through file: URLs.
  session.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isRequestAllowed(details.url, details.resourceType, rendererDir, allowDevtools) });
  });
}

/** Adds the strict CSP as a response header too (defense in depth: Chromium may not apply headers to file: documents; the meta tag is primary). */
export function addContentSecurityPolicy(session: Session): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, "Content-Security-Policy": [RENDERER_CSP] } });
  });
}

/** Denies every permission request and check (camera, microphone, USB/HID/serial devices, notifications, clipboard…). */
export function blockPermissionRequests(session: Session): void {
  // The renderer needs none of them; WebUSB/WebHID in particular would let a
  // compromised renderer talk to the HSM behind the main process's back.
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

/** Applies the request filter, the CSP header and the permission denial to one session. */
export function hardenSession(session: Session, rendererDir: string, isPackaged: boolean = electronApp.isPackaged): void {
  blockRequests(session, rendererDir, !isPackaged);
  addContentSecurityPolicy(session);
  blockPermissionRequests(session);
}

/** Blocks navigation, redirects, window.open and <webview> in every web contents the app ever creates. */
export function blockNavigationAndWindowOpen(app: Pick<App, "on">): void {
  // The window shows our renderer and nothing else: a navigation (a link, a
  // script setting location) would put foreign content next to window.custos.
  app.on("web-contents-created", (_event, contents) => {
    contents.on("will-navigate", (e) => e.preventDefault());
    contents.on("will-frame-navigate", (e) => e.preventDefault());
    contents.on("will-redirect", (e) => e.preventDefault());
    contents.on("will-attach-webview", (e) => e.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: "deny" }));
  });
}

/**
 * Switches a packaged build refuses: those that attach a debugger (Node
 * inspector, Chromium DevTools protocol) and those that switch off Chromium's
 * OS sandbox around the renderer.
 */
const REFUSED_ARG =
  /^--(inspect|inspect-brk|inspect-port|inspect-wait|inspect-publish-uid|debug|debug-brk|debug-port|remote-debugging-port|remote-debugging-pipe|remote-debugging-address|remote-allow-origins|no-sandbox|disable-seccomp-filter-sandbox)(=|$)/;
const REFUSED_SWITCHES = ["inspect", "inspect-brk", "inspect-port", "remote-debugging-port", "remote-debugging-pipe", "remote-debugging-address", "no-sandbox", "disable-seccomp-filter-sandbox"];

/** What the process hardening did, for the startup log. */
export interface ProcessHardening {
  /** The debugging or sandbox-disabling switch that made the app refuse to start. */
  refused?: string;
  /** Core dumps of the main process: "disabled", or why not. */
  coreDumps: string;
  /** Where Chromium would put crash dumps (emptied at start), if set. */
  crashDumpsDir?: string;
}

/** The process facts the hardening looks at; real ones by default, fakes in tests. */
export interface ProcessDeps {
  argv: readonly string[];
  execArgv: readonly string[];
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  pid: number;
  inspectorUrl: () => string | undefined;
  /** Sets RLIMIT_CORE of a process to 0 (soft and hard); true if it took. Used once, before any window exists. */
  setCoreLimitZero: (pid: number) => boolean;
  /** The same for child processes once the window exists, without blocking the main process (default: setCoreLimitZero). */
  setCoreLimitZeroLater?: (pid: number) => void;
  log: (line: string) => void;
}

/** Finds a debugging or sandbox-disabling switch on the command line, in NODE_OPTIONS, or an inspector already listening. */
export function findDebugSwitch(hasSwitch: (name: string) => boolean, deps: Pick<ProcessDeps, "argv" | "execArgv" | "env" | "inspectorUrl">): string | undefined {
  const args = [...deps.argv.slice(1), ...deps.execArgv, ...(deps.env.NODE_OPTIONS ?? "").split(/\s+/)];
  const arg = args.find((a) => REFUSED_ARG.test(a));
  if (arg) return arg.split("=")[0];
  const sw = REFUSED_SWITCHES.find((s) => hasSwitch(s));
  if (sw) return `--${sw}`;
  if (deps.inspectorUrl()) return "inspector";
  return undefined;
}

/**
 * In packaged builds: refuses to start under a debugger or without the
 * renderer sandbox (--no-sandbox), keeps crash dumps in a folder emptied at
 * every start (the crash reporter is never started), and on Linux sets the
 * core dump size limit of the main process and of Chromium's child processes
 * to 0. Development builds are left alone (Playwright's _electron needs
 * --inspect, --remote-debugging-port and --no-sandbox).
 *
 * What is NOT done (Node has no API for it and Custos ships no native addon of
 * its own): prctl(PR_SET_DUMPABLE, 0), which Bitwarden sets through its own
 * native module, so another process of the same user can still ptrace the app
 * where kernel.yama.ptrace_scope allows it; and on Windows, Windows Error
 * Reporting dumps are not turned off. The ceremony laptop's setup covers both
 * (see build/PACKAGING.md).
 */
export function disableCoreDumpsAndDebugging(app: App, deps: ProcessDeps = realProcessDeps()): ProcessHardening {
  if (!app.isPackaged) return { coreDumps: "left alone in development builds" };

  // A debugger attached to Custos reads the KEK and share values from memory.
  // The enableNodeCliInspectArguments fuse already makes Node ignore --inspect;
  // there is no fuse for --remote-debugging-port or --no-sandbox, hence this check.
  const refused = findDebugSwitch((s) => app.commandLine.hasSwitch(s), deps);
  if (refused) {
    deps.log(`Custos: refusing to start with ${refused}: it would let a debugger or an unsandboxed renderer reach key material.`);
    app.exit(1);
    return { refused, coreDumps: "not applied (refused to start)" };
  }

  // A crash dump of the main process would hold the KEK. Custos never calls
  // crashReporter.start(); should anything start it, its dumps land in a folder
  // of ours that is emptied at every start instead of Chromium's default.
  const crashDumpsDir = path.join(app.getPath("userData"), "crash-dumps");
  try {
    fs.rmSync(crashDumpsDir, { recursive: true, force: true });
    fs.mkdirSync(crashDumpsDir, { recursive: true, mode: 0o700 });
    app.setPath("crashDumps", crashDumpsDir);
  } catch (e) {
    deps.log(`Custos: could not prepare the crash dump folder: ${e instanceof Error ? e.message : String(e)}`);
  }

  if (deps.platform !== "linux") return { coreDumps: `not changed on ${deps.platform} (no API without a native module)`, crashDumpsDir };

  const coreDumps = deps.setCoreLimitZero(deps.pid) ? "disabled" : "NOT disabled: prlimit failed";
  if (coreDumps !== "disabled") deps.log(`Custos: core dumps of the main process are ${coreDumps}; set "ulimit -c 0" before starting Custos.`);
  // Renderers are forked from Chromium's zygote, which started before this
  // code ran: limit every child process once they exist (the zygote too, so
  // later renderers inherit the limit), and each renderer once it has loaded.
  const later = deps.setCoreLimitZeroLater ?? ((pid: number) => void deps.setCoreLimitZero(pid));
  const limitChildren = () => {
    for (const m of app.getAppMetrics()) if (m.pid !== deps.pid) later(m.pid);
  };
  app.on("ready", limitChildren);
  app.on("web-contents-created", (_event, contents) => {
    contents.on("did-finish-load", () => {
      const pid = contents.getOSProcessId();
      if (pid > 0) later(pid);
    });
  });
  return { coreDumps, crashDumpsDir };
}

/** Sets RLIMIT_CORE of a process to 0 with util-linux's prlimit (Node has no setrlimit); true if it took. */
export function setCoreLimitZeroWithPrlimit(pid: number): boolean {
  // An absolute path: a prlimit planted earlier on PATH must not run here.
  const prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].find((p) => fs.existsSync(p));
  if (!prlimit) return false;
  const r = spawnSync(prlimit, ["--pid", String(pid), "--core=0:0"], { stdio: "ignore", timeout: 5_000 });
  return r.status === 0;
}

/** setCoreLimitZeroWithPrlimit without waiting for prlimit: the window keeps painting meanwhile. */
export function setCoreLimitZeroLater(pid: number, log: (line: string) => void = (l) => console.error(l)): void {
  const prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].find((p) => fs.existsSync(p));
  if (!prlimit) return log(`Custos: prlimit is missing; core dumps of process ${pid} are not disabled.`);
  execFile(prlimit, ["--pid", String(pid), "--core=0:0"], { timeout: 5_000 }, (e) => {
    if (e) log(`Custos: could not disable core dumps of process ${pid}: ${e.message}`);
  });
}

function realProcessDeps(): ProcessDeps {
  return {
    argv: process.argv,
    execArgv: process.execArgv,
    env: process.env,
    platform: process.platform,
    pid: process.pid,
    inspectorUrl: () => inspector.url(),
    setCoreLimitZero: setCoreLimitZeroWithPrlimit,
    setCoreLimitZeroLater: (pid) => setCoreLimitZeroLater(pid),
    log: (line) => console.error(line),
  };
}
