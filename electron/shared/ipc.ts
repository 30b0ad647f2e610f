/**
 * The one IPC contract between the renderer and the main process (and the
 * end-to-end harness, which binds the same channels in Chromium). Each
 * channel has a zod schema for its request; the main side parses every
 * payload with it before any handler runs. The renderer imports types only.
 */
import { z } from "zod";

const path = z.string().min(1).max(4096);

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
    })
    .strict(),
  /** Resumes an unfinished ceremony at its first unfinished step. */
  "ceremony:resume": z.object({ ceremonyId: z.string().min(1).max(200) }).strict(),
  /** The session's state; with `since`, waits (up to ~25 s) until the version moves past it. */
  "session:state": z.object({ since: z.number().int().min(0).optional() }).strict(),
  /** Runs the current step; its questions arrive as prompts in the state. */
  "session:run-step": z.object({}).strict(),
  /** Answers the current prompt. */
  "session:answer": z.object({ promptId: z.string().min(1).max(100), value: z.unknown() }).strict(),
  /** Records an exception (by the internal witness) as a signed entry. */
  "session:exception": z.object({ text: z.string().min(1).max(5000), witnessId: z.string().min(1).max(20) }).strict(),
  /**
   * Prints (CUPS lp, from memory) or saves, where the operator chooses, the share card on screen.
   * The app never writes a share card into its own folders.
   */
  "session:share-card": z.object({ action: z.enum(["print", "save"]), path: path.optional() }).strict(),
  /** Leaves the ceremony (it can be resumed later); drops unlocked keys. */
  "session:close": z.object({}).strict(),
  /** Verifies a transcript database, a bundle or a report PDF. */
  "verify:file": z.object({ path }).strict(),
  /** Entries of one ceremony of a transcript file, for the auditor's viewer. */
  "transcript:entries": z.object({ path, ceremonyId: z.string().max(200).optional() }).strict(),
} as const;

export type Channel = keyof typeof CHANNELS;
export type ChannelRequest<C extends Channel> = z.infer<(typeof CHANNELS)[C]>;

/** Results never throw across IPC. */
export type Result<T> = { ok: true; value: T } | { ok: false; code: string; message: string; hint: string };

/** Is this a known channel name? (checked before any schema lookup) */
export function isChannel(name: unknown): name is Channel {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(CHANNELS, name);
}

/** The single global the preload exposes to the renderer. */
export interface CustosApi {
  invoke<C extends Channel>(channel: C, payload: ChannelRequest<C>): Promise<Result<unknown>>;
}

/** The one ipcMain channel the preload uses. */
export const IPC_CHANNEL = "custos:invoke";
