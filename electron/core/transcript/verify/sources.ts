/**
 * The two stored forms of a transcript (§4): a SQLite database and a bundle
 * file. Each is read without trusting it, checked at the file level, and
 * handed to verifyCeremony as a header plus raw rows.
 */
import { CustosError } from "../../errors";
import { MAX_JSON_DEPTH, canonicalJson, holdsLoneSurrogate, nestsTooDeep } from "../canonical";
import { TranscriptStore } from "../store";
import { TRANSCRIPT_FORMAT_VERSION, type RawEntry, type VerifyFailure } from "../types";

/** A ceremony as read from a file, before any check. */
export interface CeremonyInput {
  id: string;
  meta: unknown;
  rows: RawEntry[];
  /** Bundle only: the `head` member, checked by §7.5.2. */
  bundleHead?: unknown;
}

export interface FileInput {
  source: "sqlite" | "bundle";
  ceremonies: CeremonyInput[];
  fileFailure?: VerifyFailure;
}

/** Name of the bundle's format member (§4.2). */
export const BUNDLE_FORMAT = "custos-transcript-bundle";

export function unreadable(path: string, why: string, cause?: unknown): CustosError {
  return new CustosError(
    "VERIFY_UNREADABLE",
    `${path} cannot be verified: ${why}`,
    "Give custos verify a transcript.sqlite, a bundle.json or a report.pdf that Custos wrote.",
    cause === undefined ? undefined : { cause },
  );
}

/**
 * §4.1: reads a database through a private copy; schema, storage classes and
 * orphans are file-level checks. `onEntry` sees each entries row's ceremony
 * id, stored body hash and signatures text as it is read, before any check
 * (the verifier starts its signature checks with them).
 */
export function readSqliteInput(path: string, onEntry?: (ceremonyId: unknown, bodyHash: unknown, signaturesText: unknown) => void): FileInput {
  let store: TranscriptStore;
  try {
    store = TranscriptStore.openReadOnly(path);
  } catch (cause) {
    throw unreadable(path, cause instanceof CustosError ? cause.message : String(cause), cause);
  }
  try {
    const schema = store.schemaProblem();
    if (schema) return { source: "sqlite", ceremonies: [], fileFailure: { code: "SQLITE_SCHEMA", reason: schema } };
    const integrity = store.integrityProblem();
    if (integrity !== undefined) {
      return { source: "sqlite", ceremonies: [], fileFailure: { code: "SQLITE_INTEGRITY", reason: `SQLite's integrity check fails (first problem: ${integrity.slice(0, 200)}): the tables and their indexes disagree, so different readers could see different rows.` } };
    }
    // One pass over the entries rows: each goes to the signature checks as it is read; its storage classes are checked
    // (§4.1: integer for seq, bigint here, text for everything else) and it is kept as a RawEntry of its ceremony.
    const byCeremony = new Map<string, RawEntry[]>();
    let badEntry = false;
    let replacement = false;
    const { ceremonies: headerRows } = store.evidenceRows((r) => {
      onEntry?.(r[0], r[5], r[6]);
      if (badEntry) return;
      const seq = r[1];
      if (typeof seq !== "bigint") {
        badEntry = true;
        return;
      }
      for (let k = 0; k < r.length; k++) {
        if (k === 1) continue;
        const v = r[k];
        if (typeof v !== "string") {
          badEntry = true;
          return;
        }
        if (!replacement && v.includes("\uFFFD")) replacement = true;
      }
      const id = r[0] as string;
      let list = byCeremony.get(id);
      if (!list) byCeremony.set(id, (list = []));
      list.push({
        seq: seq >= BigInt(Number.MIN_SAFE_INTEGER) && seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : seq,
        stepId: r[2],
        action: r[3],
        bodyJson: r[4],
        bodyHash: r[5],
        signaturesJson: r[6],
        entryHash: r[7],
      });
    });
    const badHeader = headerRows.findIndex((r) => Object.values(r).some((v) => typeof v !== "string"));
    if (badHeader >= 0) return { source: "sqlite", ceremonies: [], fileFailure: { code: "SQLITE_TYPES", reason: `a ceremonies row (number ${badHeader + 1}) holds a value that is not text.` } };
    if (badEntry) {
      return { source: "sqlite", ceremonies: [], fileFailure: { code: "SQLITE_TYPES", reason: "an entries row holds a value of the wrong type (seq must be an integer, everything else text)." } };
    }
    // §4.1 text is UTF-8. SQLite's reader shows bytes that are not UTF-8 as U+FFFD, which would merge two ids that
    // differ only there; such a value is told apart from a real U+FFFD by its stored bytes.
    if (replacement || headerRows.some((r) => Object.values(r).some((v) => typeof v === "string" && v.includes("\uFFFD")))) {
      const where = store.textNotUtf8();
      if (where) return { source: "sqlite", ceremonies: [], fileFailure: { code: "SQLITE_TYPES", reason: `a stored text is not valid UTF-8 (${where}).` } };
    }
    const ceremonies = headerRows.map((h) => {
      const meta = {
        id: h.id,
        scriptId: h.script_id,
        scriptVersion: h.script_version,
        scriptTitle: h.script_title,
        scriptSha256: h.script_sha256,
        scriptText: h.script_text,
        mode: h.mode,
        status: h.status,
        createdAt: h.created_at,
      };
      return { id: h.id as string, meta, rows: byCeremony.get(h.id as string) ?? [] };
    });
    const known = new Set(headerRows.map((h) => h.id as string));
    const orphan = [...byCeremony.keys()].sort().find((id) => !known.has(id));
    const fileFailure: VerifyFailure | undefined = orphan !== undefined
      ? { code: "ORPHAN_ENTRIES", reason: `the database holds entries of ceremony '${orphan}', which has no header row (rows were edited).` }
      : undefined;
    return { source: "sqlite", ceremonies, ...(fileFailure ? { fileFailure } : {}) };
  } catch (cause) {
    if (cause instanceof CustosError) throw cause;
    throw unreadable(path, `the transcript tables cannot be read (${(cause as Error).message}).`, cause);
  } finally {
    store.close();
  }
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function exactKeys(v: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const extra = Object.keys(v).find((k) => !keys.includes(k));
  if (extra !== undefined) return `an unknown member '${extra}'`;
  const absent = keys.find((k) => !(k in v));
  if (absent !== undefined) return `no member '${absent}'`;
  return undefined;
}

function canonicalOr(value: unknown, fallback: string): string {
  try {
    return canonicalJson(value);
  } catch {
    return fallback;
  }
}

/**
 * §4.2: a bundle file. Not JSON, or JSON that does not say it is a bundle, is
 * unreadable; a bundle in any form but exactly JCS + LF, or with members other
 * than §4.2's, is not intact.
 */
export function readBundleInput(path: string, bytes: Uint8Array): FileInput {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw unreadable(path, "it is neither a SQLite transcript, a JSON bundle nor a PDF report.", cause);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (cause) {
    throw unreadable(path, "it is neither a SQLite transcript, a JSON bundle nor a PDF report (not JSON).", cause);
  }
  if (nestsTooDeep(json)) throw unreadable(path, `it nests arrays and objects more than ${MAX_JSON_DEPTH} deep, which no transcript bundle does (§1).`);
  if (!isMap(json) || json.format !== BUNDLE_FORMAT) throw unreadable(path, "it is JSON, but not a Custos transcript bundle (no \"format\": \"custos-transcript-bundle\").");
  if (json.version !== TRANSCRIPT_FORMAT_VERSION) {
    throw unreadable(path, `it is a bundle of transcript format ${JSON.stringify(json.version)}; this Custos reads format ${TRANSCRIPT_FORMAT_VERSION}.`);
  }
  const id = isMap(json.ceremony) && typeof json.ceremony.id === "string" ? json.ceremony.id : "?";
  const fail = (code: VerifyFailure["code"], reason: string): FileInput => ({ source: "bundle", ceremonies: [], fileFailure: { code, reason: `ceremony '${id}': ${reason}` } });
  if (holdsLoneSurrogate(text)) {
    return fail("BUNDLE_NOT_CANONICAL", "a string in the file holds a lone surrogate (a \\uD800–\\uDFFF escape), which has no UTF-8 form and no RFC 8785 serialisation (§1).");
  }
  const canonical = canonicalOr(json, "");
  if (text !== `${canonical}\n`) {
    let at = 0;
    const want = `${canonical}\n`;
    while (at < text.length && text[at] === want[at]) at++;
    return fail(
      "BUNDLE_NOT_CANONICAL",
      `the file is not exactly the RFC 8785 form of its content plus one line feed (§4.2); it first differs at character ${at} (a BOM, whitespace, a duplicate key, or a number or string written another way).`,
    );
  }
  const top = exactKeys(json, ["format", "version", "ceremony", "entries", "head"]);
  if (top) return fail("BUNDLE_MALFORMED", `the bundle has ${top}.`);
  if (!Array.isArray(json.entries)) return fail("BUNDLE_MALFORMED", "the bundle's entries member is not a list.");
  const rows: RawEntry[] = [];
  for (const [k, e] of json.entries.entries()) {
    if (!isMap(e)) return fail("BUNDLE_MALFORMED", `entries[${k}] is not an object.`);
    const keys = exactKeys(e, ["body", "bodyHash", "signatures", "entryHash"]);
    if (keys) return fail("BUNDLE_MALFORMED", `entries[${k}] has ${keys}.`);
    const body = isMap(e.body) ? e.body : undefined;
    rows.push({
      // A bundle has no separate columns: the body's own values stand in.
      seq: body ? body.seq : undefined,
      stepId: body ? body.stepId : undefined,
      action: body ? body.action : undefined,
      bodyJson: canonicalOr(e.body, "\u0000"),
      bodyHash: e.bodyHash,
      signaturesJson: canonicalOr(e.signatures, "\u0000"),
      entryHash: e.entryHash,
    });
  }
  return { source: "bundle", ceremonies: [{ id, meta: json.ceremony, rows, bundleHead: json.head }] };
}
