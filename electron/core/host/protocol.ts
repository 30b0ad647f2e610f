/**
 * The messages between the main process and the core host, over one channel
 * (Electron's utility-process port, or Node's IPC pipe in tests). Renderer
 * requests travel inside `call` unchanged and are checked again by the host
 * with the shared channel schemas (electron/shared/ipc.ts); every message in
 * either direction is parsed here first, so neither side acts on a shape it
 * did not expect.
 */
import { z } from "zod";
import { OPEN_PURPOSES, SAVE_PURPOSES } from "../../shared/ipc";

const id = z.number().int().min(0);
const text = z.string().max(4096);

/** Starts the service. Sent once, first. */
export const InitMessage = z
  .object({
    t: z.literal("init"),
    dataDir: z.string().min(1),
    resourcesDir: z.string().min(1),
    /** <userData>/settings.json: the production HSM module and its init arguments. */
    settingsFile: z.string().min(1).optional(),
    /** The Electron-ABI better_sqlite3.node; absent under plain Node (tests, CLI). */
    sqliteBinding: z.string().min(1).optional(),
    /** Scrypt cost for new participants; "test" only in development runs and tests. */
    kdfCost: z.enum(["interactive", "test"]).optional(),
    /** Session versions start above this, so a restarted host never goes back in time for the renderer. */
    versionBase: z.number().int().min(0),
    /** Set when the host is restarted after a crash or hang: the ceremony to reopen and why. */
    resume: z.object({ ceremonyId: z.string().min(1).max(200), reason: text }).strict().optional(),
  })
  .strict();
export type InitMessage = z.infer<typeof InitMessage>;

export const ToHost = z.discriminatedUnion("t", [
  InitMessage,
  /** A renderer request, already checked by main; checked again by the host. */
  z.object({ t: z.literal("call"), id, channel: z.string().max(100), payload: z.unknown() }).strict(),
  /** A file the operator chose in a main-process dialog: the host mints its handle. */
  z.object({ t: z.literal("grant"), id, path: z.string().min(1).max(4096), purpose: z.enum([...OPEN_PURPOSES, ...SAVE_PURPOSES]) }).strict(),
  z.object({ t: z.literal("ping"), n: id }).strict(),
  /** Close the HSM session and the database, then exit 0. */
  z.object({ t: z.literal("shutdown") }).strict(),
]);
export type ToHost = z.infer<typeof ToHost>;

/** What main needs to know of the session: close guards, resume after a restart, the Done screen's folder. */
export const HostStatus = z
  .object({
    version: z.number().int().min(0),
    ceremonyId: z.string().nullable(),
    mode: z.enum(["rehearsal", "production"]).nullable(),
    done: z.boolean(),
    running: z.boolean(),
    promptOpen: z.boolean(),
    /** Completed steps and total, for the restart notice and the close guard's wording. */
    completed: z.number().int().min(0),
    total: z.number().int().min(0),
    stepTitle: z.string().nullable(),
    artifactsDir: z.string().nullable(),
  })
  .strict();
export type HostStatus = z.infer<typeof HostStatus>;

const result = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }).strict(),
  z.object({ ok: z.literal(false), code: z.string(), message: z.string(), hint: z.string() }).strict(),
]);

export const FromHost = z.discriminatedUnion("t", [
  z.object({ t: z.literal("ready"), pid: z.number().int(), sqlite: text, node: text, modules: text }).strict(),
  /** The service could not start (a wrong-ABI SQLite module, an unreadable database…): restarting will not help. */
  z.object({ t: z.literal("init-failed"), code: z.string(), message: text, hint: text }).strict(),
  /** The answer to a call, with the session version at the time (so main can pick the next versionBase). */
  z.object({ t: z.literal("result"), id, result, version: z.number().int().min(0) }).strict(),
  z.object({ t: z.literal("granted"), id, result }).strict(),
  z.object({ t: z.literal("pong"), n: id }).strict(),
  z.object({ t: z.literal("status"), status: HostStatus }).strict(),
  /** A line for main's log file (reasons and codes, never secrets). */
  z.object({ t: z.literal("log"), level: z.enum(["info", "warn", "error"]), line: text }).strict(),
]);
export type FromHost = z.infer<typeof FromHost>;
