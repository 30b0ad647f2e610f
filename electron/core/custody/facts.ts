/**
 * What one intact ceremony says about custody, read from its signed entries
 * (never the unsigned header) and, for bag events, from the fields its script
 * declares with `bag` and `holds` (docs/custody-register.md).
 */
import YAML from "yaml";
import { keyFingerprint } from "../transcript/identity";
import type { EntryBody, Json } from "../transcript/types";
import type { ReadCeremony } from "./read";
import type { BagEvent, BackupSet, CeremonyFacts, CeremonyKind, Person, ShareUse } from "./types";

type Obj = { [k: string]: Json };
const obj = (v: unknown): Obj | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const SCRIPT_KINDS: Record<string, CeremonyKind> = {
  generation: "generation",
  "health-check": "health-check",
  resplit: "re-split",
  recovery: "recovery",
  destruction: "destruction",
  signing: "signing",
};

/** A script field that records bag serials, as the script declares it. */
interface BagField {
  stepId: string;
  fieldId: string;
  event: BagEvent["event"];
  holds: string;
}

interface ScriptView {
  kind?: string;
  bagFields: BagField[];
}

/** The script's kind and bag fields; a script that cannot be read declares none (the verifier already read it). */
export function readScriptView(scriptText: string): ScriptView {
  let doc: unknown;
  try {
    doc = YAML.parse(scriptText);
  } catch {
    return { bagFields: [] };
  }
  const root = obj(doc);
  const bagFields: BagField[] = [];
  for (const step of arr(root?.["steps"])) {
    const s = obj(step);
    const stepId = str(s?.["id"]);
    if (!stepId) continue;
    for (const field of arr(obj(s?.["params"])?.["fields"])) {
      const f = obj(field);
      const event = str(f?.["bag"]);
      const holds = str(f?.["holds"]);
      const fieldId = str(f?.["id"]);
      if (fieldId && holds && (event === "sealed" || event === "opened" || event === "inspected")) bagFields.push({ stepId, fieldId, event, holds });
    }
  }
  return { kind: str(root?.["kind"]), bagFields };
}

function people(bodies: EntryBody[]): Person[] {
  const enrol = bodies.find((b) => b.action === "enrol-participants");
  return arr(enrol?.outputs["participants"]).flatMap((p) => {
    const o = obj(p);
    const id = str(o?.["id"]);
    const publicKey = str(o?.["publicKey"]);
    if (!o || !id || !publicKey) return [];
    const sourceId = str(o["sourceId"]);
    return [{ id, name: str(o["name"]) ?? id, roles: arr(o["roles"]).filter((r): r is string => typeof r === "string"), fingerprint: keyFingerprint(publicKey), ...(sourceId ? { sourceId } : {}) }];
  });
}

function kindOf(bodies: EntryBody[], scriptKind: string | undefined): CeremonyKind {
  const has = (a: string) => bodies.some((b) => b.action === a);
  if (has("generate-key-pair")) return "generation";
  if (has("resplit-backup")) return "re-split";
  if (has("check-shares")) return "health-check";
  if (has("collect-shares-and-restore")) return "recovery";
  if (has("destroy-key")) return "destruction";
  if (["sign-certificate", "issue-crl", "cross-certify", "prove-root-key"].some(has)) return "signing";
  return (scriptKind && SCRIPT_KINDS[scriptKind]) || "other";
}

/** The shares a share-card bag list refers to, position by position (docs/custody-register.md). */
function shareOrder(bodies: EntryBody[], backup: BackupSet | undefined): number[] {
  if (backup) return backup.shares.map((s) => s.index);
  const hc = obj(bodies.find((b) => b.action === "check-shares")?.outputs["healthCheck"]);
  if (hc) return arr(hc["shares"]).flatMap((s) => (obj(s)?.["verdict"] === "absent" ? [] : [num(obj(s)?.["shareIndex"]) ?? 0]));
  return [];
}

/** Bag events the script declares, with the serials the step recorded. */
export function bagEvents(bodies: EntryBody[], view: ScriptView, backup?: BackupSet): BagEvent[] {
  const out: BagEvent[] = [];
  const order = shareOrder(bodies, backup);
  for (const f of view.bagFields) {
    const entry = bodies.find((b) => b.action === "checklist" && b.stepId === f.stepId);
    if (!entry) continue;
    const raw = entry.inputs[f.fieldId];
    const list = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === "string" && v.trim() !== "").map((v) => v.trim());
    list.forEach((serial, i) => {
      const shareIndex = f.holds === "share-card" ? order[i] : undefined;
      out.push({ serial, holds: f.holds, event: f.event, at: entry.timestamp, stepId: f.stepId, ...(shareIndex ? { shareIndex } : {}) });
    });
  }
  return out;
}

function backupOf(c: ReadCeremony, ps: Person[]): BackupSet | undefined {
  const e = [...c.bodies].reverse().find((b) => obj(b.outputs["backup"]) && Array.isArray(b.outputs["shares"]));
  if (!e) return undefined;
  const b = obj(e.outputs["backup"])!;
  return {
    ceremonyId: c.meta.id,
    at: e.timestamp,
    threshold: num(b["threshold"]) ?? 0,
    total: num(b["total"]) ?? 0,
    kcv: str(b["kcv"]) ?? "",
    blobSha256: str(b["sha256"]) ?? "",
    shares: arr(e.outputs["shares"]).flatMap((s) => {
      const o = obj(s);
      const index = num(o?.["index"]);
      const holderId = str(o?.["custodian"]);
      if (!o || !index || !holderId) return [];
      const p = ps.find((x) => x.id === holderId);
      return [{ index, holderId, holder: p?.name ?? holderId, fingerprint: p?.fingerprint ?? "", commitment: str(o["commitment"]) ?? "" }];
    }),
  };
}

function shareUses(bodies: EntryBody[], sourceId: string | undefined): ShareUse[] {
  const out: ShareUse[] = [];
  for (const b of bodies) {
    const hc = obj(b.outputs["healthCheck"]);
    if (b.action === "check-shares" && hc) {
      const setId = str(hc["sourceCeremonyId"]) ?? sourceId ?? "";
      for (const s of arr(hc["shares"])) {
        const o = obj(s);
        const index = num(o?.["shareIndex"]);
        const verdict = str(o?.["verdict"]);
        if (!index || (verdict !== "valid" && verdict !== "invalid" && verdict !== "absent")) continue;
        const reason = str(o?.["reason"]);
        out.push({ setId, index, verdict, at: b.timestamp, ...(reason ? { reason } : {}) });
      }
    }
    const restore = obj(b.outputs["restore"]);
    if (b.action === "collect-shares-and-restore" && restore) {
      for (const s of arr(restore["shares"])) {
        const index = num(obj(s)?.["index"]);
        if (index) out.push({ setId: str(restore["sourceCeremonyId"]) ?? sourceId ?? "", index, verdict: "used", at: b.timestamp });
      }
    }
    if (b.action === "resplit-backup") {
      const setId = str(obj(b.outputs["replacesBackup"])?.["sourceCeremonyId"]) ?? sourceId ?? "";
      for (const i of arr(b.inputs["oldSharesUsed"])) if (typeof i === "number") out.push({ setId, index: i, verdict: "used", at: b.timestamp });
    }
  }
  return out;
}

/** The custody facts of one intact ceremony. */
export function ceremonyFacts(c: ReadCeremony): CeremonyFacts {
  const bodies = c.bodies;
  const view = readScriptView(c.meta.scriptText);
  const first = bodies[0]!;
  const ps = people(bodies);
  const src = obj(bodies.find((b) => b.action === "load-source-ceremony")?.outputs["source"]);
  const sourceRoot = obj(bodies.find((b) => b.action === "load-source-ceremony")?.outputs["sourceRootKey"]);
  const keyEntry = [...bodies].reverse().find((b) => obj(b.outputs["rootKey"]));
  const rootKey = obj(keyEntry?.outputs["rootKey"]) ?? sourceRoot;
  const cert = obj(bodies.find((b) => b.action === "self-sign-certificate")?.outputs["certificate"]);
  const tokenOut = obj([...bodies].reverse().find((b) => (b.action === "init-token" || b.action === "select-token") && obj(b.outputs["token"]))?.outputs["token"]);
  const backup = backupOf(c, ps);
  const hc = obj(bodies.find((b) => b.action === "check-shares")?.outputs["healthCheck"]);
  const last = bodies[bodies.length - 1]!;
  const signed: string[] = [];
  for (const b of bodies) {
    const certOut = obj(b.outputs["certificate"]);
    if ((b.action === "sign-certificate" || b.action === "cross-certify") && certOut) signed.push(`${b.action === "cross-certify" ? "cross-certificate" : "certificate"} sha256 ${str(certOut["sha256"]) ?? "?"}`);
    const crl = obj(b.outputs["crl"]);
    if (b.action === "issue-crl" && crl) signed.push(`CRL number ${String(crl["number"] ?? "?")}`);
  }
  const sourceId = str(src?.["ceremonyId"]);
  const revokes = str(obj(bodies.find((b) => b.action === "resplit-backup")?.outputs["replacesBackup"])?.["sourceCeremonyId"]);
  const destroyed = bodies.find((b) => b.action === "destroy-key");
  return {
    file: c.file,
    ceremonyId: c.meta.id,
    kind: kindOf(bodies, view.kind),
    title: c.meta.scriptTitle,
    scriptId: str(first.outputs["scriptId"]) ?? c.meta.scriptId,
    mode: str(first.outputs["mode"]) ?? c.meta.mode,
    head: c.verdict.head ?? "",
    entries: bodies.length,
    completeness: c.verdict.completeness,
    opened: first.timestamp,
    lastAt: last.timestamp,
    ...(last.action === "abort" ? { abortReason: str(last.inputs["reason"]) ?? "" } : {}),
    ...(src && sourceId ? { source: { ceremonyId: sourceId, head: str(src["head"]) ?? "" } } : {}),
    ...(str(rootKey?.["fingerprint"]) ? { rootFingerprint: str(rootKey!["fingerprint"])! } : {}),
    ...(str(rootKey?.["algorithm"]) ? { rootAlgorithm: str(rootKey!["algorithm"])! } : {}),
    ...(str(cert?.["sha256"]) ? { certificateSha256: str(cert!["sha256"])! } : {}),
    ...(tokenOut ? { token: { serial: str(tokenOut["serial"]) ?? "", label: str(tokenOut["label"]) ?? "", model: str(tokenOut["model"]) ?? "" } } : {}),
    people: ps,
    ...(backup ? { backup } : {}),
    ...(revokes ? { revokes } : {}),
    shareUses: shareUses(bodies, sourceId),
    ...(hc
      ? {
          healthCheck: {
            setId: str(hc["sourceCeremonyId"]) ?? sourceId ?? "",
            valid: num(hc["valid"]) ?? 0,
            threshold: num(hc["threshold"]) ?? 0,
            total: num(hc["total"]) ?? 0,
            quorumAvailable: hc["quorumAvailable"] === true,
          },
        }
      : {}),
    ...(destroyed ? { destroyed: arr(destroyed.outputs["destroyed"]).length } : {}),
    signed,
    bags: bagEvents(bodies, view, backup),
  };
}

/**
 * The bag each share card of a ceremony's backup was last sealed in (share
 * number → serial), as its script declares; for a rehearsal that opens those
 * bags later (a health check rehearsed --from it).
 */
export function sealedShareBags(meta: ReadCeremony["meta"], bodies: EntryBody[]): Map<number, string> {
  const ps = people(bodies);
  const backup = backupOf({ file: "", meta, verdict: { ceremonyId: meta.id, ok: true, completeness: "complete", entries: bodies.length, head: null, facts: { stepsDone: 0, exceptions: 0, deviations: 0, signed: true }, pins: [] }, bodies }, ps);
  const out = new Map<number, string>();
  for (const e of bagEvents(bodies, readScriptView(meta.scriptText), backup)) if (e.event === "sealed" && e.holds === "share-card" && e.shareIndex) out.set(e.shareIndex, e.serial);
  return out;
}
