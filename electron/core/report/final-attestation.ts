/**
 * The paper that pins the end (docs/transcript-format.md §10, issue: "the
 * paper in the room"): the final head of a closed transcript, in hex, words
 * and QR, with a signature line for everyone present. Signed by hand in the
 * room, it is what an auditor later gives `custos verify --expect-head`: a
 * transcript re-made afterwards, however well signed, has another head.
 */
import { hashWords } from "../app/words";
import { keyFingerprint } from "../transcript/identity";
import type { Bundle } from "../transcript/types";
import { COLOR, Pen, asArtifact, drawQrFigure, drawWatermark, firstValidDate, humanTime, openDoc } from "./pdf";

interface Person {
  id: string;
  name: string;
  roles: string[];
  publicKey: string;
}

function people(bundle: Bundle): Person[] {
  const e = bundle.entries.find((x) => x.body.action === "enrol-participants");
  const list = e?.body.outputs["participants"];
  if (!Array.isArray(list)) return [];
  return list.flatMap((p) => (p && typeof p === "object" && !Array.isArray(p) && typeof p["id"] === "string" ? [p as unknown as Person] : []));
}

function rootFingerprint(bundle: Bundle): string | undefined {
  for (let i = bundle.entries.length - 1; i >= 0; i--) {
    const b = bundle.entries[i]!.body;
    if (b.action !== "generate-key-pair" && b.action !== "collect-shares-and-restore") continue;
    const rk = b.outputs["rootKey"];
    if (rk && typeof rk === "object" && !Array.isArray(rk) && typeof rk["fingerprint"] === "string") return rk["fingerprint"];
  }
  return undefined;
}

/** Draws the final attestation on the pen's current page (and more, for a long list of people). */
export function renderFinalAttestation(pen: Pen, bundle: Bundle): void {
  const c = bundle.ceremony;
  const last = bundle.entries.at(-1);
  const aborted = last?.body.action === "abort";
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
  pen.ensure(96);
  const y = pen.doc.y;
  drawQrFigure(pen.doc, pen.root, bundle.head, { x: pen.left, y, size: 92 }, "QR code of the final head hash");
  pen.doc.y = y + 96;
  pen.gap(6);
  const facts: Array<[string, string]> = [
    ["Entries", String(bundle.entries.length)],
    ["Last entry", last ? `#${last.body.seq} at ${humanTime(last.body.timestamp)}` : "—"],
    ["Script SHA-256", c.scriptSha256],
  ];
  const root = rootFingerprint(bundle);
  if (root) facts.push(["Root key (SPKI SHA-256)", root]);
  for (const [k, v] of facts) {
    pen.text(`${k}: ${v}`, { font: k.includes("SHA") || k.includes("Root") ? "mono" : "sans", size: 9.5 });
    pen.gap(2);
  }
  pen.gap(10);
  pen.text(
    "We, the undersigned, were present and attest that the ceremony took place as its transcript records, and that the final head above is the one shown on the screen at its close.",
    { size: 10.5 },
  );
  pen.gap(12);
  for (const p of people(bundle)) {
    pen.ensure(31);
    const top = pen.doc.y;
    pen.text(`${p.name} (${p.id}) — ${p.roles.join(", ")}`, { font: "bold", size: 9.5, x: pen.left, y: top, width: pen.width * 0.55 });
    pen.text(`key ${keyFingerprint(p.publicKey)}`, { font: "mono", size: 7.5, color: COLOR.muted, x: pen.left, y: pen.doc.y + 1, width: pen.width * 0.55 });
    const lineY = top + 20;
    asArtifact(pen.doc, () => pen.doc.moveTo(pen.left + pen.width * 0.58, lineY).lineTo(pen.left + pen.width, lineY).lineWidth(0.6).strokeColor(COLOR.text).stroke(), "Layout");
    pen.text("signature, date and time", { size: 7, color: COLOR.muted, x: pen.left + pen.width * 0.58, y: lineY + 2, width: pen.width * 0.42 });
    pen.doc.y = top + 31;
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
