/**
 * The transcript as the room lived it: each entry under the step number the
 * screen showed ("Step n of N"), the step's title and the text read aloud,
 * names with their roles, the facts as labelled rows, and a box for a
 * witness's initials and the time. Exceptions, deviations and an abort are
 * set apart (coloured band, no step box) so they never pass for a step, and
 * are listed again on a page of their own.
 */
import type { Bundle } from "../transcript/types";
import { entryFacts, humanLabel } from "./facts";
import type { Cell } from "./facts";
import { keyValue, note, renderFacts, table } from "./layout";
import { COLOR, Pen, asArtifact, humanTime } from "./pdf";
import { entryKind, nameWithRoles, stepLabel, type EntryKind, type ScriptView } from "./script-view";

type Entry = Bundle["entries"][number];

/** Band colours of the entries that are not script steps. */
const EVENT_COLOR: Record<Exclude<EntryKind, "step" | "opening">, string> = {
  exception: "#a33b00",
  deviation: "#7a5200",
  abort: COLOR.rehearsal,
};
const EVENT_WORD: Record<Exclude<EntryKind, "step" | "opening">, string> = { exception: "EXCEPTION", deviation: "DEVIATION", abort: "ABORT" };

const BOX_W = 124;
const BOX_H = 46;

function stepTitle(view: ScriptView, stepId: string): string {
  return view.stepById.get(stepId)?.title ?? stepId;
}

/** "Wrong PIN" from "wrong-pin". */
function deviationKind(entry: Entry): string {
  const k = entry.body.inputs["kind"];
  return typeof k === "string" && k ? humanLabel(k) : "Deviation";
}

/** The heading band: what the entry is on the left, its number and time on the right. */
function band(pen: Pen, left: string, right: string, fill: string, textColor: string): void {
  const h = 22;
  pen.ensure(h + 60);
  const y = pen.doc.y;
  asArtifact(pen.doc, () => pen.doc.rect(pen.left, y, pen.width, h).fill(fill), "Layout");
  pen.text(left, { font: "bold", size: 11, color: textColor, x: pen.left + 6, y: y + 5, width: pen.width * 0.66, tag: "H2" });
  pen.text(right, { size: 9, color: textColor, x: pen.left + pen.width * 0.6, y: y + 6.5, width: pen.width * 0.4 - 6, align: "right" });
  pen.doc.y = y + h + 5;
}

/** Who signed, one person a line, with roles; the root key by its algorithm. */
function signedBy(entry: Entry, view: ScriptView): string {
  const lines = entry.signatures.map((s) => (s.kind === "root-key" ? `the root key itself (${s.algorithm})` : nameWithRoles(view, s.signer)));
  return lines.length ? lines.join("\n") : "nobody (an unsigned entry: the signatures of later entries cover it)";
}

/** A box for a witness's initials and the time, drawn at (x, y). */
function initialsBox(pen: Pen, x: number, y: number): void {
  const doc = pen.doc;
  asArtifact(
    doc,
    () => {
      doc.rect(x, y, BOX_W, BOX_H).lineWidth(0.8).strokeColor(COLOR.text).stroke();
      doc.moveTo(x + BOX_W * 0.55, y).lineTo(x + BOX_W * 0.55, y + BOX_H).lineWidth(0.5).stroke();
    },
    "Layout",
  );
  pen.text("Initials", { size: 9, color: COLOR.muted, x: x + 4, y: y + 3, width: BOX_W * 0.55 - 8 });
  pen.text("Time", { size: 9, color: COLOR.muted, x: x + BOX_W * 0.55 + 4, y: y + 3, width: BOX_W * 0.45 - 8 });
}

/** The text read aloud, beside the initials box (for a step entry) or full width. */
function readAloud(pen: Pen, text: string, withBox: boolean, lead = "Read aloud: "): void {
  const w = withBox ? pen.width - BOX_W - 14 : pen.width;
  const body = text ? `${lead}${text}` : "";
  const th = body ? pen.measure(body, { size: 9.5, width: w - 10 }) : 0;
  const h = Math.max(th, withBox ? BOX_H : 0);
  pen.ensure(h + 4);
  const y = pen.doc.y;
  if (body) {
    asArtifact(pen.doc, () => pen.doc.rect(pen.left, y, 2.5, th).fill(COLOR.rule), "Layout");
    pen.text(body, { size: 9.5, color: COLOR.muted, x: pen.left + 10, y, width: w - 10 });
  }
  if (withBox) initialsBox(pen, pen.left + pen.width - BOX_W, y);
  pen.doc.y = y + h + 6;
}

/** One transcript entry, in full. */
export function renderEntry(pen: Pen, entry: Entry, view: ScriptView): void {
  const b = entry.body;
  const kind = entryKind(entry);
  const where = view.stepById.has(b.stepId) ? `${stepLabel(view, b.stepId)} · ${stepTitle(view, b.stepId)}` : stepLabel(view, b.stepId);
  const right = `entry ${b.seq} · ${humanTime(b.timestamp)}`;
  if (kind === "step" || kind === "opening") {
    band(pen, kind === "opening" ? `${stepLabel(view, b.stepId)} · Ceremony opened` : where, right, COLOR.band, COLOR.text);
    pen.continuation = `${kind === "opening" ? "Ceremony opened" : where} (entry ${b.seq}, continued)`;
    if (kind === "step") readAloud(pen, view.stepById.get(b.stepId)?.read ?? "", true);
    else readAloud(pen, "Custos opened the ceremony and recorded the script, its SHA-256 and the settings; nobody is enrolled yet, so nobody signs.", false, "");
  } else {
    eventHead(pen, entry, view);
    pen.continuation = `${EVENT_WORD[kind]} (entry ${b.seq}, continued)`;
  }
  const kv = (label: string, value: string, mono = false): void => {
    keyValue(pen, label, value, { labelWidth: 124, font: mono ? "mono" : "sans", size: mono ? 9 : 9.5 });
    pen.gap(2.5);
  };
  if (kind === "step" || kind === "opening") {
    kv("Action", b.action);
    kv("Signed by", signedBy(entry, view));
  }
  const signed = new Set(entry.signatures.map((s) => s.signer));
  const asked = b.requiredSigners.filter((id) => !signed.has(id));
  if (asked.length) kv("Asked to sign, did not", asked.map((id) => nameWithRoles(view, id)).join("\n"));
  if (kind === "step" || kind === "opening") renderFacts(pen, entryFacts(entry, view));
  kv("Entry hash", entry.entryHash, true);
  kv("Previous entry hash", b.prevHash, true);
  pen.continuation = null;
  pen.gap(10);
}

/** The band and body of an exception, a deviation or an abort (used in the transcript and in the list). */
function eventHead(pen: Pen, entry: Entry, view: ScriptView): void {
  const b = entry.body;
  const kind = entryKind(entry) as Exclude<EntryKind, "step" | "opening">;
  // Keep an event's band, text and signers together on one page.
  pen.ensure(150);
  const what = kind === "deviation" ? `DEVIATION — ${deviationKind(entry)}` : EVENT_WORD[kind];
  band(pen, `${what} — during ${stepLabel(view, b.stepId).toLowerCase()}`, `entry ${b.seq} · ${humanTime(b.timestamp)}`, EVENT_COLOR[kind], "#ffffff");
  pen.text(`Not a step of the script: recorded while step "${stepTitle(view, b.stepId)}" was in progress.`, { size: 9, color: COLOR.muted });
  pen.gap(4);
  const text = kind === "exception" ? b.inputs["text"] : kind === "abort" ? b.inputs["reason"] : undefined;
  if (typeof text === "string") {
    const h = pen.measure(text, { size: 11, width: pen.width - 14 });
    pen.ensure(h + 4);
    const y = pen.doc.y;
    asArtifact(pen.doc, () => pen.doc.rect(pen.left, y, 3, h).fill(EVENT_COLOR[kind]), "Layout");
    pen.text(text, { size: 11, x: pen.left + 12, y, width: pen.width - 14 });
    pen.doc.y = y + h + 6;
  }
  const rest = Object.fromEntries(Object.entries(b.inputs).filter(([k]) => !(kind !== "deviation" && (k === "text" || k === "reason")) && !(kind === "deviation" && k === "kind")));
  renderFacts(pen, entryFacts({ ...entry, body: { ...b, inputs: rest } }, view));
  keyValue(pen, kind === "deviation" ? "Recorded by" : "Signed by", kind === "deviation" && entry.signatures.length === 0 ? "Custos, by itself (a deviation needs no signature: the signatures of every later entry cover it)" : signedBy(entry, view), { labelWidth: 124 });
  pen.gap(2.5);
}

/** The page listing every exception, deviation and abort, so none hides among the steps. */
export function renderEvents(pen: Pen, bundle: Bundle, view: ScriptView): void {
  pen.text("Exceptions and deviations", { font: "bold", size: 18, tag: "H1" });
  pen.gap(4);
  const events = bundle.entries.filter((e) => entryKind(e) !== "step" && entryKind(e) !== "opening");
  if (events.length === 0) {
    note(pen, "None. No exception was written, no deviation was recorded by Custos, and the ceremony was not aborted.", 10.5);
    return;
  }
  pen.text(
    "Everything that happened outside the script, in order: exceptions written and signed by a witness, deviations Custos recorded by itself " +
      "(a wrong PIN, a failed attempt, a retry, a void or re-issued share card, leaving and resuming), and an abort. Each is also in the transcript, under its entry number.",
    { size: 9.5, color: COLOR.muted },
  );
  pen.gap(8);
  // One row each: the full entry, with its hashes, is in the transcript under the same entry number.
  const rows: Cell[][] = events.map((e) => {
    const b = e.body;
    const kind = entryKind(e) as Exclude<EntryKind, "step" | "opening">;
    const detail = Object.entries(b.inputs)
      .filter(([k]) => k !== "kind" && k !== "text" && k !== "reason")
      .map(([k, v]) => `${humanLabel(k).toLowerCase()} ${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(", ");
    const said = kind === "exception" ? b.inputs["text"] : kind === "abort" ? b.inputs["reason"] : undefined;
    const what =
      kind === "deviation"
        ? `DEVIATION — ${deviationKind(e)}${detail ? `: ${detail}` : ""}`
        : `${EVENT_WORD[kind]}: ${typeof said === "string" ? said : ""}${detail ? ` (${detail})` : ""}`;
    return [
      { text: String(b.seq), mono: false },
      { text: `${stepLabel(view, b.stepId).replace(/^Step /, "")}\n${stepTitle(view, b.stepId)}`, mono: false },
      { text: humanTime(b.timestamp).replace(/^\S+ /, "").replace(/ UTC$/, ""), mono: false },
      { text: what, mono: false },
      { text: e.signatures.length ? e.signatures.map((s) => (s.kind === "root-key" ? "root key" : (view.personById.get(s.signer)?.name ?? s.signer))).join("\n") : "unsigned (recorded by Custos)", mono: false },
    ];
  });
  table(pen, ["Entry", "During step", "Time (UTC)", "What happened", "Signed by"], rows, 0, [38, 96, 56, 0, 110]);
}
