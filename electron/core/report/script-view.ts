/**
 * What the report reads from the script stored in the bundle (its exact
 * text, §3): step numbers, titles and the text read aloud, role titles and
 * checklist field labels, so that every entry is printed as the room saw it
 * ("Step n of N", names with their roles) and not as ids. Read leniently: a
 * report must print whatever the bundle holds (an id stands in for a title
 * the script does not give), and it must print the same for the same bundle.
 */
import crypto from "node:crypto";
import { parse } from "yaml";
import type { Bundle } from "../transcript/types";

type Entry = Bundle["entries"][number];

/** One script step as the report names it. */
export interface StepInfo {
  id: string;
  /** 1-based position in the script: the "Step n of N" on screen. */
  number: number;
  title: string;
  read: string;
  action: string;
  /** Checklist field labels by field id. */
  fieldLabels: Map<string, string>;
}

/** A participant with the titles of their roles. */
export interface Person {
  id: string;
  name: string;
  roles: string[];
  roleTitles: string[];
  publicKey: string;
  token?: { serial: string; label: string; model: string; algorithm: string };
}

/** The script and the enrolment, as the report's pages need them. */
export interface ScriptView {
  steps: StepInfo[];
  total: number;
  stepById: Map<string, StepInfo>;
  roleTitles: Map<string, string>;
  people: Person[];
  personById: Map<string, Person>;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** Reads the bundle's script text and enrolment; never throws. */
export function scriptView(bundle: Bundle): ScriptView {
  let doc: Record<string, unknown> = {};
  try {
    doc = obj(parse(bundle.ceremony.scriptText ?? "", { maxAliasCount: 0 })) ?? {};
  } catch {
    doc = {};
  }
  const roleTitles = new Map<string, string>();
  for (const r of Array.isArray(doc["roles"]) ? doc["roles"] : []) {
    const id = str(obj(r)?.["id"]);
    if (id && !roleTitles.has(id)) roleTitles.set(id, str(obj(r)?.["title"]) ?? id);
  }
  const steps: StepInfo[] = [];
  const stepById = new Map<string, StepInfo>();
  for (const s of Array.isArray(doc["steps"]) ? doc["steps"] : []) {
    const o = obj(s);
    const id = str(o?.["id"]);
    if (!o || !id || stepById.has(id)) continue;
    const fieldLabels = new Map<string, string>();
    const fields = obj(o["params"])?.["fields"];
    for (const f of Array.isArray(fields) ? fields : []) {
      const fid = str(obj(f)?.["id"]);
      const label = str(obj(f)?.["label"]);
      if (fid && label) fieldLabels.set(fid, label);
    }
    const info: StepInfo = {
      id,
      number: steps.length + 1,
      title: str(o["title"]) ?? id,
      read: (str(o["read"]) ?? "").trim(),
      action: str(o["action"]) ?? "",
      fieldLabels,
    };
    steps.push(info);
    stepById.set(id, info);
  }
  const people = enrolled(bundle, roleTitles);
  return { steps, total: steps.length, stepById, roleTitles, people, personById: new Map(people.map((p) => [p.id, p])) };
}

function enrolled(bundle: Bundle, roleTitles: Map<string, string>): Person[] {
  const entry = bundle.entries.find((e) => e.body.action === "enrol-participants");
  const list = entry?.body.outputs["participants"];
  if (!Array.isArray(list)) return [];
  const out: Person[] = [];
  for (const item of list) {
    const p = obj(item);
    if (!p) continue;
    const roles = Array.isArray(p["roles"]) ? p["roles"].filter((r): r is string => typeof r === "string") : [];
    const t = obj(p["token"]);
    out.push({
      id: str(p["id"]) ?? "?",
      name: str(p["name"]) ?? "(no name)",
      roles,
      roleTitles: roles.map((r) => roleTitles.get(r) ?? r),
      publicKey: str(p["publicKey"]) ?? "",
      ...(t ? { token: { serial: String(t["serial"] ?? ""), label: String(t["label"] ?? ""), model: String(t["model"] ?? ""), algorithm: String(t["algorithm"] ?? "") } } : {}),
    });
  }
  return out;
}

/** "Ada Lovelace (Ceremony administrator)"; an id nobody enrolled stays as it is. */
export function nameWithRoles(view: ScriptView, id: string): string {
  const p = view.personById.get(id);
  if (!p) return id;
  return p.roleTitles.length ? `${p.name} (${p.roleTitles.join(", ")})` : p.name;
}

/** What kind of entry it is, for the reader: a script step, the opening, or an event between steps. */
export type EntryKind = "opening" | "step" | "exception" | "deviation" | "abort";

/** The entry's kind (§6): only the action says it, as the verifier reads it. */
export function entryKind(entry: Entry): EntryKind {
  switch (entry.body.action) {
    case "open-ceremony":
      return "opening";
    case "exception":
      return "exception";
    case "deviation":
      return "deviation";
    case "abort":
      return "abort";
    default:
      return "step";
  }
}

/** "Step 3 of 15", as the room's screen showed it while the entry was written. */
export function stepLabel(view: ScriptView, stepId: string): string {
  const s = view.stepById.get(stepId);
  return s ? `Step ${s.number} of ${view.total}` : `Step "${stepId}" (not in the script)`;
}

/** Counts of the entries the cover and the attestation name. */
export function eventCounts(bundle: Bundle): { exceptions: number; deviations: number; aborted: boolean } {
  let exceptions = 0;
  let deviations = 0;
  for (const e of bundle.entries) {
    if (e.body.action === "exception") exceptions++;
    else if (e.body.action === "deviation") deviations++;
  }
  return { exceptions, deviations, aborted: bundle.entries.at(-1)?.body.action === "abort" };
}

/**
 * Key fingerprint printed next to a participant (§2.4): the first 16 bytes of
 * SHA-256 over the public key bytes, hex in groups of 4, short enough to read
 * aloud and compare with the one shown at enrolment. Never throws: a report
 * prints whatever the bundle holds.
 */
export function keyFingerprint(publicKeyBase64: string): string {
  const raw = Buffer.from(publicKeyBase64, "base64");
  const hex = crypto.createHash("sha256").update(raw).digest().subarray(0, 16).toString("hex");
  return hex.match(/.{4}/g)!.join(" ");
}
