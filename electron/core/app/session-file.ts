import { z } from "zod";

/** session.json in a ceremony's folder: how to reopen it (module, token config, start settings). */
export const SessionFileSchema = z
  .object({
    ceremonyId: z.string(),
    /** The start settings, so a resume before entry 1 keeps them. */
    settings: z.object({ algorithm: z.string(), threshold: z.number(), shares: z.number() }).optional(),
    mode: z.enum(["rehearsal", "production"]),
    softhsmConfig: z.string().optional(),
    /** The rehearsal token folder this session made (removed again if its start fails). */
    tokenFolder: z.string().optional(),
    modulePath: z.string(),
    /** The production module's initialisation arguments (C_Initialize pReserved), as chosen when it started. */
    initArgs: z.string().optional(),
  })
  .strip();
export type SessionFile = z.infer<typeof SessionFileSchema>;

/** Ceremony ids as newCeremonyId makes them: script id, date, random hex. Nothing else names a folder. */
export const CEREMONY_ID = /^[a-z][a-z0-9-]{0,63}-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/;
