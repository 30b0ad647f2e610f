import fs from "node:fs";
import path from "node:path";
import type { ChannelRequest } from "../../shared/ipc";
import { Ceremony } from "../engine/ceremony";
import { listNetworkInterfaces } from "../engine/network";
import type { EngineDeps } from "../engine/types";
import { CustosError } from "../errors";
import { Hsm, findPkcs11Module, openRehearsalHsm, prepareRehearsalTokenDir } from "../hsm";
import { renderReport } from "../report";
import { shareCardPdf } from "../rehearse/rehearse";
import { lintScriptText, loadScriptFile } from "../script/load";
import { readVerifiedSource, verifyAnyFile } from "../source";
import { bundleToJson, exportBundle } from "../transcript/bundle";
import { TranscriptStore } from "../transcript/store";
import type { Handlers } from "./dispatch";
import { FileHandles } from "./file-handles";
import { lpPrinter, type PrintPdf } from "./print";
import { PromptBroker, type Prompt, type ShownError } from "./prompts";
import { reportHandlers } from "./report-actions";
import { UiDriver } from "./ui-driver";
import { hashWords } from "./words";

export interface AppServiceOptions {
  /** Where the transcript database, rehearsal tokens and ceremony artifacts live. */
  dataDir: string;
  /** PKCS#11 module for production ceremonies (else CUSTOS_PKCS11_MODULE). */
  modulePath?: string;
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
  /** Where the service reports what it could not tell the screen (the host's log); never secrets. */
  log?: (line: string) => void;
}

/** What the renderer shows; the only prompt carrying secrets is a share being handed out, and only while open. */
export interface SessionState {
  version: number;
  ceremony: null | {
    id: string;
    mode: "rehearsal" | "production";
    scriptTitle: string;
    scriptId: string;
    steps: Array<{ id: string; title: string }>;
    completed: number;
    done: boolean;
    head: string;
    headWords: string[];
    participants: Array<{ id: string; name: string; roles: string[] }>;
    unlocked: Array<{ participantId: string; until: number }>;
    artifactsDir: string;
  };
  step: null | { index: number; total: number; id: string; title: string; read: string; action: string; attest: Array<{ role: string; who: string }> };
  running: boolean;
  prompt: Prompt | null;
  lastError: ShownError | null;
  lastEntry: null | { seq: number; stepId: string; action: string; entryHash: string };
}

interface SessionFile {
  ceremonyId: string;
  /** The start settings, so a resume before entry 1 keeps them. */
  settings?: { algorithm: string; threshold: number; shares: number };
  mode: "rehearsal" | "production";
  softhsmConfig?: string;
  modulePath: string;
}

/** The core object behind the IPC channels: one ceremony session at a time. */
export function createAppService(o: AppServiceOptions): { handlers: Handlers; files: FileHandles; close(): void } {
  fs.mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const files = o.files ?? new FileHandles();
  const print = o.print ?? lpPrinter();
  const scriptsDir = path.join(o.resourcesDir, "ceremony-scripts");
  const store = TranscriptStore.open(path.join(o.dataDir, "transcript.sqlite"));
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

  const ceremonyDir = (id: string) => path.join(o.dataDir, "ceremonies", id);

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
      openHsm: () => (session.softhsmConfig ? Hsm.open(session.modulePath, { env: { SOFTHSM2_CONF: session.softhsmConfig } }) : Hsm.open(session.modulePath)),
      networkInterfaces: o.networkInterfaces ?? (() => listNetworkInterfaces()),
      now: () => new Date(),
      kdfCost: o.kdfCost ?? "interactive",
      attestWindowMs: o.attestWindowMs ?? 5 * 60_000,
      renderReport: (b) => renderReport(b),
    };
  }

  function state(): SessionState {
    const c = ceremony;
    const view = c?.currentStep();
    return {
      version,
      ceremony: c
        ? {
            id: c.id,
            mode: c.meta.mode,
            scriptTitle: c.script.title,
            scriptId: c.script.id,
            steps: c.script.steps.map((s) => ({ id: s.id, title: s.title })),
            completed: c.completedSteps,
            done: c.done,
            head: c.head(),
            headWords: hashWords(c.head()),
            participants: c.enrolled().map((p) => ({ id: p.id, name: p.name, roles: p.roles })),
            unlocked: c.unlockedKeys(),
            artifactsDir: ceremonyDir(c.id),
          }
        : null,
      step: view ? { index: view.index, total: view.total, id: view.step.id, title: view.step.title, read: view.step.read, action: view.step.action, attest: view.step.attest } : null,
      running,
      prompt: broker.current(),
      lastError,
      lastEntry,
    };
  }

  function finish(c: Ceremony): void {
    const bundle = exportBundle(store, c.id);
    fs.mkdirSync(ceremonyDir(c.id), { recursive: true });
    fs.writeFileSync(path.join(ceremonyDir(c.id), "bundle.json"), bundleToJson(bundle));
    void renderReport(bundle)
      .then((pdf) => fs.writeFileSync(path.join(ceremonyDir(c.id), "report.pdf"), pdf))
      .catch((e: unknown) => {
        // The transcript is complete either way; say so instead of an unhandled rejection.
        lastError = { code: "REPORT_FAILED", message: `The ceremony is complete, but its report could not be written (${e instanceof Error ? e.message : String(e)}).`, hint: "Run `custos report` on the transcript to print it again.", details: {} };
        o.log?.(`report of ${c.id} not written: ${e instanceof Error ? e.message : String(e)}`);
      })
      .finally(bump);
  }

  function open(session: SessionFile, make: (d: EngineDeps) => Ceremony): SessionState {
    if (running) throw new CustosError("SESSION_BUSY", "A step is running.", "Finish or abandon it first.");
    ceremony?.close();
    ceremony = make(deps(session));
    fs.mkdirSync(ceremonyDir(ceremony.id), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(ceremonyDir(ceremony.id), "session.json"), JSON.stringify({ ...session, ceremonyId: ceremony.id, settings: { ...ceremony.settings } }, null, 2));
    lastError = null;
    lastEntry = null;
    bump();
    return state();
  }

  const handlers: Handlers = {
    async "app:info"() {
      const scripts = fs
        .readdirSync(scriptsDir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((file) => {
          const r = lintScriptText(fs.readFileSync(path.join(scriptsDir, file), "utf8"), file);
          return { file, id: r.script?.id ?? file, title: r.script?.title ?? file, kind: r.script?.kind ?? "invalid", valid: !!r.script, quorum: r.script?.quorum ?? null, algorithms: r.script?.policy.algorithms ?? [] };
        });
      let softhsm: string | null = null;
      try {
        softhsm = findPkcs11Module();
      } catch {
        softhsm = null;
      }
      return { scripts, dataDir: o.dataDir, productionModule: o.modulePath ?? process.env.CUSTOS_PKCS11_MODULE ?? null, softhsm };
    },
    async "ceremony:list"() {
      return store.listCeremonies().map((c) => ({ id: c.id, title: c.scriptTitle, mode: c.mode, status: c.status, createdAt: c.createdAt, entries: store.head(c.id)?.seq ?? 0 }));
    },
    async "ceremony:start"(req: ChannelRequest<"ceremony:start">) {
      const loaded = loadScriptFile(path.join(scriptsDir, req.script));
      let session: Omit<SessionFile, "ceremonyId">;
      if (req.mode === "rehearsal") {
        // A fresh throwaway SoftHSM token folder for every rehearsal.
        const dir = path.join(o.dataDir, "rehearsal-tokens", `${Date.now()}-${loaded.script.id}`);
        const t = prepareRehearsalTokenDir(dir);
        session = { mode: "rehearsal", softhsmConfig: t.configPath, modulePath: t.modulePath };
      } else {
        const mod = o.modulePath ?? process.env.CUSTOS_PKCS11_MODULE;
        if (!mod) throw new CustosError("HSM_NOT_CONFIGURED", "No HSM is configured for a production ceremony.", "Set CUSTOS_PKCS11_MODULE to your HSM's PKCS#11 module, or run a rehearsal on a throwaway SoftHSM token.");
        session = { mode: "production", modulePath: findPkcs11Module(mod) };
      }
      return open({ ...session, ceremonyId: "" }, (d) =>
        Ceremony.start(d, loaded, { mode: req.mode, algorithm: req.algorithm, shares: req.custodians, threshold: req.threshold }),
      );
    },
    async "ceremony:resume"(req: ChannelRequest<"ceremony:resume">) {
      const f = path.join(ceremonyDir(req.ceremonyId), "session.json");
      if (!fs.existsSync(f)) throw new CustosError("CEREMONY_NOT_FOUND", `No ceremony ${req.ceremonyId} to resume.`, "");
      const session = JSON.parse(fs.readFileSync(f, "utf8")) as SessionFile;
      return open(session, (d) => Ceremony.resume(d, req.ceremonyId));
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
      return state();
    },
    async "session:run-step"() {
      const c = ceremony;
      if (!c) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "Start or resume one.");
      if (running || c.done) return state();
      running = true;
      lastError = null;
      bump();
      void c
        .runNextStep()
        .then((e) => {
          lastEntry = { seq: e.body.seq, stepId: e.body.stepId, action: e.body.action, entryHash: e.entryHash };
          if (c.done) finish(c);
        })
        .catch((e: unknown) => {
          const err = e instanceof CustosError ? e : new CustosError("INTERNAL", String(e), "");
          lastError = { code: err.code, message: err.message, hint: err.hint, details: { ...err.details } };
          broker.cancel("The step stopped.");
        })
        .finally(() => {
          running = false;
          bump();
        });
      return state();
    },
    async "session:answer"(req: ChannelRequest<"session:answer">) {
      broker.answer(req.promptId, req.value);
      return state();
    },
    async "session:exception"(req: ChannelRequest<"session:exception">) {
      if (!ceremony) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "");
      if (running) throw new CustosError("SESSION_BUSY", "Record the exception when the current step has stopped.", "");
      running = true;
      bump();
      try {
        const e = await ceremony.recordException(req.text, req.witnessId);
        lastEntry = { seq: e.body.seq, stepId: e.body.stepId, action: e.body.action, entryHash: e.entryHash };
      } finally {
        running = false;
        bump();
      }
      return state();
    },
    async "session:share-card"(req: ChannelRequest<"session:share-card">) {
      const card = driver?.onScreen;
      if (!card) throw new CustosError("NO_SHARE_ON_SCREEN", "No share card is on screen.", "Print or save a card while it is being handed out.");
      const pdf = await shareCardPdf(card);
      if (req.action === "save") {
        const target = checkedCardPath(files.resolve(req.file, ["share-card"]), o.dataDir);
        fs.writeFileSync(target, pdf, { mode: 0o600, flag: "wx" });
        files.drop(req.file);
        return { saved: path.basename(target) };
      }
      return { printed: await print(pdf, "Custos share card") };
    },
    async "session:close"() {
      broker.cancel("The ceremony was closed.");
      ceremony?.close();
      ceremony = null;
      bump();
      return state();
    },
    async "verify:file"(req: ChannelRequest<"verify:file">) {
      return verifyAnyFile(files.resolve(req.file, ["verify"]));
    },
    async "transcript:entries"(req: ChannelRequest<"transcript:entries">) {
      const src = await readVerifiedSourceLoose(files.resolve(req.file, ["verify"]), req.ceremonyId);
      return src;
    },
    ...reportHandlers({ current: () => (ceremony ? { id: ceremony.id, dir: ceremonyDir(ceremony.id), done: ceremony.done } : null), files, print, dataDir: o.dataDir }),
  };

  return {
    handlers,
    files,
    close() {
      broker.cancel("Custos is closing.");
      ceremony?.close();
      store.close();
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
  const data = path.resolve(dataDir);
  if (target === data || target.startsWith(data + path.sep)) {
    throw new CustosError("SHARE_CARD_PATH", "Share cards are never stored in Custos's own folders.", "Choose a removable medium or print the card.");
  }
  if (!target.toLowerCase().endsWith(".pdf")) throw new CustosError("SHARE_CARD_PATH", "The share card file name must end in .pdf.", "");
  if (fs.existsSync(target)) throw new CustosError("SHARE_CARD_PATH", `${target} exists; Custos does not overwrite files.`, "Choose a new file name.");
  return target;
}
