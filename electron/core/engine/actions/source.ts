import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../../errors";
import type { RootKeyAlgorithm } from "../../hsm/algorithms";
import type { ActionParams } from "../../script/params";
import { readVerifiedSource } from "../../source";
import { ROOT_KEY_ACTIONS } from "../../transcript/types";
import type { ActionImpl, Participant, StepContext } from "../types";
import type { RecordedBackup, RecordedShare } from "./backup";
import { json, type RecordedRootKey } from "./util";

/** A custodian of the source ceremony and the share number they hold. */
export interface SourceCustodian {
  id: string;
  name: string;
  publicKey: string;
  kdf: Participant["kdf"];
  shareIndex: number;
}

/** What load-source-ceremony records and later steps read. */
export interface RecordedSource {
  source: { ceremonyId: string; scriptId: string; scriptSha256: string; mode: string; head: string; entries: number; sealed: boolean; file: string; fileSha256: string };
  sourceRootKey: RecordedRootKey;
  sourceBackup: RecordedBackup;
  sourceShares: RecordedShare[];
  sourceCustodians: SourceCustodian[];
}

const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

/** The source ceremony recorded by load-source-ceremony in this ceremony. */
export function recordedSource(ctx: StepContext): RecordedSource {
  const o = ctx.outputsOf("load-source-ceremony");
  if (!o) throw new CustosError("CEREMONY_ORDER", "No source ceremony has been loaded.", "The script must load the source ceremony first.");
  return o as unknown as RecordedSource;
}

/** Reads backup.json, checked against the hashes the verified transcript recorded. */
function readBackupFile(file: string, ceremonyId: string, recorded: RecordedBackup): Buffer {
  let doc: { ceremonyId?: unknown; blob?: unknown; blobSha256?: unknown };
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new CustosError("BACKUP_UNREADABLE", `The backup file ${file} cannot be read (${(e as Error).message}).`, "Use the backup.json written by the source ceremony.");
  }
  if (doc.ceremonyId !== ceremonyId) {
    throw new CustosError("BACKUP_FOREIGN", `The backup file belongs to ceremony ${String(doc.ceremonyId)}, not to ${ceremonyId}.`, "Use the backup.json of the same ceremony as the transcript.");
  }
  if (typeof doc.blob !== "string") throw new CustosError("BACKUP_UNREADABLE", "The backup file has no blob.", "Use the backup.json written by the source ceremony.");
  const blob = Buffer.from(doc.blob, "base64");
  if (sha256(blob) !== recorded.sha256) {
    throw new CustosError(
      "BACKUP_TAMPERED",
      `The backup blob in ${path.basename(file)} does not match the SHA-256 recorded in the source transcript (${recorded.sha256.slice(0, 16)}…).`,
      "Stop: the blob was changed or damaged. Use another archived copy; nothing was unwrapped.",
    );
  }
  return blob;
}

/**
 * Identifies the earlier ceremony from its transcript (database, bundle or
 * report PDF), verified first, and its backup: a tampered source or blob stops
 * the ceremony before any share is entered.
 */
export const loadSourceCeremony: ActionImpl<ActionParams<"load-source-ceremony">> = {
  async run(ctx, params) {
    let error: CustosError | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const choice = await ctx.driver.selectSource(ctx.view, error);
      try {
        if (params.purpose === "root-key") return await loadRootSource(ctx, choice.transcript);
        return await load(ctx, choice.transcript, choice.backup);
      } catch (e) {
        if (!(e instanceof CustosError) || ["BACKUP_TAMPERED", "SOURCE_TAMPERED", "SOURCE_INCOMPLETE"].includes(e.code)) throw e;
        error = e;
      }
    }
    throw error!;
  },
};

/**
 * For a signing ceremony: the verified, sealed ceremony that put the root key
 * on a token (generation or recovery), its root key and, from a generation,
 * its root certificate. No backup is read.
 */
async function loadRootSource(ctx: StepContext, transcript: string) {
  const src = await readVerifiedSource(transcript, undefined, "root-key");
  if (src.meta.mode !== ctx.mode) {
    throw new CustosError("SOURCE_MODE", `The source ceremony is a ${src.meta.mode}; this ceremony is a ${ctx.mode}.`, "A rehearsal's root never signs in production, and the other way round.");
  }
  const bodies = src.entries.map((e) => e.body);
  const keyEntry = [...bodies].reverse().find((b) => ROOT_KEY_ACTIONS.includes(b.action) && b.outputs.rootKey);
  const rootKey = keyEntry!.outputs.rootKey as unknown as RecordedRootKey;
  const certEntry = [...bodies].reverse().find((b) => b.action === "self-sign-certificate");
  const cert = certEntry?.outputs.certificate as { pem?: string; sha256?: string } | undefined;
  const out = {
    source: {
      ceremonyId: src.meta.id,
      scriptId: src.meta.scriptId,
      scriptSha256: src.meta.scriptSha256,
      mode: src.meta.mode,
      head: src.verdict.head ?? "",
      entries: src.verdict.entries,
      sealed: src.verdict.completeness === "complete",
      file: path.basename(transcript),
      fileSha256: src.fileSha256,
    },
    sourceRootKey: { ...rootKey },
    ...(cert?.pem ? { sourceCertificate: { pem: cert.pem, sha256: cert.sha256 ?? "" } } : {}),
  };
  return { inputs: { transcript: path.basename(transcript), backup: null }, outputs: json(out) as Record<string, never> };
}

async function load(ctx: StepContext, transcript: string, backupFile: string | undefined) {
  const src = await readVerifiedSource(transcript);
  if (src.meta.mode !== ctx.mode) {
    throw new CustosError(
      "SOURCE_MODE",
      `The source ceremony is a ${src.meta.mode}; this ceremony is a ${ctx.mode}.`,
      src.meta.mode === "rehearsal" ? "A rehearsal's backup can never be used in production." : "Rehearse with a rehearsal's backup, never with production shares.",
    );
  }
  const bodies = src.entries.map((e) => e.body);
  const findLast = (pred: (o: Record<string, unknown>) => boolean) => {
    for (let i = bodies.length - 1; i >= 0; i--) if (pred(bodies[i]!.outputs)) return bodies[i]!.outputs;
    return undefined;
  };
  const withBackup = findLast((o) => !!o.backup && !!o.shares);
  const withKey = findLast((o) => !!o.rootKey);
  if (!withBackup || !withKey) throw new CustosError("SOURCE_NO_BACKUP", "The source ceremony recorded no backup.", "Choose the generation (or last re-split) ceremony of this key.");
  const backup = withBackup.backup as unknown as RecordedBackup;
  const shares = withBackup.shares as unknown as RecordedShare[];
  const rootKey = withKey.rootKey as unknown as RecordedRootKey & { algorithm: RootKeyAlgorithm };
  if (backup.rootKeyFingerprint !== rootKey.fingerprint) {
    throw new CustosError("SOURCE_INCONSISTENT", "The source's backup is of another key than its recorded root key.", "Record an exception; this source cannot be used.");
  }
  const blob = backupFile ? readBackupFile(backupFile, src.meta.id, backup) : Buffer.from(backup.blob, "base64");
  if (sha256(blob) !== backup.sha256) throw new CustosError("BACKUP_TAMPERED", "The recorded backup blob does not match its recorded hash.", "Stop; nothing was unwrapped.");
  const enrol = bodies.filter((b) => b.action === "enrol-participants").pop();
  const people = ((enrol?.outputs.participants ?? []) as unknown as Participant[]).filter((p) => shares.some((s) => s.custodian === p.id));
  const custodians = shares.map((s) => {
    const p = people.find((x) => x.id === s.custodian);
    if (!p) throw new CustosError("SOURCE_INCONSISTENT", `Share ${s.index} belongs to ${s.custodian}, who is not enrolled in the source.`, "This source cannot be used.");
    return { id: p.id, name: p.name, publicKey: p.publicKey, kdf: p.kdf, shareIndex: s.index };
  });
  const out: RecordedSource = {
    source: {
      ceremonyId: src.meta.id,
      scriptId: src.meta.scriptId,
      scriptSha256: src.meta.scriptSha256,
      mode: src.meta.mode,
      head: src.verdict.head ?? "",
      entries: src.verdict.entries,
      sealed: src.verdict.completeness === "complete",
      file: path.basename(transcript),
      fileSha256: src.fileSha256,
    },
    sourceRootKey: { ...rootKey },
    sourceBackup: { ...backup, blob: blob.toString("base64") },
    sourceShares: shares,
    sourceCustodians: custodians,
  };
  return { inputs: { transcript: path.basename(transcript), backup: backupFile ? path.basename(backupFile) : null }, outputs: json(out) as Record<string, never> };
}
