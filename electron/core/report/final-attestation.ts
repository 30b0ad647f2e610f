/**
 * The paper that pins the end (docs/transcript-format.md §10, issue: "the
 * paper in the room"): the final head of a closed transcript, in hex, words
 * and QR, with a signature line for everyone present. Signed by hand in the
 * room, it is what an auditor later gives `custos verify --expect-head`: a
 * transcript re-made afterwards, however well signed, has another head.
 */
import { hashWords } from "../app/words";
import type { Bundle } from "../transcript/types";
import { COLOR, Pen, asArtifact, drawQrFigure, drawWatermark, firstValidDate, humanTime, openDoc } from "./pdf";
import { eventCounts, keyFingerprint, scriptView, type Person, type ScriptView } from "./script-view";

function rootFingerprint(bundle: Bundle): string | undefined {
  for (let i = bundle.entries.length - 1; i >= 0; i--) {
    const b = bundle.entries[i]!.body;
    if (b.action !== "generate-key-pair" && b.action !== "collect-shares-and-restore" && b.action !== "prove-root-key") continue;
    const rk = b.outputs["rootKey"];
    if (rk && typeof rk === "object" && !Array.isArray(rk) && typeof rk["fingerprint"] === "string") return rk["fingerprint"];
  }
  return undefined;
}

/** The three who attest the whole ceremony, each with what they attest; matched by role id. */
const ATTESTERS: Array<{ match: RegExp; title: string; statement: string }> = [
  {
    match: /administrator/,
    title: "Ceremony administrator",
    statement: "I ran the ceremony from its script and read every step aloud.",
  },
  {
    match: /witness/,
    title: "Witness",
    statement: "I watched every step as it was read and done, and signed the exceptions I saw.",
  },
  {
    match: /auditor/,
    title: "Auditor",
    statement: "I observed the ceremony and compared the final head on the screen with this page.",
  },
];

const ROW_H = 30;

/** One signature row: name, roles and key fingerprint on the left, a line to sign on the right. */
function signatureRow(pen: Pen, p: Person | null): void {
  pen.ensure(ROW_H + 2);
  const top = pen.doc.y;
  const lw = pen.width * 0.55;
  if (p) {
    pen.text(`${p.name} — ${p.roleTitles.join(", ")}`, { font: "bold", size: 9.5, x: pen.left, y: top, width: lw });
    pen.text(`key ${p.publicKey ? keyFingerprint(p.publicKey) : "(none)"}`, { font: "mono", size: 9, color: COLOR.muted, x: pen.left, y: pen.doc.y + 1, width: lw });
  } else {
    pen.text("Name (not enrolled in the transcript):", { size: 9, color: COLOR.muted, x: pen.left, y: top, width: lw });
    const y = top + 22;
    asArtifact(pen.doc, () => pen.doc.moveTo(pen.left, y).lineTo(pen.left + lw - 12, y).lineWidth(0.6).strokeColor(COLOR.text).stroke(), "Layout");
  }
  const lineY = top + 20;
  const sx = pen.left + pen.width * 0.58;
  asArtifact(pen.doc, () => pen.doc.moveTo(sx, lineY).lineTo(pen.left + pen.width, lineY).lineWidth(0.6).strokeColor(COLOR.text).stroke(), "Layout");
  pen.text("signature, date and time", { size: 9, color: COLOR.muted, x: sx, y: lineY + 2, width: pen.width * 0.42 });
  pen.doc.y = top + ROW_H + 2;
}

/** Draws the final attestation on the pen's current page (and more, for a long list of people). */
export function renderFinalAttestation(pen: Pen, bundle: Bundle, view: ScriptView = scriptView(bundle)): void {
  const c = bundle.ceremony;
  const last = bundle.entries.at(-1);
  const aborted = last?.body.action === "abort";
  const counts = eventCounts(bundle);
  pen.text("Final attestation", { font: "bold", size: 20, tag: "H1" });
  pen.gap(4);
  pen.text(`${c.scriptTitle} — ceremony ${c.id}${c.mode === "rehearsal" ? " — REHEARSAL" : ""}`, { size: 11, color: COLOR.muted });
  pen.gap(12);
  pen.text(aborted ? `The ceremony was ABORTED: ${String(last?.body.inputs["reason"] ?? "")}` : "The ceremony was completed and its transcript sealed.", { font: "bold", size: 11 });
  pen.gap(10);
  pen.text("Final head of the transcript (give it to custos verify --expect-head):", { size: 10.5 });
  pen.gap(4);
  pen.text(bundle.head, { font: "mono", size: 11 });
  pen.gap(4);
  pen.text(`In words: ${hashWords(bundle.head, 4).join(" ")}`, { font: "bold", size: 12 });
  pen.gap(6);
  // The QR code sits to the right of the facts, below the head and its words.
  const qr = 84;
  pen.ensure(qr + 4);
  const y = pen.doc.y;
  drawQrFigure(pen.doc, pen.root, bundle.head, { x: pen.left + pen.width - qr, y, size: qr }, "QR code of the final head hash");
  const root = rootFingerprint(bundle);
  const facts: Array<[string, string, boolean]> = [
    ["Entries", `${bundle.entries.length}; the last, entry ${last ? `${last.body.seq}, at ${humanTime(last.body.timestamp)}` : "—"}`, false],
    ["Exceptions and deviations", `${counts.exceptions} exception${counts.exceptions === 1 ? "" : "s"}, ${counts.deviations} deviation${counts.deviations === 1 ? "" : "s"} (each listed in the report)`, false],
    ["Script SHA-256", c.scriptSha256, true],
    ...(root ? [["Root key SPKI SHA-256", root, true] as [string, string, boolean]] : []),
  ];
  const w = pen.width - qr - 10;
  for (const [k, v, mono] of facts) {
    pen.text(k, { size: 9, color: COLOR.muted, width: w });
    pen.text(v, { font: mono ? "mono" : "sans", size: mono ? 9 : 9.5, width: w });
    pen.gap(2);
  }
  pen.doc.y = Math.max(pen.doc.y, y + qr + 4);
  pen.gap(6);
  pen.text(
    "We, the undersigned, were present and attest that the ceremony took place as its transcript records, and that the final head above is the one shown on the screen at its close.",
    { size: 10 },
  );
  pen.gap(8);
  const signed = new Set<string>();
  for (const a of ATTESTERS) {
    const holders = view.people.filter((p) => p.roles.some((r) => a.match.test(r)));
    const title = holders[0]?.roleTitles[holders[0].roles.findIndex((r) => a.match.test(r))] ?? a.title;
    pen.ensure(26 + ROW_H);
    pen.text(title, { font: "bold", size: 10.5, tag: "H2" });
    pen.text(a.statement, { size: 9, color: COLOR.muted });
    pen.gap(4);
    if (holders.length === 0) signatureRow(pen, null);
    for (const p of holders) {
      signatureRow(pen, p);
      signed.add(p.id);
    }
    pen.gap(4);
  }
  const others = view.people.filter((p) => !signed.has(p.id));
  if (others.length) {
    pen.ensure(16 + ROW_H);
    pen.text("Everyone else present", { font: "bold", size: 10.5, tag: "H2" });
    pen.gap(4);
    for (const p of others) signatureRow(pen, p);
  }
}

/** The final attestation as a document of its own, printed at the close for wet signatures. */
export async function renderFinalHeadSheet(bundle: Bundle): Promise<Buffer> {
  const c = bundle.ceremony;
  const date = firstValidDate(bundle.entries.at(-1)?.body.timestamp, c.createdAt);
  const { doc, bytes } = openDoc({
    title: `Custos final attestation — ${c.scriptTitle}${c.mode === "rehearsal" ? " (REHEARSAL)" : ""}`,
    subject: `Ceremony ${c.id}, final head ${bundle.head}`,
    date,
    idSeed: `final-head\n${c.id}\n${bundle.head}`,
  });
  if (c.mode === "rehearsal") doc.on("pageAdded", () => drawWatermark(doc, "REHEARSAL"));
  const pen = new Pen(doc);
  pen.newPage();
  renderFinalAttestation(pen, bundle);
  doc.end();
  return bytes;
}
