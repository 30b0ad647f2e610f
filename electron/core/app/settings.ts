/**
 * The app's settings file (<userData>/settings.json): what a desktop launcher
 * cannot pass through the environment, such as the production HSM's PKCS#11
 * module. Generic on purpose: sections are added by the features that need
 * them; unknown sections are kept, never dropped, when another one is written.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { CustosError } from "../errors";
import { writeFileAtomic } from "../files/atomic";

/** The sections Custos knows; anything else in the file is preserved as is. */
export const SettingsSchema = z
  .object({
    /** The production HSM. Rehearsals always use a throwaway SoftHSM2 token. */
    pkcs11: z
      .object({
        module: z.string().min(1).max(4096).optional(),
        /** Module initialisation string (C_Initialize pReserved), for modules that need one. */
        initArgs: z.string().max(4096).optional(),
      })
      .strict()
      .optional(),
    /** The module of the participants' own tokens (smart cards, PIV keys); absent: the ceremony HSM's. */
    personalTokens: z
      .object({ module: z.string().min(1).max(4096), initArgs: z.string().max(4096).optional() })
      .strict()
      .optional(),
  })
  .passthrough();

export type Settings = z.infer<typeof SettingsSchema>;

/** Reads the settings; a missing file is empty settings, a damaged one a clear error (never silently reset). */
export function readSettings(file: string): Settings {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CustosError("SETTINGS_UNREADABLE", `Cannot read the settings file ${file}: ${(e as Error).message}.`, "Check its permissions.");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CustosError("SETTINGS_INVALID", `The settings file ${file} is not valid JSON (${(e as Error).message}).`, "Fix or remove it; Custos does not overwrite it.");
  }
  const parsed = SettingsSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new CustosError("SETTINGS_INVALID", `The settings file ${file}: ${i.path.join(".") || "(top level)"}: ${i.message}.`, "Fix or remove it; Custos does not overwrite it.");
  }
  return parsed.data;
}

/** Replaces one section and writes the file atomically (write aside, then rename), keeping the other sections. */
export function writeSettings(file: string, patch: Partial<Settings>): Settings {
  const next = SettingsSchema.parse({ ...readSettings(file), ...patch });
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify(next, null, 2) + "\n", { mode: 0o600 });
  return next;
}
