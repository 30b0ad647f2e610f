import { CustosError } from "../../errors";
import type { ActionParams } from "../../script/params";
import { MAX_FIELD_VALUE, matchesFieldPattern } from "../../script/pattern";
import { deriveAttestationKey, newKdfParams } from "../../transcript/identity";
import { airGapViolations } from "../network";
import { checkAttendance } from "../participants";
import { enrolTokenKey } from "../token-keys";
import type { ActionImpl, Participant, ResolvedField, StepContext } from "../types";
import { recordedSource } from "./source";
import { json, recipientsRole } from "./util";

/** Items read aloud, values recorded (bag serials, place, recording id). */
export const checklist: ActionImpl<ActionParams<"checklist">> = {
  async run(ctx, params) {
    const fields: ResolvedField[] = params.fields.map((f) => ({ ...f, count: f.count === "custodians" ? ctx.settings.shares : f.count }));
    const values = await ctx.driver.checklist(ctx.view, params.items, fields);
    const inputs: Record<string, string | string[]> = {};
    for (const f of fields) {
      const v = values[f.id];
      const list = Array.isArray(v) ? v.map((s) => s.trim()) : v === undefined ? [] : [v.trim()];
      const want = f.count ?? 1;
      if (f.required && (list.length < want || list.some((s) => !s))) {
        throw new CustosError("CHECKLIST_INCOMPLETE", `"${f.label}" needs ${want} value(s).`, "Fill in every field before confirming the step.");
      }
      if (list.some((s) => s.length > MAX_FIELD_VALUE)) {
        throw new CustosError("CHECKLIST_INVALID", `"${f.label}" is longer than ${MAX_FIELD_VALUE} characters.`, "Check the value and type it again.");
      }
      // Linear-time matching (RE2JS): a pattern cannot make a short entry hang the step.
      if (f.pattern && list.some((s) => !matchesFieldPattern(f.pattern!, s))) {
        throw new CustosError("CHECKLIST_INVALID", `"${f.label}" does not have the expected form.`, "Check the value and type it again.");
      }
      if (f.kind === "serial" && new Set(list).size !== list.length) {
        throw new CustosError("CHECKLIST_INVALID", `"${f.label}": the same serial number was entered twice.`, "Each bag has its own serial number.");
      }
      inputs[f.id] = f.count !== undefined ? list : (list[0] ?? "");
    }
    return { inputs: { confirmedItems: params.items, ...inputs }, outputs: {} };
  },
};

/** Attendance: names, roles and attestation keys derived from passphrases. */
export const enrolParticipants: ActionImpl<ActionParams<"enrol-participants">> = {
  async run(ctx, params) {
    let error: CustosError | undefined;
    // Holders of source roles (custodians at a recovery) are identified by the key they enrolled at generation.
    const src = params.sourceRoles.length ? recordedSource(ctx) : undefined;
    const sourceParticipants: Participant[] = (src?.sourceCustodians ?? []).map((c) => ({ id: c.id, name: c.name, roles: ["custodian"], publicKey: c.publicKey, kdf: c.kdf }));
    const counts: Record<string, { min: number; max?: number }> = {};
    counts[recipientsRole(ctx.script)] = { min: ctx.settings.shares, max: ctx.settings.shares };
    if (src) for (const r of params.sourceRoles) counts[r] = { min: src.sourceBackup.threshold, max: src.sourceBackup.total };
    for (let attempt = 0; attempt < 5; attempt++) {
      const people = await ctx.driver.enrol(ctx.view, ctx.script.roles, error, src ? { roles: params.sourceRoles, participants: sourceParticipants } : undefined);
      const keys: Array<ReturnType<typeof deriveAttestationKey>> = [];
      try {
        checkAttendance(ctx.script, people, counts);
        const participants: Participant[] = [];
        const usedSources = new Set<string>();
        people.forEach((p, i) => {
          const id = `p${String(i + 1).padStart(2, "0")}`;
          const fromSource = p.roles.some((r) => params.sourceRoles.includes(r));
          if (fromSource) {
            const orig = sourceParticipants.find((x) => x.id === p.sourceId);
            if (!orig) throw new CustosError("ENROL_IDENTITY", `${p.name} must be identified as one of the source ceremony's custodians.`, "Choose their name from the source ceremony's custodian list.");
            if (usedSources.has(orig.id)) throw new CustosError("ENROL_IDENTITY", `${orig.name} is enrolled twice.`, "Each custodian is enrolled once.");
            usedSources.add(orig.id);
            // Their key from the source ceremony: the same passphrase, or the same key on the same token.
            const key = orig.token
              ? enrolTokenKey(personalTokens(ctx), { serial: p.token?.serial ?? orig.token.serial, keyLabel: orig.token.label, pin: secretOf(p, "token PIN") }).key
              : deriveAttestationKey(secretOf(p, "passphrase"), orig.kdf!);
            keys.push(key);
            if (key.publicKey !== orig.publicKey) {
              throw new CustosError(
                "ENROL_IDENTITY",
                `${orig.token ? "The token" : "The passphrase"} does not give the attestation key ${orig.name} enrolled at ceremony ${src!.source.ceremonyId}.`,
                "The custodian brings the token or types the passphrase they used at the generation ceremony; nobody else can stand in for them.",
              );
            }
            participants.push({ id, name: orig.name, roles: [...p.roles], publicKey: orig.publicKey, ...(orig.token ? { token: orig.token } : { kdf: orig.kdf }), sourceId: orig.id });
          } else if (p.token) {
            // A key on the participant's own token (§2.4a): proved by a signature made inside it.
            const { record, key } = ownToken(p.name, p.token.serial, () => enrolTokenKey(personalTokens(ctx), { serial: p.token!.serial, keyLabel: p.token!.keyLabel, pin: p.token!.pin }));
            keys.push(key);
            participants.push({ id, name: p.name.trim(), roles: [...p.roles], publicKey: key.publicKey, token: record });
          } else {
            const kdf = newKdfParams(ctx.deps.kdfCost);
            const key = deriveAttestationKey(secretOf(p, "passphrase"), kdf);
            keys.push(key);
            participants.push({ id, name: p.name.trim(), roles: [...p.roles], publicKey: key.publicKey, kdf });
          }
        });
        participants.forEach((p, i) => ctx.keyring.hold(p, keys[i]!));
        ctx.participants.splice(0, ctx.participants.length, ...participants);
        return {
          inputs: {},
          outputs: { participants: json(participants) },
          extraSigners: participants.map((p) => p.id),
        };
      } catch (e) {
        for (const k of keys) k.dispose();
        if (!(e instanceof CustosError) || (!e.code.startsWith("ENROL") && e.code !== "PASSPHRASE_TOO_SHORT" && !e.details.ownToken)) throw e;
        error = e;
      }
    }
    throw error!;
  },
};

/** What a person typed about their own token (serial, key label, PIN) may be wrong: said with their name, and asked again. */
const RETYPE = new Set(["HSM_PIN_INCORRECT", "HSM_PIN_LENGTH", "HSM_TOKEN_REMOVED", "PARTICIPANT_TOKEN_KEY"]);
function ownToken<T>(name: string, serial: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof CustosError) || !(RETYPE.has(e.code) || e.code.startsWith("HSM_KEY_NOT_FOUND"))) throw e;
    throw new CustosError(e.code, `${name.trim()}'s own token (serial ${serial.slice(0, 64)}): ${e.message}`, e.hint, { details: { ...e.details, ownToken: true }, cause: e });
  }
}

/** The module the participants' own tokens are read through (the HSM's unless configured otherwise). */
export function personalTokens(ctx: StepContext) {
  return ctx.deps.openPersonalTokens?.() ?? ctx.hsm();
}

function secretOf(p: { name: string; passphrase?: string; token?: { pin: string } }, what: "passphrase" | "token PIN"): string {
  const v = what === "passphrase" ? p.passphrase : (p.token?.pin ?? p.passphrase);
  if (!v) throw new CustosError("ENROL_IDENTITY", `${p.name} gave no ${what}.`, `Type the ${what} to enrol.`);
  return v;
}

/** Records every interface; a production ceremony stops while any non-loopback one is up. */
export const airGapCheck: ActionImpl<ActionParams<"air-gap-check">> = {
  async run(ctx) {
    const ifaces = ctx.deps.networkInterfaces();
    const bad = airGapViolations(ifaces);
    if (bad.length && ctx.mode === "production") {
      throw new CustosError(
        "AIRGAP_VIOLATION",
        `The laptop is not air-gapped: ${bad.map((i) => `${i.name} (${i.state}${i.addresses.length ? ", " + i.addresses.join(" ") : ""})`).join(", ")}.`,
        "Disconnect cables, switch off Wi-Fi and Bluetooth (or bring the interfaces down), then retry this step.",
      );
    }
    return {
      inputs: {},
      outputs: {
        interfaces: json(ifaces),
        violations: bad.map((i) => i.name),
        verdict: bad.length === 0 ? "air-gapped" : "NOT air-gapped (allowed only because this is a rehearsal)",
      },
    };
  },
};
