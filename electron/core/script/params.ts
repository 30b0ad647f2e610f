import { z } from "zod";
import { CertificateProfileSchema } from "./profile";
import { ROOT_KEY_ALGORITHMS } from "../hsm/algorithms";

/**
 * Parameter schemas for every action in the registry. The engine's action
 * implementations take their params typed from here, so a script can only
 * ask for what an action actually does.
 */

const id = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, "must be lower-case letters, digits and dashes, starting with a letter");

/** A value a person types and the transcript records (bag serials, place, …). */
export const FieldSchema = z
  .object({
    id,
    label: z.string().min(1).max(200),
    kind: z.enum(["text", "serial", "confirm"]).default("text"),
    required: z.boolean().default(true),
    /** For kind "serial": how many values (e.g. one bag per share card). "custodians" = one per custodian. */
    count: z.union([z.number().int().min(1).max(255), z.literal("custodians")]).optional(),
    pattern: z.string().max(200).optional(),
    /**
     * For kind "serial": what happens to the tamper-evident bags whose serials this field records, for the
     * custody register (docs/custody-register.md): "sealed" (new bags sealed in this step), "opened" (bags
     * inspected, found intact, and opened), "inspected" (inspected and found intact, left sealed).
     */
    bag: z.enum(["sealed", "opened", "inspected"]).optional(),
    /** What those bags hold: "share-card" (one card per bag, in share order), "hsm", "media", or another id. */
    holds: id.optional(),
  })
  .strict()
  .refine((f) => (f.bag === undefined && f.holds === undefined) || (f.kind === "serial" && f.bag !== undefined && f.holds !== undefined), {
    message: "bag and holds go together, on a field of kind serial",
  });
export type Field = z.infer<typeof FieldSchema>;

const none = z.object({}).strict();
/**
 * How share cards leave the room: printed straight to the local printer, saved to the custodian's
 * medium, revealed on the private view while a key is held (for at most revealSeconds), or chosen
 * at the step ("choose"). Each card is checked right after its hand-out.
 */
const handOut = z
  .object({
    handOut: z.enum(["choose", "print", "save", "reveal"]).default("choose"),
    revealSeconds: z.number().int().min(5).max(300).default(60),
  })
  .strict();

export const ACTION_PARAMS = {
  /** Items read aloud and confirmed, with recorded inputs (bag serials, place). */
  checklist: z
    .object({
      items: z.array(z.string().min(1).max(500)).max(100).default([]),
      fields: z.array(FieldSchema).max(50).default([]),
    })
    .strict(),
  /** Participants state name and role and derive their attestation key. */
  "enrol-participants": z
    .object({
      /** Roles whose holders must prove the identity (attestation key) they had in the source ceremony. */
      sourceRoles: z.array(id).max(5).default([]),
    })
    .strict(),
  /**
   * Reads and verifies the earlier ceremony's transcript (and, for a backup, its backup.json); a
   * tampered source stops here. purpose "root-key": the ceremony that put the root key on a token,
   * for a signing ceremony (no backup read).
   */
  "load-source-ceremony": z.object({ purpose: z.enum(["backup", "root-key"]).default("backup") }).strict(),
  /** Each present custodian's share is checked against its recorded commitment; the KEK is never reconstructed, no HSM is used. */
  "check-shares": none,
  /** Proves the selected token holds the source's root key: a fresh challenge signed and checked against the recorded key. */
  "prove-root-key": none,
  /** Reads a file brought on a medium (never typed); its SHA-256 is shown as hex and words to compare aloud. */
  "load-input": z
    .object({
      name: id,
      kind: z.enum(["certificate-request", "certificate", "revocation-list"]),
      description: z.string().min(1).max(500),
    })
    .strict(),
  /** The root certifies the key of a PKCS#10 request (an intermediate CA) under the script's profile. */
  "sign-certificate": z.object({ input: id, profile: CertificateProfileSchema, output: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,60}\.pem$/) }).strict(),
  /** The root issues a CRL: revoked serials from an input list, next update from the script. */
  "issue-crl": z
    .object({
      input: id.optional(),
      nextUpdateDays: z.number().int().min(1).max(3660),
      output: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,60}\.pem$/),
    })
    .strict(),
  /** The root certifies another root's key (rollover): the other root's subject and key, this root as issuer. */
  "cross-certify": z.object({ input: id, profile: CertificateProfileSchema, output: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,60}\.pem$/) }).strict(),
  /** Custodians enter M shares (each checked alone), the KEK is combined and the key unwrapped into the token. */
  "collect-shares-and-restore": none,
  /** Signs a test message with the restored key and checks it against the recorded public key. */
  "test-signature": none,
  /** M old shares reassemble the old KEK; a fresh KEK re-wraps the key and is split for the new custodians. */
  "resplit-backup": handOut,
  /** A quorum of distinct custodians approves a destructive action before it runs. */
  "quorum-approval": z.object({ items: z.array(z.string().min(1).max(500)).min(1).max(20) }).strict(),
  /** Destroys the source ceremony's key objects on the token (needs a quorum-approval entry first). */
  "destroy-key": none,
  /** Records network interfaces; production refuses while a non-loopback one is up. */
  "air-gap-check": none,
  /** Selects the HSM token and records manufacturer, model, serial and firmware. */
  "select-token": z.object({ requireBlank: z.boolean().default(false) }).strict(),
  /**
   * Qualifies the selected token before any key or share (the checks of `custos hsm-check`):
   * generate = everything a generation and its backup do; restore = the unwrap side (a recovery target);
   * sign = what a signing ceremony relies on (root template, signing, untrusted wrap refused).
   */
  "hsm-preflight": z.object({ side: z.enum(["generate", "restore", "sign"]).default("generate") }).strict(),
  /** Initialises the selected token when it is blank (SO PIN, user PIN, label). */
  "init-token": z.object({ label: z.string().min(1).max(32) }).strict(),
  /** Generates the root key pair inside the token. */
  "generate-key-pair": z
    .object({
      algorithm: z.enum(ROOT_KEY_ALGORITHMS).optional(),
      /** What to do with objects of this ceremony found on the token from an interrupted run. */
      onOrphan: z.enum(["stop", "destroy"]).default("destroy"),
    })
    .strict(),
  /** Self-signed root CA certificate, signed inside the HSM. */
  "self-sign-certificate": z
    .object({
      subject: z
        .object({
          commonName: z.string().min(1).max(64),
          organization: z.string().min(1).max(64).optional(),
          organizationalUnit: z.string().min(1).max(64).optional(),
          country: z.string().length(2).optional(),
        })
        .strict(),
      validityYears: z.number().int().min(1).max(50),
      pathLength: z.number().int().min(0).max(10).optional(),
    })
    .strict(),
  /** KEK made and imported as trusted by the SO, root key wrapped, KEK split M-of-N and destroyed. */
  "wrap-and-split-backup": handOut,
  /** Each custodian re-enters their share; checked against its commitment. */
  "verify-shares": none,
  /** Writes root-public.pem, root-cert.pem and backup.json. */
  "export-public-artifacts": none,
  /** Prints the ceremony report of the transcript so far; its hash is recorded. */
  "print-report": none,
  /** The last entry: signed by the ceremony's root key. */
  "seal-transcript": none,
} as const;

export type ActionName = keyof typeof ACTION_PARAMS;
export const ACTION_NAMES = Object.keys(ACTION_PARAMS) as ActionName[];
export type ActionParams<A extends ActionName> = z.infer<(typeof ACTION_PARAMS)[A]>;
