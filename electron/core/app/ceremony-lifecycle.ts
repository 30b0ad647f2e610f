/**
 * A ceremony's life in the app: what the home screen offers (scripts, the
 * production HSM, ceremonies to resume), starting and resuming one, leaving
 * it, and the bundle and report written when it closes.
 */
import fs from "node:fs";
import path from "node:path";
import type { ChannelRequest } from "../../shared/ipc";
import { Ceremony, newCeremonyId, resolveSettings } from "../engine/ceremony";
import type { EngineDeps } from "../engine/types";
import { CustosError } from "../errors";
import { removeStaleTemps, writeFileAtomic } from "../files/atomic";
import { findPkcs11Module, prepareRehearsalTokenDir } from "../hsm";
import { renderReport } from "../report";
import { lintScriptFile, loadScriptFile } from "../script/load";
import { bundleToJson, exportBundle } from "../transcript/bundle";
import type { TranscriptStore } from "../transcript/store";
import { detailOf, loggedError, shownOf, type AppLogger } from "./boundary";
import { productionHsm, type HsmChooserOptions } from "./hsm-chooser";
import type { LiveSession } from "./live-session";
import { CEREMONY_ID, SessionFileSchema, type SessionFile } from "./session-file";
import type { SessionState } from "./session-view";

export interface LifecycleDeps {
  live: LiveSession;
  store: TranscriptStore;
  /** Where the transcript, rehearsal tokens and ceremony artifacts live. */
  dataDir: string;
  /** Folder of the shipped ceremony scripts. */
  scriptsDir: string;
  ceremonyDir: (id: string) => string;
  /** Where the production HSM choice is read from. */
  hsmChoice: Pick<HsmChooserOptions, "settingsFile" | "env">;
  /** Refuses while an HSM is being checked on the home screen. */
  notWhileChecking: () => void;
  /** The engine's dependencies for a session (its questions' driver included). */
  engineDeps: (session: SessionFile) => EngineDeps;
  log: AppLogger;
}

/** Writes the closed ceremony's bundle and report; a failure is shown, the sealed transcript stays whole. */
export function finishCeremony(d: Pick<LifecycleDeps, "live" | "store" | "ceremonyDir" | "log">, c: Ceremony): void {
  const { live } = d;
  const dir = d.ceremonyDir(c.id);
  const ctx = { intact: "The ceremony is complete and sealed in the transcript.", next: "Run `custos report` and `custos export` on the transcript to write them again." };
  let bundle: ReturnType<typeof exportBundle>;
  try {
    bundle = exportBundle(d.store, c.id);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(dir, "bundle.json"), bundleToJson(bundle));
  } catch (e) {
    live.lastError = shownOf(loggedError(d.log, e, { doing: `writing ${path.join(dir, "bundle.json")}`, ...ctx }));
    return;
  }
  void renderReport(bundle)
    .then((pdf) => writeFileAtomic(path.join(dir, "report.pdf"), pdf))
    .catch((e: unknown) => {
      live.lastError = shownOf(loggedError(d.log, e, { doing: `writing ${path.join(dir, "report.pdf")}`, ...ctx }));
    })
    .finally(() => live.bump());
}

/** The app:info, ceremony:list, ceremony:start, ceremony:resume and session:close handlers of the core. */
export function lifecycleHandlers(d: LifecycleDeps) {
  const { live, store, ceremonyDir } = d;

  /**
   * Opens a ceremony for this session. The new one is made first and the one on
   * screen is closed only when that worked: a refused start never touches an
   * open ceremony.
   */
  function open(session: SessionFile, make: (deps: EngineDeps) => Ceremony): SessionState {
    if (live.running) throw new CustosError("SESSION_BUSY", "A step is running.", "Finish or abandon it first.");
    const previous = live.ceremony;
    const previousDriver = live.driver;
    let next: Ceremony;
    try {
      next = make(d.engineDeps(session));
    } catch (e) {
      live.driver = previousDriver;
      throw e;
    }
    previous?.close();
    live.ceremony = next;
    removeStaleTemps(ceremonyDir(next.id), 0);
    live.lastError = null;
    live.lastEntry = null;
    live.bump();
    return live.state();
  }

  /** Writes session.json (atomically) before the ceremony exists, so a started ceremony can always be resumed. */
  function writeSession(session: SessionFile): void {
    const dir = ceremonyDir(session.ceremonyId);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(dir, "session.json"), JSON.stringify(session, null, 2) + "\n", { mode: 0o600 });
  }

  return {
    async "app:info"() {
      const scripts = fs
        .readdirSync(d.scriptsDir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((file) => {
          const r = lintScriptFile(path.join(d.scriptsDir, file));
          return { file, id: r.script?.id ?? file, title: r.script?.title ?? file, kind: r.script?.kind ?? "invalid", valid: !!r.script, quorum: r.script?.quorum ?? null, algorithms: r.script?.policy.algorithms ?? [] };
        });
      let softhsm: string | null = null;
      try {
        softhsm = findPkcs11Module();
      } catch {
        softhsm = null;
      }
      const production = productionHsm(d.hsmChoice);
      return { scripts, dataDir: d.dataDir, productionModule: production.module, production, softhsm };
    },
    async "ceremony:list"() {
      return store.listCeremonies().map((c) => ({ id: c.id, title: c.scriptTitle, mode: c.mode, status: c.status, createdAt: c.createdAt, entries: store.head(c.id)?.seq ?? 0 }));
    },
    async "ceremony:start"(req: ChannelRequest<"ceremony:start">) {
      d.notWhileChecking();
      if (live.running) throw new CustosError("SESSION_BUSY", "A step is running.", "Finish or abandon it first.");
      // Enforced here, not only on the screen: real keys are made only when PRODUCTION was typed.
      if (req.mode === "production" && req.confirmation?.trim() !== "PRODUCTION") {
        throw new CustosError("PRODUCTION_NOT_CONFIRMED", "A production ceremony starts only when PRODUCTION is typed in the confirmation field.", "Type PRODUCTION (capital letters), or choose REHEARSAL.");
      }
      if (path.basename(req.script) !== req.script || !req.script.endsWith(".yaml")) {
        throw new CustosError("SCRIPT_UNREADABLE", "Choose one of the shipped ceremony scripts.", "");
      }
      const loaded = loadScriptFile(path.join(d.scriptsDir, req.script));
      const startOptions = { mode: req.mode, algorithm: req.algorithm, shares: req.custodians, threshold: req.threshold };
      // Refusals first (settings, module): nothing is written for a start that cannot happen.
      const settings = resolveSettings(loaded.script, startOptions);
      const production = req.mode === "rehearsal" ? null : productionHsm(d.hsmChoice);
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
          const dir = path.join(d.dataDir, "rehearsal-tokens", ceremonyId);
          made.push(dir);
          const t = prepareRehearsalTokenDir(dir, modulePath);
          session = { ...session, softhsmConfig: t.configPath, tokenFolder: dir };
        }
        writeSession(session);
        return open(session, (deps) => Ceremony.start(deps, loaded, { ...startOptions, ceremonyId }));
      } catch (e) {
        // A failed start leaves nothing behind: its folders go (the transcript has no row for it unless start succeeded).
        if (!store.getCeremony(ceremonyId)) for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    },
    async "ceremony:resume"(req: ChannelRequest<"ceremony:resume">) {
      d.notWhileChecking();
      // Only ids of ceremonies in this transcript: never a path, never `../..`.
      if (!CEREMONY_ID.test(req.ceremonyId) || !store.getCeremony(req.ceremonyId)) {
        throw new CustosError("CEREMONY_NOT_FOUND", "There is no such ceremony to resume.", "Choose one from the list on the home screen.");
      }
      const f = path.join(ceremonyDir(req.ceremonyId), "session.json");
      let session: SessionFile;
      try {
        session = SessionFileSchema.parse(JSON.parse(fs.readFileSync(f, "utf8")));
      } catch (e) {
        d.log("error", `session.json of ${req.ceremonyId} unusable`, detailOf(e));
        // The message never echoes the file's content.
        throw new CustosError("SESSION_FILE", `The ceremony ${req.ceremonyId} cannot be resumed here: its session.json is missing or damaged.`, "Its transcript is intact; verify it from the auditor's screen.");
      }
      if (session.ceremonyId !== req.ceremonyId) throw new CustosError("SESSION_FILE", `The session.json of ${req.ceremonyId} names another ceremony.`, "Its transcript is intact; verify it from the auditor's screen.");
      open(session, (deps) => Ceremony.resume(deps, req.ceremonyId));
      live.ceremony?.recordDeviation("resumed", {});
      live.bump();
      return live.state();
    },
    async "session:close"(req: ChannelRequest<"session:close">) {
      const out = live.running && live.driver ? live.driver.handedOut : [];
      if (out.length && !req.confirmed) {
        throw new CustosError(
          "LEAVE_CARDS_OUT",
          `Share cards were handed out in this step: ${out.map((h) => `share ${h.index} (${h.custodianName})`).join(", ")}. Leaving voids them.`,
          "Collect these cards for destruction, then confirm that you leave.",
        );
      }
      const c = live.ceremony;
      if (c && !c.done) {
        c.recordDeviation("left", {
          step: c.currentStep()?.step.id ?? "",
          ...(live.running ? { during: c.currentStep()?.step.action ?? "" } : {}),
          ...(out.length ? { voidCards: out.map((h) => ({ share: h.index, custodianName: h.custodianName, card: h.card })) } : {}),
        });
      }
      live.broker.cancel("The ceremony was closed.");
      live.runs++;
      live.running = false;
      live.ceremony?.close();
      live.ceremony = null;
      live.bump();
      return live.state();
    },
  };
}
