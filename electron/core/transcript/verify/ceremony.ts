/**
 * §7: verifies one ceremony — its unsigned header and its stored entries — in
 * the order the spec fixes, and stops at the first failed check.
 */
import { CustosError } from "../../errors";
import { sha256Hex } from "../canonical";
import { ceremonyMetaSchema, firstIssue } from "../schema";
import {
  ABORT_ACTION,
  DEVIATION_ACTION,
  ENROL_ACTION,
  EXCEPTION_ACTION,
  GENESIS_HASH,
  NON_STEP_ACTIONS,
  OPEN_ACTION,
  SEAL_ACTION,
  type CeremonyFacts,
  type CeremonyMeta,
  type CeremonyVerdict,
  type EntryBody,
  type Completeness,
  type RawEntry,
  type Signature,
  type VerifyCode,
  type VerifyFailure,
} from "../types";
import { applyActionRules, type WalkState } from "./action-rules";
import { checkEntryForm } from "./entry-form";
import { checkPins, PIN_EVIDENCE_ACTIONS, type Pins } from "./pins";
import { readScriptRules, type AttestRule, type ScriptRules } from "./script-rules";
import { PARALLEL_MIN_ENTRIES, signatureChecks, type SignatureChecks } from "./signatures";

export interface VerifyCeremonyOptions {
  source: "sqlite" | "bundle";
  pins?: Pins;
  /**
   * Signature checks the caller started and already fed with this ceremony's
   * rows (stored body hash and signatures text); `positions[i]` is where row i
   * went. The caller closes them. Without, the ceremony makes its own.
   */
  signatures?: { checks: SignatureChecks; positions: readonly number[] };
}

/** Entries walked between two turns of the event loop (a few milliseconds of work). */
const YIELD_EVERY = 128;

/** Stage numbers of §7.2 (1–14); a failure at a stage after 10 can be preceded by an invalid signature in the same entry. */
type Stage = number;

function verdict(ceremonyId: string, rows: number, head: string | null, facts: CeremonyFacts, failure?: VerifyFailure, completeness: Completeness = "incomplete"): CeremonyVerdict {
  return { ceremonyId, ok: failure === undefined, completeness, entries: rows, head, ...(failure ? { failure } : {}), facts, pins: [] };
}

/** §5 (checked by §7.1 rule 3): the structure every script Custos accepts has. */
function scriptStructureProblem(rules: ScriptRules): string | undefined {
  const enrols = rules.steps.filter((s) => s.action === ENROL_ACTION).length;
  if (enrols !== 1) return `the script has ${enrols} enrol-participants steps; it must have exactly one.`;
  const enrolAt = rules.steps.findIndex((s) => s.action === ENROL_ACTION);
  const early = rules.steps.findIndex((s, i) => i < enrolAt && s.attest.length > 0);
  if (early >= 0) return `step '${rules.steps[early]!.id}' asks for attestation before anyone is enrolled.`;
  const seals = rules.steps.filter((s) => s.action === SEAL_ACTION).length;
  if (seals !== 1 || rules.steps[rules.steps.length - 1]!.action !== SEAL_ACTION) return "the script's last step, and only its last step, must be seal-transcript.";
  const reserved = rules.steps.find((s) => NON_STEP_ACTIONS.includes(s.action));
  if (reserved) return `step '${reserved.id}' uses the reserved action '${reserved.action}'.`;
  const ids = new Set<string>();
  for (const s of rules.steps) {
    if (ids.has(s.id)) return `the step id '${s.id}' is used twice.`;
    ids.add(s.id);
  }
  return undefined;
}

/** §7.4: who among the enrolled must sign for one attest list; the first unmet requirement, in words. */
function unmetRequirement(reqs: readonly AttestRule[], rules: ScriptRules, state: WalkState, signers: Set<string>): string | undefined {
  const enrolled = [...(state.enrolled?.values() ?? [])];
  for (const req of reqs) {
    const holders = enrolled.filter((p) => p.roles.includes(req.role));
    const signed = holders.filter((p) => signers.has(p.id));
    const role = rules.roles.find((r) => r.id === req.role);
    if (holders.length === 0) {
      if (role && role.min === 0) continue;
      return `the script requires an attestation by '${req.role}', but nobody enrolled holds that role.`;
    }
    if (req.who === "one" && signed.length === 0) return `the script requires an attestation by one '${req.role}' (${holders.map((h) => h.id).join(", ")}); none signed.`;
    if (req.who === "all" && signed.length < holders.length) {
      const missing = holders.find((h) => !signers.has(h.id))!;
      return `the script requires every '${req.role}' to attest; '${missing.id}' (${missing.name}) did not sign.`;
    }
    if (req.who === "quorum") {
      const need = state.sourceThreshold ?? state.settings?.threshold ?? Infinity;
      if (signed.length < need) return `the script requires a quorum of ${need} '${req.role}' attestations; ${signed.length} signed.`;
    }
  }
  return undefined;
}

/** Verifies one ceremony from its header and stored rows (seq order). */
export async function verifyCeremony(rawMeta: unknown, rows: readonly RawEntry[], o: VerifyCeremonyOptions): Promise<CeremonyVerdict> {
  if (o.signatures) return walkCeremony(rawMeta, rows, o, o.signatures.checks, o.signatures.positions);
  const checks = signatureChecks(rows.length >= PARALLEL_MIN_ENTRIES ? undefined : 1);
  try {
    const positions = rows.map((r) => checks.add(r.bodyHash, r.signaturesJson));
    return await walkCeremony(rawMeta, rows, o, checks, positions);
  } finally {
    await checks.close();
  }
}

async function walkCeremony(rawMeta: unknown, rows: readonly RawEntry[], o: VerifyCeremonyOptions, checks: SignatureChecks, positions: readonly number[]): Promise<CeremonyVerdict> {
  if (positions.length !== rows.length) throw new CustosError("INTERNAL", "The signature checks were not given every entry of the ceremony.", "This is a fault in Custos; please report it.");
  const idOf = (m: unknown) => (m && typeof m === "object" && typeof (m as { id?: unknown }).id === "string" ? (m as { id: string }).id : "?");
  const lastRowHash = rows.length ? rows[rows.length - 1]!.entryHash : null;
  const head = typeof lastRowHash === "string" ? lastRowHash : null;
  const facts: CeremonyFacts = { stepsDone: 0, exceptions: 0, deviations: 0, signed: false };

  // §7.1
  const metaShape = ceremonyMetaSchema.safeParse(rawMeta);
  if (!metaShape.success) return verdict(idOf(rawMeta), rows.length, head, facts, { code: "HEADER_MALFORMED", reason: `the ceremony header is malformed at ${firstIssue(metaShape.error)}.` });
  const meta = rawMeta as CeremonyMeta;
  const textHash = sha256Hex(meta.scriptText);
  if (textHash !== meta.scriptSha256) {
    return verdict(meta.id, rows.length, head, facts, {
      code: "SCRIPT_HASH_MISMATCH",
      reason: `the stored script text does not hash to the script SHA-256 recorded with it (recorded ${meta.scriptSha256.slice(0, 12)}…, text hashes to ${textHash.slice(0, 12)}…).`,
    });
  }
  let rules: ScriptRules;
  try {
    rules = readScriptRules(meta.scriptText);
  } catch (e) {
    return verdict(meta.id, rows.length, head, facts, { code: "SCRIPT_UNREADABLE", reason: `${(e as Error).message}.` });
  }
  const structure = scriptStructureProblem(rules);
  if (structure) return verdict(meta.id, rows.length, head, facts, { code: "SCRIPT_UNREADABLE", reason: structure });
  facts.stepsTotal = rules.steps.length;
  if (rows.length === 0) return verdict(meta.id, 0, null, facts, { code: "NO_ENTRIES", reason: "the ceremony has a header but no entry: nothing signed supports it." });

  // §7.2, checks 1–9 and 11–14 in one pass; signatures (check 10) are being checked meanwhile (`checks`) and asked for after.
  const state: WalkState = {};
  let prev = GENESIS_HASH;
  let cursor = 0;
  let closedAt: { seq: number; action: string } | undefined;
  let failure: (VerifyFailure & { stage: Stage }) | undefined;
  let lastChecked = 0;
  // What the walk keeps of each entry: its hash, its stepId and the time (and, for the pins, the few bodies they read).
  // The parsed bodies and signatures are dropped, so they die young instead of filling the heap of a large file.
  const hashes: string[] = [];
  const stepIds: string[] = [];
  const rootEvidence: EntryBody[] = [];
  let first: EntryBody | undefined;
  let prevTimestamp: string | undefined;

  {
    for (let i = 1; i <= rows.length; i++) {
      // Let the worker threads' answers in now and then, so each gets its next chunk while the walk goes on.
      if (i % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const formed = checkEntryForm(rows[i - 1]!, i, prev, prevTimestamp, meta.id, closedAt, o.source);
      if ("failure" in formed) {
        failure = { ...formed.failure, stage: 9 };
        break;
      }
      const e = formed.entry;
      hashes.push(e.entryHash);
      stepIds.push(e.body.stepId);
      prevTimestamp = e.body.timestamp;
      if (i === 1) first = e.body;
      if (PIN_EVIDENCE_ACTIONS.has(e.body.action)) rootEvidence.push(e.body);
      // The signature checks must be about this very entry (the text checks 1–9 passed), never another ceremony's row.
      const fed = checks.fed(positions[i - 1]!);
      if (!fed || fed[0] !== rows[i - 1]!.bodyHash || fed[1] !== rows[i - 1]!.signaturesJson) {
        throw new CustosError("INTERNAL", `The signature checks of entry ${i} were given another entry's signatures.`, "This is a fault in Custos; please report it.");
      }
      lastChecked = i;
      const b = e.body;
      const fail = (code: VerifyCode, stage: Stage, reason: string) => {
        failure = { code, seq: i, stepId: b.stepId, reason, stage };
      };
      const isStep = !NON_STEP_ACTIONS.includes(b.action);
      const step = rules.steps[cursor];

      // 11. position
      if (i === 1 && b.action !== OPEN_ACTION) fail("OUT_OF_ORDER", 11, "the first entry must open the ceremony (action open-ceremony).");
      else if (i > 1 && b.action === OPEN_ACTION) fail("OUT_OF_ORDER", 11, "only the first entry may open the ceremony.");
      else if (!step) fail("OUT_OF_ORDER", 11, "every script step is already recorded.");
      else if (b.stepId !== step.id && (!isStep || !rules.steps.some((s) => s.id === b.stepId))) {
        fail("OUT_OF_ORDER", 11, isStep ? `step '${b.stepId}' is not in the script (the script expects '${step.id}').` : `a ${b.action} entry must name the step in progress, '${step.id}'.`);
      } else if (isStep && b.stepId !== step.id) {
        const later = rules.steps.findIndex((s, k) => k > cursor && s.id === b.stepId) >= 0;
        fail("OUT_OF_ORDER", 11, later ? `step '${b.stepId}' was recorded where the script expects '${step.id}' (a step was skipped or steps reordered).` : `step '${b.stepId}' was recorded again where the script expects '${step.id}'.`);
      } else if (isStep && b.action !== step.action) fail("OUT_OF_ORDER", 11, `step '${step.id}' is a ${step.action} step in the script, but the entry records ${b.action}.`);
      else if (b.action === EXCEPTION_ACTION && !state.enrolled) fail("OUT_OF_ORDER", 11, "an exception can only be recorded after the enrolment (it must be signed).");
      if (failure) break;

      // 12. the action's own rules
      if (i === 1 && b.outputs.scriptSha256 !== meta.scriptSha256) {
        fail("SCRIPT_HASH_MISMATCH", 12, "entry 1 records another script SHA-256 than the stored script text's.");
        break;
      }
      const wasEnrolled = state.enrolled !== undefined;
      const problem = applyActionRules(b, rules, state, cursor);
      if (problem) {
        fail("ACTION_MALFORMED", 12, problem);
        break;
      }

      // 13. authorisation
      for (const s of e.signatures) {
        if (s.kind === "participant") {
          const p = state.enrolled?.get(s.signer);
          if (!p) fail("SIGNER_NOT_AUTHORISED", 13, `it is signed by '${s.signer}', who is not an enrolled participant.`);
          else if (p.publicKey !== s.publicKey || s.algorithm !== p.algorithm) fail("SIGNER_NOT_AUTHORISED", 13, `the signature of '${s.signer}' is made with another key than the one '${s.signer}' enrolled with.`);
        } else if (b.action !== SEAL_ACTION) fail("SIGNER_NOT_AUTHORISED", 13, "a root-key signature is allowed only on the seal.");
        else if (!state.rootKey) fail("SIGNER_NOT_AUTHORISED", 13, "the seal carries a root-key signature, but the ceremony recorded no root key.");
        else if (s.signer !== "root-key" || s.publicKey !== state.rootKey.spki || s.algorithm !== state.rootKey.signatureAlgorithm) {
          fail("SIGNER_NOT_AUTHORISED", 13, "the seal's root-key signature is not made with the root key the ceremony recorded.");
        }
        if (failure) break;
      }
      if (failure) break;

      // 14. required signers
      const signers = new Set(e.signatures.filter((s) => s.kind === "participant").map((s) => s.signer));
      let missing: string | undefined;
      if (b.action === ENROL_ACTION && !wasEnrolled) {
        const who = [...state.enrolled!.values()].find((p) => !signers.has(p.id));
        if (who) missing = `every enrolled participant signs their enrolment; '${who.id}' (${who.name}) did not.`;
      }
      if (!missing && isStep) missing = unmetRequirement(step!.attest, rules, state, signers);
      if (!missing && state.enrolled && (b.action === EXCEPTION_ACTION || b.action === ABORT_ACTION)) {
        missing = unmetRequirement(b.action === EXCEPTION_ACTION ? rules.exceptions : rules.abort, rules, state, signers);
      }
      if (!missing) {
        const absent = b.requiredSigners.find((id) => !signers.has(id));
        if (absent) missing = `Custos asked '${absent}' to attest this entry, but their signature is missing.`;
      }
      if (!missing && b.action === SEAL_ACTION && state.rootKey && !e.signatures.some((s) => s.kind === "root-key")) {
        missing = "the seal carries no signature of the root key, although the ceremony recorded one (proof of possession).";
      }
      if (missing) {
        fail("ATTESTATION_MISSING", 14, missing);
        break;
      }

      // The entry is good: what it recorded counts from here on.
      if (isStep) cursor++;
      if (b.action === EXCEPTION_ACTION) facts.exceptions++;
      if (b.action === DEVIATION_ACTION) facts.deviations++;
      if (b.action === SEAL_ACTION || b.action === ABORT_ACTION) closedAt = { seq: i, action: b.action };
      if (b.action === ABORT_ACTION) facts.abortReason = String(b.inputs.reason);
      if (b.action === "self-sign-certificate") {
        const c = b.outputs.certificate as { sha256?: unknown } | undefined;
        if (c && typeof c.sha256 === "string") facts.certificateSha256 = c.sha256;
      }
      prev = e.entryHash;
    }
  }

  // Check 10 for every entry up to the failure (or all), earliest first.
  const upTo = failure ? (failure.stage > 10 ? failure.seq! : failure.seq! - 1) : lastChecked;
  // Only entries that passed checks 1–9 (and were confirmed above to be what the checks were given) are asked about.
  const bad = upTo > 0 ? await checks.firstInvalid(positions.slice(0, upTo)) : undefined;
  if (bad) {
    const seq = bad.index + 1;
    // The checks parsed the same stored text the walk parsed (confirmed above), so index k is the same signature.
    const s = (JSON.parse(rows[seq - 1]!.signaturesJson as string) as Signature[])[bad.k];
    failure = {
      code: "SIGNATURE_INVALID",
      seq,
      stepId: stepIds[seq - 1]!,
      reason: !s ? "a signature does not verify." : s.kind === "root-key" ? `the root-key signature (${s.algorithm}) does not verify.` : `the signature of participant '${s.signer}' does not verify.`,
      stage: 10,
    };
  }

  // Facts come from the signed entries only.
  if (first && first.action === OPEN_ACTION) {
    facts.mode = first.outputs.mode as CeremonyFacts["mode"];
    facts.scriptSha256 = String(first.outputs.scriptSha256);
    facts.createdAt = first.timestamp;
  }
  facts.scriptId = rules.id;
  facts.scriptVersion = rules.version;
  facts.scriptTitle = rules.title;
  facts.stepsDone = cursor;
  facts.signed = state.enrolled !== undefined;
  if (state.rootKey) facts.rootKeyFingerprint = state.rootKey.fingerprint;
  const completeness: Completeness = closedAt?.action === SEAL_ACTION ? "complete" : closedAt?.action === ABORT_ACTION ? "aborted" : "incomplete";
  if (failure) {
    const { stage: _stage, ...f } = failure;
    return verdict(meta.id, rows.length, head, facts, f, completeness);
  }

  // §7.5.1 the unsigned header against the signed entries
  const derived: Record<string, string | undefined> = {
    mode: facts.mode,
    createdAt: facts.createdAt,
    scriptId: rules.id,
    scriptVersion: rules.version,
    scriptTitle: rules.title,
    status: completeness === "complete" ? "closed" : completeness === "aborted" ? "aborted" : "open",
  };
  for (const [field, value] of Object.entries(derived)) {
    const stored = (meta as unknown as Record<string, string>)[field];
    if (stored !== value) {
      return verdict(meta.id, rows.length, head, facts, { code: "HEADER_MISMATCH", reason: `the unsigned header says ${field} '${stored}', but the signed entries say '${value ?? "(nothing)"}'.` }, completeness);
    }
  }
  const v = verdict(meta.id, rows.length, head, facts, undefined, completeness);
  if (o.pins) {
    v.pins = checkPins(o.pins, { head, meta, entryHashes: hashes, rootEvidence, state });
    const failed = v.pins.find((p) => !p.held);
    if (failed) {
      v.ok = false;
      v.failure = { code: "PIN_MISMATCH", reason: `${failed.pin}: ${failed.detail}` };
    }
  }
  return v;
}
