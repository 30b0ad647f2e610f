/**
 * The one IPC contract between the renderer and the main process (and the
 * end-to-end harness, which binds the same channels in Chromium). Each
 * channel has a zod schema for its request; the main side parses every
 * payload with it before any handler runs. The renderer imports types only.
 */
import { z } from "zod";

/**
 * An opaque handle for a file the operator chose in a main-process dialog.
 * The renderer never names a file itself: a compromised renderer must not be
 * able to read the transcript of another installation or write a share card
 * over a system file. Handles are minted by the core host when the main
 * process hands it the dialog's answer, are bound to one purpose, and die
 * with the host process.
 */
export const fileHandle = z.string().regex(/^f_[0-9a-f]{32}$/, "not a file handle (choose the file again)");

/** What an Open dialog is for; decides its filters and where the handle may be used. */
export const OPEN_PURPOSES = ["verify", "source-transcript", "source-backup", "input"] as const;
/** What a Save dialog is for. */
export const SAVE_PURPOSES = ["share-card", "report"] as const;
export type FilePurpose = (typeof OPEN_PURPOSES)[number] | (typeof SAVE_PURPOSES)[number];

/** Text typed by the administrator that names things (paths, init strings, labels): no control characters. */
const plainText = (max: number, min = 0) =>
  z
    .string()
    .min(min, "give the path of the PKCS#11 module")
    .max(max, `at most ${max} characters`)
    // eslint-disable-next-line no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s), "must not contain control characters (line breaks, tabs, escapes)");

/** The production HSM as the administrator names it on the home screen. */
const hsmModule = { module: plainText(4096, 1), initArgs: plainText(1024).optional() };

export const CHANNELS = {
  /** Scripts, defaults and where data lives. */
  "app:info": z.object({}).strict(),
  /** Ceremonies in the app's transcript database (to resume or review). */
  "ceremony:list": z.object({}).strict(),
  /** Starts a ceremony from a shipped script. */
  "ceremony:start": z
    .object({
      script: z.string().regex(/^[a-z0-9-]+\.yaml$/),
      mode: z.enum(["rehearsal", "production"]),
      algorithm: z.string().max(20).optional(),
      custodians: z.number().int().min(2).max(255).optional(),
      threshold: z.number().int().min(2).max(255).optional(),
      /** "PRODUCTION", typed by the administrator: the core refuses a production start without it. */
      confirmation: z.string().max(40).optional(),
    })
    .strict(),
  /** Resumes an unfinished ceremony at its first unfinished step. */
  "ceremony:resume": z.object({ ceremonyId: z.string().min(1).max(200) }).strict(),
  /** The session's state; with `since`, waits (up to ~25 s) until the version moves past it. */
  "session:state": z.object({ since: z.number().int().min(0).optional(), surface: z.enum(["room", "private"]).optional() }).strict(),
  /** Runs the current step; its questions arrive as prompts in the state. */
  "session:run-step": z.object({}).strict(),
  /** Answers the current prompt. */
  "session:answer": z.object({ promptId: z.string().min(1).max(100), value: z.unknown() }).strict(),
  /** Records an exception (by the internal witness) as a signed entry. */
  "session:exception": z.object({ text: z.string().min(1).max(5000), witnessId: z.string().min(1).max(20), passphrase: z.string().min(1).max(4096).optional() }).strict(),
  /** Closes the ceremony with a signed abort and its reason; each signer types their own passphrase. */
  "session:abort": z
    .object({
      reason: z.string().min(1).max(5000),
      signers: z.array(z.object({ participantId: z.string().min(1).max(20), passphrase: z.string().min(1).max(4096) }).strict()).max(20),
    })
    .strict(),
  /** How far a share being typed on the private view is (counts only), for the room display. */
  "session:progress": z.object({ filled: z.number().int().min(0).max(255), valid: z.number().int().min(0).max(255), of: z.number().int().min(0).max(255) }).strict(),
  /**
   * Prints (CUPS lp, from memory) or saves, to a file chosen in a Save dialog, the share card on screen.
   * The app never writes a share card into its own folders.
   */
  "session:share-card": z.discriminatedUnion("action", [z.object({ action: z.literal("print") }).strict(), z.object({ action: z.literal("save"), file: fileHandle }).strict()]),
  /** Leaves the ceremony (it can be resumed later); drops unlocked keys. */
  "session:close": z.object({ confirmed: z.boolean().optional() }).strict(),
  /** Verifies a transcript database, a bundle or a report PDF chosen in an Open dialog. */
  "verify:file": z.object({ file: fileHandle }).strict(),
  /** Entries of one ceremony of a transcript file, for the auditor's viewer. */
  "transcript:entries": z.object({ file: fileHandle, ceremonyId: z.string().max(200).optional() }).strict(),
  /** The custody register of one root over transcripts chosen in Open dialogs (docs/custody-register.md). */
  "custody:register": z.object({ files: z.array(fileHandle).min(1).max(500), checkIntervalMonths: z.number().int().min(1).max(999).optional() }).strict(),
  /** Verifies the finished ceremony's own bundle (Done screen). */
  "report:verify": z.object({}).strict(),
  /** Prints the finished ceremony's report through CUPS (Done screen). */
  "report:print": z.object({}).strict(),
  /** Copies the finished ceremony's report to a file chosen in a Save dialog (Done screen). */
  "report:save": z.object({ file: fileHandle }).strict(),
  /**
   * Runs the preflight of `custos hsm-check` on a module and token the administrator names; answers
   * the verdict as data. The PINs are used for the check only: never logged, stored or returned.
   */
  "hsm:check": z
    .object({
      ...hsmModule,
      token: z
        .object({ slot: z.string().regex(/^\d{1,20}$/, "a slot is a number").optional(), serial: plainText(64).optional(), label: plainText(64).optional() })
        .strict()
        .optional(),
      side: z.enum(["generate", "restore", "sign"]).optional(),
      soPin: z.string().max(256, "at most 256 characters").optional(),
      userPin: z.string().max(256, "at most 256 characters").optional(),
    })
    .strict(),
  /** Remembers a module found fit by hsm:check in settings.json (module path and init arguments, never a PIN). */
  "hsm:choose": z.object(hsmModule).strict(),
  /** Forgets the remembered module: production is unavailable until one is chosen again (or set in the environment). */
  "hsm:forget": z.object({}).strict(),
  /** Main process: shows an Open dialog; answers { handle, name } or null when cancelled. */
  "file:open": z.object({ purpose: z.enum(OPEN_PURPOSES) }).strict(),
  /** Main process: shows a Save dialog; answers { handle, name } or null when cancelled. */
  "file:save": z.object({ purpose: z.enum(SAVE_PURPOSES) }).strict(),
  /** Main process: opens the finished ceremony's folder in the file manager. */
  "report:open-folder": z.object({}).strict(),
} as const;

/** The only channels the room display (projected, filmed) may use: it reads, it never acts. */
export const ROOM_CHANNELS: readonly Channel[] = ["app:info", "ceremony:list", "session:state"];

/** Channels the main process answers itself (dialogs, the file manager); every other channel goes to the core host. */
export const MAIN_CHANNELS = ["file:open", "file:save", "report:open-folder"] as const;
export type MainChannel = (typeof MAIN_CHANNELS)[number];
/** Channels the core host answers. */
export type HostChannel = Exclude<keyof typeof CHANNELS, MainChannel>;

/** What file:open and file:save answer: a handle, and the file's base name to show. */
export type ChosenFile = { handle: string; name: string } | null;

export type Channel = keyof typeof CHANNELS;
export type ChannelRequest<C extends Channel> = z.infer<(typeof CHANNELS)[C]>;

/** Results never throw across IPC. */
export type Result<T> = { ok: true; value: T } | { ok: false; code: string; message: string; hint: string };

/** Is this a known channel name? (checked before any schema lookup) */
export function isChannel(name: unknown): name is Channel {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(CHANNELS, name);
}

/** Is this one of the channels the main process answers itself? */
export function isMainChannel(name: Channel): name is MainChannel {
  return (MAIN_CHANNELS as readonly string[]).includes(name);
}

/**
 * Checks a channel name and parses its payload with the channel's schema:
 * the one validation both the main process (before forwarding) and the core
 * host (before any handler) run.
 */
export function parseRequest(channel: unknown, payload: unknown): { ok: true; channel: Channel; payload: unknown } | { ok: false; code: string; message: string; hint: string } {
  if (!isChannel(channel)) return { ok: false, code: "IPC_UNKNOWN_CHANNEL", message: `Unknown channel ${JSON.stringify(String(channel)).slice(0, 80)}.`, hint: "" };
  const parsed = CHANNELS[channel].safeParse(payload ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return { ok: false, code: "IPC_INVALID_PAYLOAD", message: `${channel}: ${i.path.join(".") || "payload"}: ${i.message}`, hint: "" };
  }
  return { ok: true, channel, payload: parsed.data };
}

/** The single global the preload exposes to the renderer. */
export interface CustosApi {
  invoke<C extends Channel>(channel: C, payload: ChannelRequest<C>): Promise<Result<unknown>>;
}

/** The one ipcMain channel the preload uses. */
export const IPC_CHANNEL = "custos:invoke";
