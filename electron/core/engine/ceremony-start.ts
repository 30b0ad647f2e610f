/**
 * What a new ceremony is fixed with when it starts: its id, its settings
 * (checked against the script's policy before anything is written), and its
 * header and opening entry (docs/transcript-format.md §6.1).
 */
import crypto from "node:crypto";
import { CustosError } from "../errors";
import { isRootKeyAlgorithm } from "../hsm/algorithms";
import type { LoadedScript } from "../script/load";
import type { CeremonyScript } from "../script/schema";
import type { CeremonyMeta, CeremonyMode, EntryBody } from "../transcript/types";
import { GENESIS_HASH, OPEN_ACTION, TRANSCRIPT_FORMAT_VERSION } from "../transcript/types";
import { recipientsRole } from "./actions/util";
import type { CeremonySettings } from "./types";

export const CUSTOS_VERSION = "0.1.0";

/** Options fixed when a ceremony starts; recorded in its first entry. */
export interface StartOptions {
  mode: CeremonyMode;
  ceremonyId?: string;
  algorithm?: string;
  threshold?: number;
  shares?: number;
}

/** A new ceremony id: script, date, and random suffix; readable aloud. */
export function newCeremonyId(scriptId: string, now: Date): string {
  return `${scriptId}-${now.toISOString().slice(0, 10)}-${crypto.randomBytes(4).toString("hex")}`;
}

/** The settings a start would record, or the refusal: callers check them before they write anything. */
export function resolveSettings(script: CeremonyScript, o: Pick<StartOptions, "algorithm" | "threshold" | "shares">): CeremonySettings {
  const algorithm = o.algorithm ?? script.policy.defaultAlgorithm;
  if (!isRootKeyAlgorithm(algorithm) || !script.policy.algorithms.includes(algorithm)) {
    throw new CustosError("POLICY_ALGORITHM", `${algorithm} is not allowed by this script.`, `Choose one of: ${script.policy.algorithms.join(", ")}.`);
  }
  const shares = o.shares ?? script.quorum.shares;
  const threshold = o.threshold ?? script.quorum.threshold;
  const custodian = script.roles.find((r) => r.id === recipientsRole(script));
  if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 2 || threshold > shares || shares > 255) {
    throw new CustosError("QUORUM_INVALID", `A threshold of ${threshold} of ${shares} shares is not possible.`, "Use 2 <= threshold <= shares <= 255.");
  }
  if (custodian && (shares < custodian.min || (custodian.max !== undefined && shares > custodian.max))) {
    throw new CustosError("QUORUM_INVALID", `${shares} custodians is outside the script's ${custodian.min}..${custodian.max ?? "∞"}.`, "Choose a custodian count the script allows.");
  }
  return { algorithm, threshold, shares };
}

/** The header and opening entry of a new ceremony started at `now` with these (resolved) settings. */
export function openingOf(loaded: LoadedScript, opts: StartOptions, settings: CeremonySettings, now: Date): { meta: CeremonyMeta; opening: EntryBody } {
  const id = opts.ceremonyId ?? newCeremonyId(loaded.script.id, now);
  const meta: CeremonyMeta = {
    id,
    scriptId: loaded.script.id,
    scriptVersion: loaded.script.version,
    scriptTitle: loaded.script.title,
    scriptSha256: loaded.sha256,
    scriptText: loaded.text,
    mode: opts.mode,
    status: "open",
    createdAt: now.toISOString(),
  };
  const opening: EntryBody = {
    v: TRANSCRIPT_FORMAT_VERSION,
    ceremonyId: id,
    seq: 1,
    stepId: loaded.script.steps[0]!.id,
    action: OPEN_ACTION,
    inputs: {},
    outputs: {
      scriptId: meta.scriptId,
      scriptVersion: meta.scriptVersion,
      scriptSha256: meta.scriptSha256,
      mode: meta.mode,
      settings: { ...settings },
      software: { name: "custos", version: CUSTOS_VERSION, node: process.versions.node },
    },
    requiredSigners: [],
    timestamp: meta.createdAt,
    prevHash: GENESIS_HASH,
  };
  return { meta, opening };
}
