import fs from "node:fs";
import path from "node:path";
import { listNetworkInterfaces } from "../engine/network";
import type { EngineDeps } from "../engine/types";
import { CustosError } from "../errors";
import { toCustosError } from "../files/fault";
import { FolderLock } from "../files/lock";
import { Hsm } from "../hsm";
import { renderReport } from "../report";
import { TranscriptStore } from "../transcript/store";
import { guardHandlers, type AppLogger } from "./boundary";
import { finishCeremony, lifecycleHandlers } from "./ceremony-lifecycle";
import { custodyHandlers } from "./custody-actions";
import type { Handlers } from "./dispatch";
import { evidenceHandlers } from "./evidence-actions";
import { FileHandles } from "./file-handles";
import { hsmChooser } from "./hsm-chooser";
import { LiveSession } from "./live-session";
import { personalTokensDep } from "./personal-tokens";
import { lpPrinter, type PrintPdf } from "./print";
import { reportHandlers } from "./report-actions";
import type { SessionFile } from "./session-file";
import { stepHandlers } from "./step-actions";
import { UiDriver } from "./ui-driver";
import { sweepDeadCopies } from "../files/private-copies";

export type { AppLogger } from "./boundary";
export { checkedCardPath } from "./evidence-actions";

export interface AppServiceOptions {
  /** Where the transcript database, rehearsal tokens and ceremony artifacts live. */
  dataDir: string;
  /**
   * <userData>/settings.json: the production HSM the administrator chose on the home screen (read at each
   * use, written by hsm:choose). CUSTOS_PKCS11_MODULE in `env` overrides it.
   */
  settingsFile?: string;
  /** The environment (CUSTOS_PKCS11_MODULE, CUSTOS_PKCS11_INIT_ARGS); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Folder holding ceremony-scripts/. */
  resourcesDir: string;
  /** Scrypt cost for new participants; "test" only for end-to-end tests. */
  kdfCost?: "interactive" | "test";
  /** Attestation keys stay unlocked this long after a passphrase (ms). */
  attestWindowMs?: number;
  networkInterfaces?: EngineDeps["networkInterfaces"];
  /** Files the operator chose in the main process's dialogs (the renderer holds only their handles). */
  files?: FileHandles;
  /** The printer (CUPS lp by default). */
  print?: PrintPdf;
  /**
   * Where the service reports what it could not tell the screen (the host's log): the original error
   * and its stack behind a plain message. Never secrets: messages are built without share material,
   * PINs or passphrases.
   */
  log?: (line: string) => void;
}

export type { SessionState } from "./session-view";

/** The core object behind the IPC channels: one ceremony session at a time. */
export function createAppService(o: AppServiceOptions): { handlers: Handlers; files: FileHandles; close(): void } {
  const log: AppLogger = (level, message, detail) => o.log?.(`${level}: ${message}${detail ? `\n${detail}` : ""}`);
  fs.mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  sweepDeadCopies(); // private copies of evidence a killed run left in the temporary directory
  const files = o.files ?? new FileHandles();
  const print = o.print ?? lpPrinter();
  const scriptsDir = path.join(o.resourcesDir, "ceremony-scripts");
  // One writer per installation: a second app on the same data folder is refused here, naming the first.
  const lock = FolderLock.acquire(o.dataDir, "Custos desktop app");
  if (lock.previous) log("warn", `Custos was not closed cleanly last time (process ${lock.previous.pid}, since ${lock.previous.since}).`);
  let store: TranscriptStore;
  try {
    store = TranscriptStore.open(path.join(o.dataDir, "transcript.sqlite"));
  } catch (e) {
    lock.release();
    throw toCustosError(e, { doing: `opening ${path.join(o.dataDir, "transcript.sqlite")}` });
  }
  const ceremonyDir = (id: string) => path.join(o.dataDir, "ceremonies", id);
  const live = new LiveSession(ceremonyDir);
  const hsmChoice = { settingsFile: o.settingsFile, env: o.env ?? process.env };
  const chooser = hsmChooser({ ...hsmChoice, busy: () => live.ceremony !== null || live.running });
  const notWhileChecking = () => {
    if (chooser.checking()) throw new CustosError("SESSION_BUSY", "An HSM is being checked on the home screen.", "Wait for its verdict, then start.");
  };

  const suggestions = () =>
    store
      .listCeremonies()
      .filter((c) => c.status === "closed" && (!live.ceremony || c.id !== live.ceremony.id))
      .map((c) => ({ label: `${c.scriptTitle} — ${c.id} (${c.mode})`, transcript: path.join(o.dataDir, "transcript.sqlite"), backup: path.join(ceremonyDir(c.id), "backup.json") }))
      .filter((s) => fs.existsSync(s.backup!));

  function engineDeps(session: SessionFile): EngineDeps {
    // The id is known only once the ceremony exists, so the folder is looked up when an artifact is saved.
    live.driver = new UiDriver(live.broker, () => ceremonyDir(live.ceremony!.id), suggestions, { files, print, mode: session.mode, log: o.log });
    return {
      store,
      driver: live.driver,
      openHsm: () => (session.softhsmConfig ? Hsm.open(session.modulePath, { env: { SOFTHSM2_CONF: session.softhsmConfig } }) : Hsm.open(session.modulePath, { initArgs: session.initArgs })),
      networkInterfaces: o.networkInterfaces ?? (() => listNetworkInterfaces()),
      now: () => new Date(),
      kdfCost: o.kdfCost ?? "interactive",
      attestWindowMs: o.attestWindowMs ?? 5 * 60_000,
      renderReport: (b) => renderReport(b),
      ...personalTokensDep(hsmChoice.env, o.settingsFile, session),
    };
  }

  const handlers: Handlers = {
    ...lifecycleHandlers({ live, store, dataDir: o.dataDir, scriptsDir, ceremonyDir, hsmChoice, notWhileChecking, engineDeps, log }),
    ...stepHandlers({ live, finish: (c) => finishCeremony({ live, store, ceremonyDir, log }, c), log }),
    ...evidenceHandlers({ files, print, dataDir: o.dataDir, onScreen: () => live.driver?.onScreen }),
    ...custodyHandlers({ files }),
    ...chooser.handlers,
    ...reportHandlers({ current: () => (live.ceremony ? { id: live.ceremony.id, dir: ceremonyDir(live.ceremony.id), done: live.ceremony.done } : null), files, print, dataDir: o.dataDir }),
  };

  return {
    handlers: guardHandlers(handlers, log),
    files,
    close() {
      live.broker.cancel("Custos is closing.");
      live.ceremony?.close();
      store.close();
      lock.release();
    },
  };
}
