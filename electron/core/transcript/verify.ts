import { readFileSync, statSync } from "node:fs";
import YAML from "yaml";
import { CustosError } from "../errors";
import { decodeBase64Strict } from "./base64";
import { looseBundleSchema, type LooseBundleEntry } from "./bundle";
import { canonicalJson, sha256Hex } from "./canonical";
import { attestationMessage, entryHash as computeEntryHash, verifySignature } from "./chain";
import { ed25519PublicKeyFromRaw } from "./identity";
import { ceremonyMetaSchema, enrolledParticipantSchema, entryBodySchema, firstIssue, signatureSchema } from "./schema";
import { SQLITE_MAGIC, TranscriptStore } from "./store";
import { GENESIS_HASH, type Bundle, type RawEntry, type CeremonyMeta, type CeremonyVerdict, type EntryBody, type Signature, type VerifyResult } from "./types";

/** Action of the entry that enrols participants and their attestation keys. */
export const ENROL_ACTION = "enrol-participants";
/** Action of the last entry of a completed ceremony, signed by the root key. */
export const SEAL_ACTION = "seal-transcript";
/** Action of entries that record an out-of-script event; they do not advance the script. */
export const EXCEPTION_ACTION = "exception";

interface ScriptInfo {
  steps: string[];
}

/** What verify learned from the script text; undefined steps when it cannot be read. */
function readScript(meta: CeremonyMeta, problems: string[]): ScriptInfo | undefined {
  let doc: unknown;
  let raw: unknown;
  try {
    doc = YAML.parse(meta.scriptText);
    // Failsafe keeps every scalar as written ("1.0" stays "1.0") for comparing with the ceremony row.
    raw = YAML.parse(meta.scriptText, { schema: "failsafe" });
  } catch (e) {
    problems.push(`The ceremony's script text is not valid YAML (${(e as Error).message.split("\n")[0]}); the step order was not checked.`);
    return undefined;
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    problems.push("The ceremony's script text is not a YAML mapping; the step order was not checked.");
    return undefined;
  }
  const d = doc as Record<string, unknown>;
  const r = (raw ?? {}) as Record<string, unknown>;
  const fields: Array<[keyof CeremonyMeta, string]> = [
    ["scriptId", "id"],
    ["scriptVersion", "version"],
    ["scriptTitle", "title"],
  ];
  for (const [metaKey, scriptKey] of fields) {
    if (!(scriptKey in d)) continue;
    const recorded = meta[metaKey];
    if (recorded !== String(d[scriptKey]) && recorded !== r[scriptKey]) {
      problems.push(`The ceremony record's ${metaKey} is '${String(recorded)}' but the script says ${scriptKey} '${String(r[scriptKey] ?? d[scriptKey])}'.`);
    }
  }
  const steps = d.steps;
  if (!Array.isArray(steps) || steps.length === 0) {
    problems.push("The ceremony's script has no steps list; the step order was not checked.");
    return undefined;
  }
  const ids: string[] = [];
  for (const [i, step] of steps.entries()) {
    const id = step && typeof step === "object" ? (step as Record<string, unknown>).id : undefined;
    if (typeof id !== "string" && typeof id !== "number") {
      problems.push(`Step ${i + 1} of the ceremony's script has no id; the step order was not checked.`);
      return undefined;
    }
    ids.push(String(id));
  }
  return { steps: ids };
}

interface Bad {
  seq: number;
  stepId: string;
  reason: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function short(hash: unknown): string {
  return typeof hash === "string" ? `${hash.slice(0, 12)}…` : String(hash);
}

/** Verifies one ceremony from its unparsed rows (seq order); names the first bad entry, puts script/record problems in `problems`. */
export function verifyCeremony(meta: CeremonyMeta, rows: RawEntry[]): CeremonyVerdict {
  const problems: string[] = [];
  // SQLite columns are untyped: an edited ceremony row may hold anything, and must be reported, not thrown on.
  const metaShape = ceremonyMetaSchema.safeParse(meta);
  if (!metaShape.success) {
    const last = rows[rows.length - 1];
    return {
      ceremonyId: String(meta.id),
      ok: false,
      entries: rows.length,
      head: last ? String(last.entryHash) : null,
      sealed: false,
      problems: [`The ceremony record is malformed at ${firstIssue(metaShape.error)}; its entries were not checked.`],
    };
  }
  const actualScriptHash = sha256Hex(meta.scriptText);
  if (actualScriptHash !== meta.scriptSha256) {
    problems.push(
      `The ceremony's script text does not match the script SHA-256 recorded with it (recorded ${short(meta.scriptSha256)}, text hashes to ${short(actualScriptHash)}).`,
    );
  }
  const script = readScript(meta, problems);

  const participants = new Map<string, string>();
  const rootKeys = new Set<string>();
  let prevHash = GENESIS_HASH;
  let stepIndex = 0;
  let sealedAt: number | undefined;
  let firstBad: Bad | undefined;

  const expectedStep = (): string => script?.steps[stepIndex] ?? "?";

  for (const [i, row] of rows.entries()) {
    const expectedSeq = i + 1;
    const bad = (reason: string, seq = expectedSeq, stepId = typeof row.stepId === "string" ? row.stepId : "?"): Bad => ({ seq, stepId, reason });

    // --- position in the chain
    if (row.seq !== expectedSeq) {
      firstBad = !Number.isSafeInteger(row.seq)
        ? bad(`the entry stored at position ${expectedSeq} has no valid sequence number (${JSON.stringify(row.seq)}).`, expectedSeq, expectedStep())
        : row.seq > expectedSeq
          ? bad(
              `missing: ${expectedSeq === 1 ? "the transcript starts" : `after entry ${expectedSeq - 1} the transcript continues`} with entry ${row.seq}.`,
              expectedSeq,
              expectedStep(),
            )
          : bad(`expected entry ${expectedSeq} here but found an entry numbered ${String(row.seq)} (entries duplicated or out of order).`, expectedSeq, expectedStep());
      break;
    }

    // --- the body, byte for byte
    if (typeof row.bodyJson !== "string") {
      firstBad = bad("the stored body is not text.");
      break;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.bodyJson);
    } catch {
      firstBad = bad("the stored body is not valid JSON (it was edited or damaged).");
      break;
    }
    let recanonical: string | undefined;
    try {
      recanonical = canonicalJson(parsed);
    } catch {
      recanonical = undefined;
    }
    if (recanonical !== row.bodyJson) {
      firstBad = bad("the stored body is not in RFC 8785 canonical form, so it is not the text that was hashed (it was edited).");
      break;
    }
    const shape = entryBodySchema.safeParse(parsed);
    if (!shape.success) {
      firstBad = bad(`the body is malformed at ${firstIssue(shape.error)}.`);
      break;
    }
    const body = parsed as EntryBody;
    if (row.stepId !== body.stepId) {
      firstBad = bad(`the stored step column says '${String(row.stepId)}' but the hashed body says '${body.stepId}'.`, expectedSeq, body.stepId);
      break;
    }
    if (row.action !== body.action) {
      firstBad = bad(`the stored action column says '${String(row.action)}' but the hashed body says '${body.action}'.`);
      break;
    }
    if (body.seq !== expectedSeq) {
      firstBad = bad(`the stored sequence number is ${expectedSeq} but the hashed body says ${body.seq}.`);
      break;
    }
    if (body.ceremonyId !== meta.id) {
      firstBad = bad(`the body belongs to ceremony '${body.ceremonyId}', not '${meta.id}'.`);
      break;
    }
    const hashOfBody = sha256Hex(row.bodyJson);
    if (row.bodyHash !== hashOfBody) {
      firstBad = bad(`the stored body hash ${short(row.bodyHash)} is not the SHA-256 of the body (${short(hashOfBody)}).`);
      break;
    }
    if (body.prevHash !== prevHash) {
      firstBad = bad(
        expectedSeq === 1
          ? "the first entry does not start the chain (its previous hash is not the genesis hash)."
          : `the chain is broken: the entry points at ${short(body.prevHash)} but entry ${expectedSeq - 1} hashes to ${short(prevHash)}.`,
      );
      break;
    }

    // --- signatures: form, entry hash, validity
    let sigsParsed: unknown;
    try {
      sigsParsed = typeof row.signaturesJson === "string" ? JSON.parse(row.signaturesJson) : undefined;
    } catch {
      sigsParsed = undefined;
    }
    if (!Array.isArray(sigsParsed)) {
      firstBad = bad("the stored signatures are not a JSON list (they were edited or damaged).");
      break;
    }
    let sigCanonical: string | undefined;
    try {
      sigCanonical = canonicalJson(sigsParsed);
    } catch {
      sigCanonical = undefined;
    }
    if (sigCanonical !== row.signaturesJson) {
      firstBad = bad("the stored signatures are not in canonical form (they were edited).");
      break;
    }
    let sigProblem: string | undefined;
    for (const [k, s] of sigsParsed.entries()) {
      const r = signatureSchema.safeParse(s);
      if (!r.success) {
        sigProblem = `signature ${k + 1} is malformed at ${firstIssue(r.error)}.`;
        break;
      }
    }
    if (sigProblem) {
      firstBad = bad(sigProblem);
      break;
    }
    const sigs = sigsParsed as Signature[];
    const recomputedEntryHash = computeEntryHash(row.bodyHash, sigs);
    if (row.entryHash !== recomputedEntryHash) {
      firstBad = bad(`the stored entry hash ${short(row.entryHash)} does not match the body and signatures (${short(recomputedEntryHash)}).`);
      break;
    }
    const seen = new Set<string>();
    for (const s of sigs) {
      const key = `${s.kind}\u0000${s.signer}`;
      if (seen.has(key)) {
        sigProblem = `it carries two ${s.kind} signatures from '${s.signer}'.`;
        break;
      }
      seen.add(key);
    }
    if (sigProblem) {
      firstBad = bad(sigProblem);
      break;
    }
    const message = attestationMessage(row.bodyHash);
    for (const s of sigs) {
      if (!verifySignature(s, message)) {
        sigProblem =
          s.kind === "root-key"
            ? `the root-key signature (${s.algorithm}) does not verify.`
            : `the signature of participant '${s.signer}' does not verify.`;
        break;
      }
    }
    if (sigProblem) {
      firstBad = bad(sigProblem);
      break;
    }

    // --- who may sign: enrolled participants and recorded root keys
    const enrolledHere = new Map<string, string>();
    if (body.action === ENROL_ACTION) {
      const list = body.outputs.participants;
      if (!Array.isArray(list) || list.length === 0) {
        firstBad = bad("an enrolment entry must list the enrolled participants in outputs.participants.");
        break;
      }
      for (const [k, p] of list.entries()) {
        const r = enrolledParticipantSchema.safeParse(p);
        if (!r.success) {
          sigProblem = `enrolled participant ${k + 1} is malformed at ${firstIssue(r.error)}.`;
          break;
        }
        const { id, publicKey } = r.data;
        if (!ed25519PublicKeyFromRaw(publicKey)) {
          sigProblem = `participant '${id}' was enrolled with a public key that is not a 32-byte Ed25519 key.`;
          break;
        }
        if (enrolledHere.has(id)) {
          sigProblem = `participant '${id}' is enrolled twice in the same entry.`;
          break;
        }
        const earlier = participants.get(id);
        if (earlier !== undefined && earlier !== publicKey) {
          sigProblem = `participant '${id}' is enrolled again with a different key than before.`;
          break;
        }
        enrolledHere.set(id, publicKey);
      }
      if (sigProblem) {
        firstBad = bad(sigProblem);
        break;
      }
    }
    const rootKey = body.outputs.rootKey;
    const rootKeysHere: string[] = [];
    if (rootKey !== undefined) {
      const spki = isObject(rootKey) ? rootKey.spki : undefined;
      if (typeof spki !== "string" || !decodeBase64Strict(spki)) {
        firstBad = bad("outputs.rootKey.spki must be the root public key as base64 SPKI DER.");
        break;
      }
      rootKeysHere.push(spki);
    }
    const keyOf = (id: string): string | undefined => enrolledHere.get(id) ?? participants.get(id);
    for (const s of sigs) {
      if (s.kind === "participant") {
        const enrolled = keyOf(s.signer);
        if (enrolled === undefined) {
          sigProblem = `it is signed by '${s.signer}', who is not an enrolled participant.`;
        } else if (enrolled !== s.publicKey) {
          sigProblem = `the signature of '${s.signer}' is made with a key other than the one '${s.signer}' enrolled with.`;
        }
      } else if (s.signer !== "root-key") {
        sigProblem = `a root-key signature must have signer 'root-key', not '${s.signer}'.`;
      } else if (!rootKeys.has(s.publicKey) && !rootKeysHere.includes(s.publicKey)) {
        sigProblem = "the root-key signature is made with a key that no earlier entry recorded as the root key.";
      }
      if (sigProblem) break;
    }
    if (sigProblem) {
      firstBad = bad(sigProblem);
      break;
    }
    const signedBy = (id: string): boolean => sigs.some((s) => s.kind === "participant" && s.signer === id);
    const missing = body.requiredSigners.find((id) => !signedBy(id)) ?? [...enrolledHere.keys()].find((id) => !signedBy(id));
    if (missing !== undefined) {
      firstBad = bad(`the attestation of '${missing}' is required but missing.`);
      break;
    }
    // Invariant 4: once anyone can sign, every entry is signed; only entries before enrolment can carry none.
    if (sigs.length === 0 && (participants.size > 0 || enrolledHere.size > 0 || rootKeys.size > 0)) {
      firstBad = bad("the entry carries no signature.");
      break;
    }

    // The seal is the root key's proof of possession; stripping it would otherwise only leave the entry hash to recompute.
    if (body.action === SEAL_ACTION && (rootKeys.size > 0 || rootKeysHere.length > 0) && !sigs.some((s) => s.kind === "root-key")) {
      firstBad = bad("the transcript seal carries no root-key signature, although the ceremony recorded a root key.");
      break;
    }

    // --- ceremony-level facts recorded in entries
    if (sealedAt !== undefined) {
      firstBad = bad(`the entry was added after the transcript was sealed at entry ${sealedAt}.`);
      break;
    }
    if (expectedSeq === 1) {
      const recorded = body.outputs.scriptSha256;
      if (typeof recorded !== "string") {
        firstBad = bad("the first entry does not record the script's SHA-256 in outputs.scriptSha256.");
        break;
      }
      // Entry 1 is hashed and chained; the ceremony row is not, so a mismatch is the row's problem.
      if (recorded !== meta.scriptSha256) {
        problems.push(`Entry 1 recorded script SHA-256 ${short(recorded)}, but the ceremony record says ${short(meta.scriptSha256)}.`);
      }
      if (typeof body.outputs.mode !== "string") {
        firstBad = bad("the first entry does not record the ceremony mode in outputs.mode.");
        break;
      }
      if (body.outputs.mode !== meta.mode) {
        problems.push(`The ceremony record says mode '${meta.mode}', but entry 1 recorded '${body.outputs.mode}'.`);
      }
    }
    if (script && body.action !== EXCEPTION_ACTION) {
      const expected = script.steps[stepIndex];
      if (expected === undefined) {
        firstBad = bad(`step '${body.stepId}' comes after the script's last step.`);
        break;
      }
      if (body.stepId !== expected) {
        const later = script.steps.indexOf(body.stepId, stepIndex + 1);
        const known = script.steps.includes(body.stepId);
        firstBad = bad(
          later >= 0
            ? `step '${body.stepId}' was recorded where the script expects '${expected}' (a step was skipped or steps reordered).`
            : known
              ? `step '${body.stepId}' was recorded again where the script expects '${expected}'.`
              : `step '${body.stepId}' is not in the script (the script expects '${expected}').`,
        );
        break;
      }
      stepIndex++;
    }

    // The entry is good: what it recorded now counts for the entries after it.
    for (const [id, key] of enrolledHere) participants.set(id, key);
    for (const key of rootKeysHere) rootKeys.add(key);
    if (body.action === SEAL_ACTION && sigs.some((s) => s.kind === "root-key")) sealedAt = expectedSeq;
    prevHash = row.entryHash;
  }

  const last = rows[rows.length - 1];
  if (!firstBad && script && meta.status === "closed" && stepIndex < script.steps.length) {
    // Truncation of an open ceremony cannot be told from a pause; a closed one must have run every step.
    const missing = script.steps.length - stepIndex;
    firstBad = {
      seq: rows.length + 1,
      stepId: script.steps[stepIndex] ?? "?",
      reason: `missing: the ceremony is marked closed, but its transcript stops ${rows.length ? `after entry ${rows.length}` : "before the first entry"} with ${missing} script step${missing === 1 ? "" : "s"} unrecorded (entries removed from the end?).`,
    };
  }
  const sealed = firstBad === undefined && sealedAt !== undefined && sealedAt === rows.length;
  return {
    ceremonyId: meta.id,
    ok: firstBad === undefined && problems.length === 0,
    entries: rows.length,
    head: last ? String(last.entryHash) : null,
    sealed,
    ...(firstBad ? { firstBad } : {}),
    problems,
  };
}

/** "entry 5 (step 'generate-root-key'): reason" for a terminal or a dialog. */
export function describeFirstBad(bad: NonNullable<CeremonyVerdict["firstBad"]>): string {
  return `entry ${bad.seq} (step '${bad.stepId}'): ${bad.reason}`;
}

/** Verifies every ceremony in a transcript database, and flags entries that belong to no ceremony. */
export function verifyStore(store: TranscriptStore): VerifyResult {
  const ceremonies = store.listCeremonies().map((meta) => verifyCeremony(meta, store.rawEntries(meta.id)));
  for (const id of store.orphanCeremonyIds()) {
    ceremonies.push({
      ceremonyId: id,
      ok: false,
      entries: store.rawEntries(id).length,
      head: null,
      sealed: false,
      problems: [`The transcript holds entries for ceremony '${id}', which has no ceremony record (rows were edited).`],
    });
  }
  return { ok: ceremonies.every((c) => c.ok), source: "sqlite", ceremonies };
}

function canonicalOrUnparseable(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    // Not JSON text, so the verifier reports the entry as unparseable rather than throwing.
    return "\u0000unrepresentable";
  }
}

/** Rows for verifyCeremony from bundle entries, which carry bodies rather than stored text. */
function bundleRows(entries: readonly LooseBundleEntry[]): RawEntry[] {
  return entries.map((e, i) => {
    const body = isObject(e.body) ? e.body : {};
    return {
      // A bundle has no separate seq column: its position stands in when the body's own seq is unusable,
      // so the schema check then names the bad field.
      seq: typeof body.seq === "number" ? body.seq : i + 1,
      stepId: typeof body.stepId === "string" ? body.stepId : "?",
      action: typeof body.action === "string" ? body.action : "?",
      bodyJson: canonicalOrUnparseable(e.body),
      bodyHash: typeof e.bodyHash === "string" ? e.bodyHash : "",
      signaturesJson: canonicalOrUnparseable(e.signatures ?? null),
      entryHash: typeof e.entryHash === "string" ? e.entryHash : "",
    };
  });
}

function verifyBundleParts(ceremony: CeremonyMeta, entries: readonly LooseBundleEntry[], head: string): CeremonyVerdict {
  const verdict = verifyCeremony(ceremony, bundleRows(entries));
  const last = entries[entries.length - 1];
  const expectedHead = last ? last.entryHash : GENESIS_HASH;
  if (head !== expectedHead) {
    verdict.problems.push(`The bundle's head ${short(head)} is not the hash of its last entry (${short(expectedHead)}).`);
    verdict.ok = false;
  }
  return verdict;
}

/** Verifies a parsed bundle. */
export function verifyBundle(bundle: Bundle): VerifyResult {
  const verdict = verifyBundleParts(bundle.ceremony, bundle.entries, bundle.head);
  return { ok: verdict.ok, source: "bundle", ceremonies: [verdict] };
}

/** Hooks for input formats other modules know how to open. */
export interface VerifyFileOptions {
  /** Returns the bundle JSON embedded in a PDF report, or null; supplied by the report module, without it PDFs are refused. */
  extractBundleFromPdf?: (pdf: Uint8Array) => string | null;
}

function unreadable(path: string, why: string, cause?: unknown): CustosError {
  return new CustosError(
    "VERIFY_UNREADABLE",
    `${path} cannot be verified: ${why}`,
    "Give custos verify a transcript.sqlite, a bundle.json or a report.pdf that Custos wrote.",
    cause === undefined ? undefined : { cause },
  );
}

function verifyBundleText(path: string, text: string, source: "bundle" | "pdf"): VerifyResult {
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (cause) {
    throw unreadable(path, "it is neither a SQLite transcript, a JSON bundle nor a PDF report.", cause);
  }
  // Loose on entries on purpose: a damaged entry should be named by the verifier (exit 1), not make the file unreadable (exit 2).
  const parsed = looseBundleSchema.safeParse(json);
  if (!parsed.success) throw unreadable(path, `it is not a Custos transcript bundle (${firstIssue(parsed.error)}).`);
  const b = parsed.data;
  const verdict = verifyBundleParts(b.ceremony as CeremonyMeta, b.entries, b.head);
  return { ok: verdict.ok, source, ceremonies: [verdict] };
}

/** `custos verify FILE`: detects a SQLite transcript, a JSON bundle or (with the hook) a PDF report; VERIFY_UNREADABLE otherwise. */
export function verifyFile(path: string, options: VerifyFileOptions = {}): VerifyResult {
  let bytes: Buffer;
  try {
    if (!statSync(path).isFile()) throw new Error("not a regular file");
    bytes = readFileSync(path);
  } catch (cause) {
    throw unreadable(path, `the file cannot be read (${(cause as Error).message}).`, cause);
  }
  if (bytes.length >= 16 && bytes.subarray(0, 16).equals(SQLITE_MAGIC)) {
    let store: TranscriptStore;
    try {
      store = TranscriptStore.openReadOnly(path);
    } catch (cause) {
      throw unreadable(path, cause instanceof CustosError ? cause.message : String(cause), cause);
    }
    try {
      return verifyStore(store);
    } catch (cause) {
      // A SQLite file whose tables are not ours (or are damaged) cannot be judged entry by entry.
      throw unreadable(path, `the transcript tables cannot be read (${(cause as Error).message}).`, cause);
    } finally {
      store.close();
    }
  }
  if (bytes.subarray(0, 5).toString("latin1") === "%PDF-") {
    // TODO(report): the report module embeds bundle.json in the PDF; the CLI passes its extractor here.
    if (!options.extractBundleFromPdf) {
      throw unreadable(path, "verifying a PDF report is not supported by this build yet; verify the bundle.json or transcript.sqlite instead.");
    }
    const text = options.extractBundleFromPdf(bytes);
    if (text === null) throw unreadable(path, "the PDF does not carry an embedded transcript bundle.");
    return verifyBundleText(path, text, "pdf");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw unreadable(path, "it is neither a SQLite transcript, a JSON bundle nor a PDF report.", cause);
  }
  return verifyBundleText(path, text, "bundle");
}
