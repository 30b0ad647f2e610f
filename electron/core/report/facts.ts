/**
 * An entry's inputs and outputs as an auditor reads them: labelled rows
 * ("Key check value (KCV)", "Custodian: Esther Kaur (Custodian)") and small
 * tables, never JSON paths. The exact values are in the attached bundle.json;
 * a value too long to print is shortened in the middle with the SHA-256 of the
 * full value, which still pins it (flatten.ts).
 */
import type { Bundle, Json } from "../transcript/types";
import { shorten } from "./flatten";
import { keyFingerprint, nameWithRoles, type ScriptView } from "./script-view";

type Entry = Bundle["entries"][number];

/** A printed value; mono for hashes, keys and other strings read character by character. */
export interface Cell {
  text: string;
  mono: boolean;
}

/** One printed fact: a labelled row, a group heading, or a table. */
export type Fact =
  | { kind: "row"; label: string; value: Cell; depth: number }
  | { kind: "head"; label: string; depth: number }
  | { kind: "table"; label: string; columns: string[]; rows: Cell[][]; depth: number };

/** Words that keep their capitals in a label. */
const ACRONYMS: Record<string, string> = {
  sha256: "SHA-256", hsm: "HSM", kek: "KEK", kcv: "KCV", spki: "SPKI", pem: "PEM", rng: "RNG", so: "SO", crl: "CRL",
  csr: "CSR", kdf: "KDF", pin: "PIN", id: "id", ids: "ids", csprng: "CSPRNG", der: "DER", utc: "UTC", qr: "QR", rsa: "RSA", ec: "EC",
};

/** Labels better said otherwise than the key. */
const LABELS: Record<string, string> = {
  kcv: "Key check value (KCV)",
  sha256: "SHA-256",
  spki: "Public key (SPKI, base64)",
  pem: "PEM",
  scriptSha256: "Script SHA-256",
  confirmedItems: "Confirmed",
  rootKeyFingerprint: "Root key fingerprint (SPKI SHA-256)",
  fingerprint: "Fingerprint (SHA-256)",
  slotId: "Slot",
  id: "Identifier",
  userPinInitialized: "User PIN initialised",
  N: "N",
};

/** Keys whose value is a participant id. */
const PERSON_KEYS = new Set(["custodian", "signer", "witness", "participant", "by", "holder", "custodians", "participants", "verified"]);

/** "rootKeyFingerprint" or "hsm-bag-serial" -> "Root key fingerprint", "HSM bag serial". */
export function humanLabel(key: string): string {
  if (LABELS[key]) return LABELS[key]!;
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => ACRONYMS[w.toLowerCase()] ?? w.toLowerCase());
  if (words.length === 0) return key;
  const first = words[0]!;
  words[0] = first === first.toLowerCase() && first !== "id" ? first[0]!.toUpperCase() + first.slice(1) : first;
  return words.join(" ");
}

/** Strings read character by character: hashes, base64, PEM, ids without spaces. */
function looksCode(s: string): boolean {
  if (/^-----BEGIN /.test(s)) return true;
  if (/^[0-9a-fA-F]{12,}$/.test(s)) return true;
  if (/^[A-Za-z0-9+/=]{24,}$/.test(s)) return true;
  return /^([0-9a-f]{4} ){3,}[0-9a-f]{4}$/.test(s);
}

interface Ctx {
  view: ScriptView;
  fieldLabels: Map<string, string>;
}

function person(ctx: Ctx, key: string, v: string): string | undefined {
  if (!/^p[0-9]{2,3}$/.test(v)) return undefined;
  if (!PERSON_KEYS.has(key) && !ctx.view.personById.has(v)) return undefined;
  return nameWithRoles(ctx.view, v);
}

function cell(ctx: Ctx, key: string, v: Json): Cell {
  if (v === null) return { text: "none", mono: false };
  if (typeof v === "boolean") return { text: v ? "yes" : "no", mono: false };
  if (typeof v === "number") return { text: String(v), mono: false };
  if (typeof v === "string") {
    if (v === "") return { text: "(empty)", mono: false };
    const who = person(ctx, key, v);
    if (who) return { text: who, mono: false };
    return { text: shorten(v).value, mono: looksCode(v) };
  }
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) {
    return v.length ? { text: v.map((x) => cell(ctx, key, x).text).join("\n"), mono: false } : { text: "none", mono: false };
  }
  // Only reached for nested values inside a table cell: keep them readable on one line.
  return { text: shorten(JSON.stringify(v)).value, mono: true };
}

const isScalar = (x: Json): boolean => x === null || typeof x !== "object";
/** An object whose members are scalars or lists of scalars: one row of a table. */
const isFlat = (v: Json): v is { [k: string]: Json } =>
  v !== null && typeof v === "object" && !Array.isArray(v) && Object.values(v).every((x) => isScalar(x) || (Array.isArray(x) && x.every(isScalar)));

const FIRST = ["index", "name", "title", "custodian", "status"];
const rank = (k: string): number => (FIRST.includes(k) ? FIRST.indexOf(k) - FIRST.length : 0);

function labelOf(ctx: Ctx, key: string): string {
  return ctx.fieldLabels.get(key) ?? humanLabel(key);
}

/** Labelled rows for the members of an object, nested groups indented. */
export function objectFacts(ctx: Ctx, o: { [k: string]: Json }, depth = 0, out: Fact[] = []): Fact[] {
  for (const [key, v] of Object.entries(o)) valueFacts(ctx, key, labelOf(ctx, key), v, depth, out);
  return out;
}

function valueFacts(ctx: Ctx, key: string, label: string, v: Json, depth: number, out: Fact[]): void {
  if (Array.isArray(v)) {
    if (v.length === 0) out.push({ kind: "row", label, value: { text: "none", mono: false }, depth });
    else if (v.every((x) => x === null || typeof x !== "object")) {
      const cells = v.map((x) => cell(ctx, key, x));
      const mark = key === "confirmedItems" ? "✓ " : "";
      out.push({ kind: "row", label, value: { text: cells.map((c) => mark + c.text).join("\n"), mono: cells.every((c) => c.mono) }, depth });
    } else if (v.every(isFlat) && new Set(v.flatMap((x) => Object.keys(x as object))).size <= 6) {
      // Numbers, names and titles first: "Index 1, Custodian …" reads better than the sorted keys of JCS.
      const keys = [...new Set(v.flatMap((x) => Object.keys(x as object)))].sort((a, b) => rank(a) - rank(b));
      out.push({
        kind: "table",
        label,
        columns: keys.map((k) => humanLabel(k)),
        rows: v.map((x) => keys.map((k) => ((x as { [k: string]: Json })[k] === undefined ? { text: "", mono: false } : cell(ctx, k, (x as { [k: string]: Json })[k]!)))),
        depth,
      });
    } else {
      v.forEach((item, i) => valueFacts(ctx, key, `${label} ${i + 1}`, item, depth, out));
    }
    return;
  }
  if (v !== null && typeof v === "object") {
    if (Object.keys(v).length === 0) {
      out.push({ kind: "row", label, value: { text: "none", mono: false }, depth });
      return;
    }
    out.push({ kind: "head", label, depth });
    objectFacts(ctx, v, depth + 1, out);
    return;
  }
  out.push({ kind: "row", label, value: cell(ctx, key, v), depth });
}

/** What an entry recorded, as rows and tables; special cases for the entries people look at first. */
export function entryFacts(entry: Entry, view: ScriptView): Fact[] {
  const b = entry.body;
  const ctx: Ctx = { view, fieldLabels: view.stepById.get(b.stepId)?.fieldLabels ?? new Map() };
  const out: Fact[] = [];
  if (b.action === "enrol-participants" && view.people.length) {
    out.push({
      kind: "table",
      label: "Enrolled",
      columns: ["Name", "Roles", "Key", "Key fingerprint"],
      rows: view.people.map((p) => [
        { text: p.name, mono: false },
        { text: p.roleTitles.join(", ") || "—", mono: false },
        { text: p.token ? `own token ${p.token.model} ${p.token.serial} (${p.token.algorithm})` : "passphrase key (Ed25519)", mono: false },
        { text: p.publicKey ? fingerprintLines(p.publicKey) : "(no key)", mono: true },
      ]),
      depth: 0,
    });
    const rest = Object.fromEntries(Object.entries(b.outputs).filter(([k]) => k !== "participants"));
    objectFacts(ctx, b.inputs, 0, out);
    objectFacts(ctx, rest, 0, out);
    return out;
  }
  if (b.action === "open-ceremony") {
    const s = b.outputs["settings"];
    const rest = Object.fromEntries(Object.entries(b.outputs).filter(([k]) => k !== "settings"));
    if (isFlat(s ?? null) && s && typeof s === "object" && !Array.isArray(s)) {
      out.push({ kind: "row", label: "Root key algorithm", value: { text: String(s["algorithm"] ?? "—"), mono: false }, depth: 0 });
      out.push({ kind: "row", label: "Quorum", value: { text: `${String(s["threshold"] ?? "?")} of ${String(s["shares"] ?? "?")} shares`, mono: false }, depth: 0 });
    }
    return objectFacts(ctx, rest, 0, out);
  }
  objectFacts(ctx, b.inputs, 0, out);
  objectFacts(ctx, b.outputs, 0, out);
  return out;
}

/** One member of an entry's inputs or outputs on one line, people by name: "custodian Esther Kaur (Custodian)". */
export function inlineFact(view: ScriptView, stepId: string, key: string, v: Json): string {
  const ctx: Ctx = { view, fieldLabels: view.stepById.get(stepId)?.fieldLabels ?? new Map() };
  const label = labelOf(ctx, key);
  const first = label.split(" ")[0]!;
  const lead = first.length > 1 && first === first.toUpperCase() ? label : label[0]!.toLowerCase() + label.slice(1);
  return `${lead} ${cell(ctx, key, v).text.replace(/\n/g, ", ")}`;
}

/** A key fingerprint on two lines of four groups, so it fits a narrow column at a readable size. */
export function fingerprintLines(publicKey: string): string {
  const g = keyFingerprint(publicKey).split(" ");
  return `${g.slice(0, 4).join(" ")}\n${g.slice(4).join(" ")}`;
}
