import { z } from "zod";
import { ROOT_KEY_ALGORITHMS } from "../hsm/algorithms";
import { ACTION_NAMES } from "./params";

const id = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, "must be lower-case letters, digits and dashes, starting with a letter");

export const RoleSchema = z
  .object({
    id,
    title: z.string().min(1).max(100),
    description: z.string().max(2000).optional(),
    min: z.number().int().min(0).max(255),
    max: z.number().int().min(1).max(255).optional(),
  })
  .strict();

/** Which participants must sign a step: one holder of the role, all holders, or the quorum. */
export const AttestSchema = z
  .object({
    role: id,
    who: z.enum(["one", "all", "quorum"]).default("one"),
  })
  .strict();

export const StepSchema = z
  .object({
    id,
    title: z.string().min(1).max(200),
    /** The text the administrator reads aloud. */
    read: z.string().min(1).max(10_000),
    action: z.enum(ACTION_NAMES as [string, ...string[]]),
    params: z.record(z.string(), z.unknown()).default({}),
    attest: z.array(AttestSchema).max(20).default([]),
  })
  .strict();

export const ScriptSchema = z
  .object({
    id,
    version: z.string().regex(/^\d+\.\d+\.\d+$/, "must be a semantic version such as 1.0.0"),
    title: z.string().min(1).max(200),
    purpose: z.string().min(1).max(10_000),
    kind: z.enum(["generation", "recovery", "resplit", "destruction", "signing", "health-check"]),
    roles: z.array(RoleSchema).min(1).max(20),
    /** Pairs of roles one person may not hold together (separation of duties). */
    separation: z.array(z.tuple([id, id])).max(50).default([]),
    /** M of N for the shares a ceremony makes or needs; a signing ceremony makes none and may leave it out. */
    quorum: z
      .object({
        threshold: z.number().int().min(2).max(255),
        shares: z.number().int().min(2).max(255),
      })
      .strict()
      .default({ threshold: 2, shares: 2 }),
    policy: z
      .object({
        algorithms: z.array(z.enum(ROOT_KEY_ALGORITHMS)).min(1),
        defaultAlgorithm: z.enum(ROOT_KEY_ALGORITHMS),
      })
      .strict(),
    steps: z.array(StepSchema).min(1).max(500),
    /** Who signs an exception written during this ceremony (docs/transcript-format.md §6.6). */
    exceptions: z.object({ attest: z.array(AttestSchema).min(1).max(20) }).strict(),
    /** Who signs a formal abort of this ceremony (§6.8). */
    abort: z.object({ attest: z.array(AttestSchema).min(1).max(20) }).strict(),
  })
  .strict();

export type CeremonyScript = z.infer<typeof ScriptSchema>;
export type ScriptStep = z.infer<typeof StepSchema>;
export type ScriptRole = z.infer<typeof RoleSchema>;
export type AttestRequirement = z.infer<typeof AttestSchema>;
