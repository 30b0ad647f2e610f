import fs from "node:fs";
import path from "node:path";
import type { ChannelRequest } from "../../shared/ipc";
import { Ceremony, newCeremonyId, resolveSettings } from "../engine/ceremony";
import { listNetworkInterfaces } from "../engine/network";
import type { EngineDeps } from "../engine/types";
import { CustosError } from "../errors";
import { lexists, removeStaleTemps, writeFileAtomic } from "../files/atomic";
import { toCustosError } from "../files/fault";
import { FolderLock, LOCK_NAMES } from "../files/lock";
import { isInside, realTarget } from "../files/paths";
import { Hsm, findPkcs11Module, openRehearsalHsm, prepareRehearsalTokenDir } from "../hsm";
import { renderReport } from "../report";
import { shareCardPdf } from "../rehearse/rehearse";
import { lintScriptFile, loadScriptFile } from "../script/load";
import { readVerifiedSource, verifyAnyFile } from "../source";
import { bundleToJson, exportBundle } from "../transcript/bundle";
import { TranscriptStore } from "../transcript/store";
import { detailOf, guardHandlers, shownOf, type AppLogger } from "./boundary";
import { custodyHandlers } from "./custody-actions";
import { hsmChooser, productionHsm } from "./hsm-chooser";
import type { Handlers } from "./dispatch";
import { FileHandles } from "./file-handles";
import { lpPrinter, type PrintPdf } from "./print";
import { PromptBroker, type Prompt, type ShownError } from "./prompts";
import { reportHandlers } from "./report-actions";
import { UiDriver } from "./ui-driver";
import { personalTokensDep } from "./personal-tokens";
import { CEREMONY_ID, SessionFileSchema, type SessionFile } from "./session-file";
import { ceremonyView, entryView, forRoom, type SessionState } from "./session-view";

export type { AppLogger } from "./boundary";

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
  let version = 1;
  const waiters: Array<() => void> = [];
  const bump = () => {
    version++;
    for (const w of waiters.splice(0)) w();
  };
  const broker = new PromptBroker(bump);
  let ceremony: Ceremony | null = null;
  let running = false;
  let lastError: ShownError | null = null;
  let lastEntry: SessionState["lastEntry"] = null;
  let typing: SessionState["typing"] = null;
  /** Counts step runs: a run abandoned by leaving must not touch the session any more. */
  let runs = 0;
  /** Steps that failed in this session, by step id (a later run of it is a retry). */
  const failures = new Map<string, number>();

  const ceremonyDir = (id: string) => path.join(o.dataDir, "ceremonies", id);
  const hsmChoice = { settingsFile: o.settingsFile, env: o.env ?? process.env };
  const chooser = hsmChooser({ ...hsmChoice, busy: () => ceremony !== null || running });
  const notWhileChecking = () => {
    if (chooser.checking()) throw new CustosError("SESSION_BUSY", "An HSM is being checked on the home screen.", "Wait for its verdict, then start.");
  };

  const suggestions = () =>
    store
      .listCeremonies()
      .filter((c) => c.status === "closed" && (!ceremony || c.id !== ceremony.id))
      .map((c) => ({ label: `${c.scriptTitle} — ${c.id} (${c.mode})`, transcript: path.join(o.dataDir, "transcript.sqlite"), backup: path.join(ceremonyDir(c.id), "backup.json") }))
      .filter((s) => fs.existsSync(s.backup!));

  let driver: UiDriver | null = null;
  function deps(session: SessionFile): EngineDeps {
    // The id is known only once the ceremony exists, so the folder is looked up when an artifact is saved.
    driver = new UiDriver(broker, () => ceremonyDir(ceremony!.id), suggestions, { files, print, mode: session.mode, log: o.log });
    return {
      store,
      driver,
      openHsm: () => (session.softhsmConfig ? Hsm.open(session.modulePath, { env: { SOFTHSM2_CONF: session.softhsmConfig } }) : Hsm.open(session.modulePath, { initArgs: session.initArgs })),
      networkInterfaces: o.networkInterfaces ?? (() => listNetworkInterfaces()),
      now: () => new Date(),
      kdfCost: o.kdfCost ?? "interactive",
      attestWindowMs: o.attestWindowMs ?? 5 * 60_000,
      renderReport: (b) => renderReport(b),
      ...personalTokensDep(hsmChoice.env, o.settingsFile, session),
    };
  }

  function state(surface: "room" | "private" = "private"): SessionState {
    const c = ceremony;
    const view = c?.currentStep();
    const full: SessionState = {
      version,
      ceremony: c ? ceremonyView(c, ceremonyDir(c.id)) : null,
      step: view ? { index: view.index, total: view.total, id: view.step.id, title: view.step.title, read: view.step.read, action: view.step.action, attest: view.step.attest } : null,
      running,
      prompt: broker.current(),
      lastError,
      lastEntry,
      handedOut: driver && running ? driver.handedOut.map((h) => ({ ...h })) : [],
      typing: broker.current() ? typing : null,
    };
    return surface === "room" ? forRoom(full) : full;
  }

  /** Shows an error on screen and logs its detail; the screen never gets a stack trace. */
  function showError(e: unknown, ctx?: Parameters<typeof toCustosError>[1]): CustosError {
    const err = toCustosError(e, ctx);
    log("error", `${err.code}: ${err.message}`, detailOf(e));
    return err;
  }

  /** Writes the closed ceremony's bundle and report; a failure is shown, the sealed transcript stays whole. */
  function finish(c: Ceremony): void {
    const dir = ceremonyDir(c.id);
    const ctx = { intact: "The ceremony is complete and sealed in the transcript.", next: "Run `custos report` and `custos export` on the transcript to write them again." };
    let bundle: ReturnType<typeof exportBundle>;
    try {
      bundle = exportBundle(store, c.id);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileAtomic(path.join(dir, "bundle.json"), bundleToJson(bundle));
    } catch (e) {
      lastError = shownOf(showError(e, { doing: `writing ${path.join(dir, "bundle.json")}`, ...ctx }));
      return;
    }
    void renderReport(bundle)
      .then((pdf) => writeFileAtomic(path.join(dir, "report.pdf"), pdf))
      .catch((e: unknown) => {
        lastError = shownOf(showError(e, { doing: `writing ${path.join(dir, "report.pdf")}`, ...ctx }));
      })
      .finally(bump);
  }

  /**
   * Opens a ceremony for this session. The new one is made first and the one on
   * screen is closed only when that worked: a refused start never touches an
   * open ceremony.
   */
  function open(session: SessionFile, make: (d: EngineDeps) => Ceremony): SessionState {
    if (running) throw new CustosError("SESSION_BUSY", "A step is running.", "Finish or abandon it first.");
    const previous = ceremony;
    const previousDriver = driver;
    let next: Ceremony;
    try {
      next = make(deps(session));
    } catch (e) {
      driver = previousDriver;
      throw e;
    }
    previous?.close();
    ceremony = next;
    removeStaleTemps(ceremonyDir(next.id), 0);
    lastError = null;
    lastEntry = null;
    bump();
    return state();
  }

  /** Writes session.json (atomically) before the ceremony exists, so a started ceremony can always be resumed. */
  function writeSession(session: SessionFile): void {
    const dir = ceremonyDir(session.ceremonyId);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(dir, "session.json"), JSON.stringify(session, null, 2) + "\n", { mode: 0o600 });
  }

  const handlers: Handlers = {
    async "app:info"() {
      const scripts = fs
        .readdirSync(scriptsDir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((file) => {
          const r = lintScriptFile(path.join(scriptsDir, file));
          return { file, id: r.script?.id ?? file, title: r.script?.title ?? file, kind: r.script?.kind ?? "invalid", valid: !!r.script, quorum: r.script?.quorum ?? null, algorithms: r.script?.policy.algorithms ?? [] };
        });
      let softhsm: string | null = null;
      try {
        softhsm = findPkcs11Module();
      } catch {
        softhsm = null;
      }
      const production = productionHsm(hsmChoice);
      return { scripts, dataDir: o.dataDir, productionModule: production.module, production, softhsm };
    },
    async "ceremony:list"() {
      return store.listCeremonies().map((c) => ({ id: c.id, title: c.scriptTitle, mode: c.mode, status: c.status, createdAt: c.createdAt, entries: store.head(c.id)?.seq ?? 0 }));
    },
    async "ceremony:start"(req: ChannelRequest<"ceremony:start">) {
      notWhileChecking();
      if (running) throw new CustosError("SESSION_BUSY", "A step is running.", "Finish or abandon it first.");
      // Enforced here, not only on the screen: real keys are made only when PRODUCTION was typed.
      if (req.mode === "production" && req.confirmation?.trim() !== "PRODUCTION") {
        throw new CustosError("PRODUCTION_NOT_CONFIRMED", "A production ceremony starts only when PRODUCTION is typed in the confirmation field.", "Type PRODUCTION (capital letters), or choose REHEARSAL.");
      }
      if (path.basename(req.script) !== req.script || !req.script.endsWith(".yaml")) {
        throw new CustosError("SCRIPT_UNREADABLE", "Choose one of the shipped ceremony scripts.", "");
      }
      const loaded = loadScriptFile(path.join(scriptsDir, req.script));
      const startOptions = { mode: req.mode, algorithm: req.algorithm, shares: req.custodians, threshold: req.threshold };
      // Refusals first (settings, module): nothing is written for a start that cannot happen.
      const settings = resolveSettings(loaded.script, startOptions);
      const production = req.mode === "rehearsal" ? null : productionHsm(hsmChoice);
      const mod = req.mode === "rehearsal" ? findPkcs11Module() : production!.module;
      if (!mod) {
        throw new CustosError(
          "HSM_NOT_CONFIGURED",
          "No HSM is configured for a production ceremony.",
          "Choose your HSM's PKCS#11 module under \"HSM for production\" on the home screen (or set CUSTOS_PKCS11_MODULE), or run a rehearsal on a throwaway SoftHSM token.",
        );
      }
      const modulePath = req.mode === "rehearsal" ? mod : findPkcs11Module(mod);
      const ceremonyId = newCeremonyId(loaded.script.id, new Date());
      const made: string[] = [ceremonyDir(ceremonyId)];
      try {
        let session: SessionFile = { ceremonyId, settings, mode: req.mode, modulePath, ...(production?.initArgs ? { initArgs: production.initArgs } : {}) };
        if (req.mode === "rehearsal") {
          // A fresh throwaway SoftHSM token folder for every rehearsal.
          const dir = path.join(o.dataDir, "rehearsal-tokens", ceremonyId);
          made.push(dir);
          const t = prepareRehearsalTokenDir(dir, modulePath);
          session = { ...session, softhsmConfig: t.configPath, tokenFolder: dir };
        }
        writeSession(session);
        return open(session, (d) => Ceremony.start(d, loaded, { ...startOptions, ceremonyId }));
      } catch (e) {
        // A failed start leaves nothing behind: its folders go (the transcript has no row for it unless start succeeded).
        if (!store.getCeremony(ceremonyId)) for (const d of made) fs.rmSync(d, { recursive: true, force: true });
        throw e;
      }
    },
    async "ceremony:resume"(req: ChannelRequest<"ceremony:resume">) {
      notWhileChecking();
      // Only ids of ceremonies in this transcript: never a path, never `../..`.
      if (!CEREMONY_ID.test(req.ceremonyId) || !store.getCeremony(req.ceremonyId)) {
        throw new CustosError("CEREMONY_NOT_FOUND", "There is no such ceremony to resume.", "Choose one from the list on the home screen.");
      }
      const f = path.join(ceremonyDir(req.ceremonyId), "session.json");
      let session: SessionFile;
      try {
        session = SessionFileSchema.parse(JSON.parse(fs.readFileSync(f, "utf8")));
      } catch (e) {
        log("error", `session.json of ${req.ceremonyId} unusable`, detailOf(e));
        // The message never echoes the file's content.
        throw new CustosError("SESSION_FILE", `The ceremony ${req.ceremonyId} cannot be resumed here: its session.json is missing or damaged.`, "Its transcript is intact; verify it from the auditor's screen.");
      }
      if (session.ceremonyId !== req.ceremonyId) throw new CustosError("SESSION_FILE", `The session.json of ${req.ceremonyId} names another ceremony.`, "Its transcript is intact; verify it from the auditor's screen.");
      open(session, (d) => Ceremony.resume(d, req.ceremonyId));
      ceremony?.recordDeviation("resumed", {});
      bump();
      return state();
    },
    async "session:state"(req: ChannelRequest<"session:state">) {
      if (req.since !== undefined && req.since >= version) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 20_000);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return state(req.surface ?? "private");
    },
    async "session:run-step"() {
      const c = ceremony;
      if (!c) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "Start or resume one.");
      if (running || c.done) return state();
      const view = c.currentStep()!;
      const failed = failures.get(view.step.id) ?? 0;
      if (failed > 0) c.recordDeviation("retry", { step: view.step.id, stepTitle: view.step.title, attempt: failed + 1 });
      running = true;
      const run = ++runs;
      lastError = null;
      typing = null;
      driver?.newStep();
      bump();
      void c
        .runNextStep()
        .then((e) => {
          if (run !== runs) return;
          lastEntry = entryView(c, e);
          if (c.done) finish(c);
        })
        .catch((e: unknown) => {
          if (run !== runs) return;
          const err = showError(e, { intact: "Every step recorded before this one is kept in the transcript." });
          lastError = shownOf(err);
          broker.cancel("The step stopped.");
          if (ceremony === c && !c.done) {
            failures.set(view.step.id, failed + 1);
            // The message is built without secrets (share material, PINs and passphrases never enter errors).
            try {
              c.recordDeviation("step-failed", { step: view.step.id, stepTitle: view.step.title, reason: err.message.slice(0, 500), code: err.code });
            } catch (d) {
              // Custos is closing (the store is shut): the step's failure is in the log only.
              log("warn", "the failed step could not be recorded as a deviation", detailOf(d));
            }
          }
        })
        .finally(() => {
          // A step of a ceremony that was left since no longer owns the session.
          if (run !== runs) return;
          running = false;
          bump();
        });
      return state();
    },
    async "session:answer"(req: ChannelRequest<"session:answer">) {
      broker.answer(req.promptId, req.value);
      typing = null;
      return state();
    },
    async "session:exception"(req: ChannelRequest<"session:exception">) {
      const c = ceremony;
      if (!c) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "");
      // Refused before anything is checked: a closed transcript takes no more entries.
      if (c.done) throw new CustosError("CEREMONY_CLOSED", "The ceremony is closed; nothing more can be recorded in its transcript.", "Write the exception on the paper record.");
      // Any moment, a prompt open or a step running: the witness signs with the passphrase typed here,
      // so no other question is asked and the step's own entry is chained after this one.
      const e = await c.recordException(req.text, req.witnessId, req.passphrase);
      lastEntry = entryView(c, e);
      bump();
      return state();
    },
    async "session:abort"(req: ChannelRequest<"session:abort">) {
      const c = ceremony;
      if (!c) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "");
      if (c.done) throw new CustosError("CEREMONY_CLOSED", "The ceremony is already closed.", "");
      const e = await c.abort(req.reason, [], req.signers);
      lastEntry = entryView(c, e);
      // A step waiting for a question stops; nothing of it is recorded after the abort.
      broker.cancel("The ceremony was aborted.");
      finish(c);
      bump();
      return state();
    },
    async "session:progress"(req: ChannelRequest<"session:progress">) {
      if (!broker.current()) return state();
      typing = { filled: req.filled, valid: req.valid, of: req.of };
      bump();
      return state();
    },
    async "session:share-card"(req: ChannelRequest<"session:share-card">) {
      const card = driver?.onScreen;
      if (!card) throw new CustosError("NO_SHARE_ON_SCREEN", "No share card is on screen.", "Print or save a card while it is being handed out.");
      const pdf = await shareCardPdf(card);
      if (req.action === "save") {
        const target = checkedCardPath(files.resolve(req.file, ["share-card"]), o.dataDir);
        // Atomic and never over an existing file (link(2)), even one that appeared since the check.
        writeFileAtomic(target, pdf, { mode: 0o600, overwrite: false });
        files.drop(req.file);
        return { saved: path.basename(target) };
      }
      return { printed: await print(pdf, "Custos share card") };
    },
    async "session:close"(req: ChannelRequest<"session:close">) {
      const out = running && driver ? driver.handedOut : [];
      if (out.length && !req.confirmed) {
        throw new CustosError(
          "LEAVE_CARDS_OUT",
          `Share cards were handed out in this step: ${out.map((h) => `share ${h.index} (${h.custodianName})`).join(", ")}. Leaving voids them.`,
          "Collect these cards for destruction, then confirm that you leave.",
        );
      }
      if (ceremony && !ceremony.done) {
        ceremony.recordDeviation("left", {
          step: ceremony.currentStep()?.step.id ?? "",
          ...(running ? { during: ceremony.currentStep()?.step.action ?? "" } : {}),
          ...(out.length ? { voidCards: out.map((h) => ({ share: h.index, custodianName: h.custodianName, card: h.card })) } : {}),
        });
      }
      broker.cancel("The ceremony was closed.");
      runs++;
      running = false;
      ceremony?.close();
      ceremony = null;
      bump();
      return state();
    },
    async "verify:file"(req: ChannelRequest<"verify:file">) {
      return verifyAnyFile(notTheLock(files.resolve(req.file, ["verify"])));
    },
    async "transcript:entries"(req: ChannelRequest<"transcript:entries">) {
      const src = await readVerifiedSourceLoose(notTheLock(files.resolve(req.file, ["verify"])), req.ceremonyId);
      return src;
    },
    ...custodyHandlers({ files }),
    ...chooser.handlers,
    ...reportHandlers({ current: () => (ceremony ? { id: ceremony.id, dir: ceremonyDir(ceremony.id), done: ceremony.done } : null), files, print, dataDir: o.dataDir }),
  };

  /** The lock is a POSIX lock: this process opening and closing the lock file would drop it. */
  function notTheLock(p: string): string {
    if (LOCK_NAMES.includes(path.basename(realTarget(p)))) throw new CustosError("VERIFY_UNREADABLE", "That is Custos's lock file, not a transcript, bundle or report.", "Choose a transcript.sqlite, bundle.json or report.pdf.");
    return p;
  }


  return {
    handlers: guardHandlers(handlers, log),
    files,
    close() {
      broker.cancel("Custos is closing.");
      ceremony?.close();
      store.close();
      lock.release();
    },
  };
}


/** Entries for the viewer: verified when possible, shown with the verdict either way. */
async function readVerifiedSourceLoose(file: string, ceremonyId?: string) {
  const verdict = await verifyAnyFile(file);
  try {
    const src = await readVerifiedSource(file, ceremonyId ?? verdict.ceremonies[0]?.ceremonyId);
    return { verdict, ceremony: { ...src.meta, scriptText: undefined }, entries: src.entries.map((e) => ({ ...e.body, signers: e.signatures.map((s) => s.signer) })) };
  } catch (e) {
    return { verdict, ceremony: null, entries: [], error: e instanceof CustosError ? e.message : String(e) };
  }
}

/**
 * Where an operator may save a share card: an absolute path they chose, never
 * inside the app's own data folder, never over an existing file.
 */
export function checkedCardPath(p: string | undefined, dataDir: string): string {
  if (!p || !path.isAbsolute(p)) throw new CustosError("SHARE_CARD_PATH", "Choose a full path for the share card file.", "For example a removable medium that goes into the custodian's bag.");
  const target = path.resolve(p);
  // Checked after following symlinks: a link elsewhere that points into the app's folder is refused too.
  if (isInside(target, dataDir)) {
    throw new CustosError("SHARE_CARD_PATH", "Share cards are never stored in Custos's own folders.", "Choose a removable medium or print the card.");
  }
  if (!target.toLowerCase().endsWith(".pdf")) throw new CustosError("SHARE_CARD_PATH", "The share card file name must end in .pdf.", "");
  if (lexists(target)) throw new CustosError("SHARE_CARD_PATH", `${target} exists; Custos does not overwrite files.`, "Choose a new file name.");
  if (!fs.existsSync(path.dirname(target))) throw new CustosError("SHARE_CARD_PATH", `The folder ${path.dirname(target)} does not exist.`, "Choose a folder on the removable medium.");
  return target;
}
