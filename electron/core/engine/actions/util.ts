import { CustosError } from "../../errors";
import type { RootKeyAlgorithm } from "../../hsm/algorithms";
import type { TokenInfo } from "../../hsm";
import { ROOT_KEY_ACTIONS, type Json } from "../../transcript/types";
import type { StepContext } from "../types";

/** The root key as recorded by generation or restore (outputs.rootKey). */
export interface RecordedRootKey {
  label: string;
  id: string;
  algorithm: RootKeyAlgorithm;
  spki: string;
  fingerprint: string;
  publicKeyPem: string;
}

/** The most recent outputs.rootKey in the transcript, or a clear error. */
export function recordedRootKey(ctx: StepContext): RecordedRootKey {
  for (let i = ctx.history.length - 1; i >= 0; i--) {
    const rk = ctx.history[i]!.outputs.rootKey as unknown as RecordedRootKey | undefined;
    if (rk && typeof rk === "object" && typeof rk.spki === "string") return rk;
  }
  throw new CustosError("CEREMONY_ORDER", "No root key has been recorded in this ceremony yet.", "The script must generate or restore the root key before this step.");
}

/** §6.4: the root key generated or restored on this ceremony's token (not a re-split's session copy), or undefined. */
export function rootKeyOnToken(ctx: StepContext): RecordedRootKey | undefined {
  for (let i = ctx.history.length - 1; i >= 0; i--) {
    const e = ctx.history[i]!;
    if (!ROOT_KEY_ACTIONS.includes(e.action)) continue;
    const rk = e.outputs.rootKey as unknown as RecordedRootKey | undefined;
    if (rk && typeof rk === "object" && typeof rk.spki === "string") return rk;
  }
  return undefined;
}

/** The token the ceremony selected (after initialisation, if any). */
export function recordedToken(ctx: StepContext): TokenInfo {
  const init = ctx.outputsOf("init-token")?.token as unknown as TokenInfo | undefined;
  const sel = ctx.outputsOf("select-token")?.token as unknown as TokenInfo | undefined;
  const t = init ?? sel;
  if (!t) throw new CustosError("CEREMONY_ORDER", "No token has been selected in this ceremony yet.", "The script must select a token before this step.");
  return t;
}

/** A value as JSON for the transcript (drops undefined). */
export function json<T>(v: T): Json {
  return JSON.parse(JSON.stringify(v)) as Json;
}

/** PEM armour for DER bytes. */
export function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The role that receives new shares: "new-custodian" in a re-split, else "custodian". */
export function recipientsRole(script: { roles: Array<{ id: string }> }): string {
  return script.roles.some((r) => r.id === "new-custodian") ? "new-custodian" : "custodian";
}

/** Share recipients in enrolment order: share i goes to the i-th of them. */
export function recipients(ctx: StepContext) {
  const role = recipientsRole(ctx.script);
  return ctx.participants.filter((p) => p.roles.includes(role));
}
