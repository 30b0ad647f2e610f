/**
 * The custody register as a PDF (pdfkit, the DejaVu fonts every Custos PDF
 * embeds). The same facts as the terminal summary, laid out for an auditor's
 * file: the root, each transcript's verdict, the key's life, each backup with
 * its shares' holders and last checks, each bag's life, and the findings.
 */
import crypto from "node:crypto";
import { COLOR, MARGIN, Pen, asArtifact, drawWatermark, openDoc } from "../report/pdf";
import { KIND_LABEL, bagLifeText, lastCheckText } from "./summary";
import type { CustodyRegister } from "./types";

const day = (iso: string) => iso.slice(0, 10);
const STATUS = [
  "Every transcript is intact and every link between them holds.",
  "NOT INTACT or BROKEN LINK: a transcript does not verify, or one the others name is missing.",
  "An input could not be read as a transcript.",
  "Intact and linked, but custody NEEDS ATTENTION (see the findings).",
];

function heading(pen: Pen, text: string): void {
  pen.ensure(60);
  pen.gap(10);
  pen.text(text, { font: "bold", size: 13, tag: "H2" });
  pen.gap(2);
  pen.rule();
  pen.gap(5);
}

function row(pen: Pen, label: string, value: string, mono = false): void {
  const h = Math.max(pen.measure(value, { size: 9, font: mono ? "mono" : "sans", width: pen.width - 130 }), 12);
  pen.ensure(h + 2);
  const y = pen.doc.y;
  pen.text(label, { size: 9, color: COLOR.muted, x: pen.left, y, width: 125 });
  pen.text(value, { size: mono ? 8 : 9, font: mono ? "mono" : "sans", x: pen.left + 130, y, width: pen.width - 130 });
  pen.doc.y = Math.max(pen.doc.y, y + h) + 2;
}

function para(pen: Pen, text: string, o: { bold?: boolean; color?: string; indent?: number; size?: number } = {}): void {
  const s = { size: o.size ?? 9, font: (o.bold ? "bold" : "sans") as "bold" | "sans", x: pen.left + (o.indent ?? 0), width: pen.width - (o.indent ?? 0), color: o.color };
  pen.ensure(pen.measure(text, s) + 2);
  pen.text(text, { ...s, y: pen.doc.y });
  pen.gap(2);
}

/** Renders the register; the same register gives the same bytes. */
export async function renderRegisterPdf(r: CustodyRegister): Promise<Buffer> {
  const seed = crypto.createHash("sha256").update(JSON.stringify(r)).digest();
  const { doc, bytes } = openDoc({
    title: `Custos custody register${r.root ? ` — root ${r.root.fingerprint.slice(0, 16)}` : ""}${r.mode === "rehearsal" ? " (REHEARSAL)" : ""}`,
    subject: `Custody register as of ${r.asOf}: ${r.ceremonies.length} ceremonies, ${r.findings.length} findings`,
    date: new Date(`${r.asOf}T00:00:00Z`),
    idSeed: seed,
  });
  if (r.mode === "rehearsal") doc.on("pageAdded", () => drawWatermark(doc, "REHEARSAL"));
  const pen = new Pen(doc);
  pen.newPage();
  pen.continuation = `Custody register${r.root ? ` — root ${r.root.fingerprint.slice(0, 16)}…` : ""} (continued)`;
  if (r.mode === "rehearsal") {
    pen.banner("REHEARSAL — these ceremonies were rehearsals on throwaway tokens", pen.doc.y, 30, 12);
    pen.gap(10);
  }
  pen.text("Custody register", { font: "bold", size: 20, tag: "H1" });
  pen.gap(4);
  pen.text(`As of ${r.asOf}; a share is overdue when not seen good for ${r.checkIntervalMonths} months.`, { size: 10, color: COLOR.muted });
  pen.gap(8);
  para(pen, STATUS[r.status]!, { bold: true, size: 11, color: r.status === 0 ? COLOR.text : COLOR.rehearsal });
  pen.gap(4);
  if (r.root) {
    row(pen, "Root key (SPKI SHA-256)", r.root.fingerprint, true);
    if (r.root.algorithm) row(pen, "Algorithm", r.root.algorithm);
    if (r.root.certificateSha256) row(pen, "Root certificate SHA-256", r.root.certificateSha256, true);
    row(pen, "Generated", r.root.generated ? `${r.root.generated.ceremonyId} on ${day(r.root.generated.at)}` : "the generation ceremony is not in the set");
  }

  heading(pen, `Transcripts (${r.inputs.length})`);
  for (const i of r.inputs) {
    const what = i.state === "intact" ? (i.completeness === "complete" ? "intact, sealed" : i.completeness === "aborted" ? "intact, ABORTED" : "intact so far, NOT COMPLETE") : i.state === "not-intact" ? `NOT INTACT — ${i.reason ?? ""}` : `UNREADABLE — ${i.reason ?? ""}`;
    para(pen, `${i.ceremonyId ?? "(no ceremony)"}: ${what}`, { bold: i.state !== "intact", color: i.state === "intact" ? COLOR.text : COLOR.rehearsal });
    para(pen, i.file, { indent: 12, color: COLOR.muted, size: 7.5 });
  }

  heading(pen, "The key's life");
  for (const c of r.ceremonies) {
    const state = c.completeness === "complete" ? "" : c.completeness === "aborted" ? ` — ABORTED: ${c.abortReason ?? ""}` : " — NOT COMPLETE";
    para(pen, `${day(c.opened)} — ${KIND_LABEL[c.kind]}: ${c.ceremonyId}${state}`, { bold: true });
    const facts: string[] = [];
    if (c.token && (c.kind === "generation" || c.kind === "recovery")) facts.push(`${c.kind === "generation" ? "Key generated" : "Key restored"} on token serial ${c.token.serial || "?"} (${c.token.model}, label ${c.token.label}).`);
    if (c.backup) facts.push(`Backup ${c.backup.threshold} of ${c.backup.total}, KCV ${c.backup.kcv}, blob SHA-256 ${c.backup.blobSha256.slice(0, 16)}…; shares to ${c.backup.shares.map((s) => `${s.index} ${s.holder}`).join(", ")}.`);
    if (c.revokes) facts.push(`Revokes the shares of ${c.revokes}.`);
    if (c.healthCheck) facts.push(`${c.healthCheck.valid} of ${c.healthCheck.total} shares valid; quorum of ${c.healthCheck.threshold} ${c.healthCheck.quorumAvailable ? "available" : "NOT available"}.`);
    const used = c.shareUses.filter((u) => u.verdict === "used");
    if (used.length) facts.push(`Shares used: ${used.map((u) => u.index).join(", ")} of ${used[0]!.setId}.`);
    if (c.destroyed !== undefined) facts.push(`${c.destroyed} key object(s) destroyed on the token.`);
    if (c.signed.length) facts.push(`Signed: ${c.signed.join("; ")}.`);
    const people = c.people.map((p) => `${p.name} (${p.roles.join(", ")})`).join(", ");
    if (people) facts.push(`Present: ${people}.`);
    if (c.link) facts.push(`${c.link.state === "linked" ? "Link holds" : `LINK ${c.link.state.toUpperCase()}`}: ${c.link.detail}.`);
    facts.push(`Head ${c.head}`);
    for (const f of facts) para(pen, f, { indent: 12, color: f.startsWith("LINK") ? COLOR.rehearsal : COLOR.text });
    pen.gap(3);
  }

  heading(pen, "Backups and shares");
  for (const b of r.backups) {
    para(pen, `Backup made in ${b.ceremonyId} on ${day(b.at)}: ${b.threshold} of ${b.total}, KCV ${b.kcv}${b.current ? " — CURRENT" : b.revoked ? ` — revoked by ${b.revoked.ceremonyId} on ${day(b.revoked.at)}` : ""}`, { bold: true });
    for (const s of r.shares.filter((x) => x.setId === b.ceremonyId)) {
      para(pen, `Share ${s.index}: ${s.holder} (${s.holderId}) — ${lastCheckText(s)}${s.bag ? ` — in bag ${s.bag}` : ""}`, { indent: 12, color: s.lastCheck && ["invalid", "absent"].includes(s.lastCheck.verdict) ? COLOR.rehearsal : COLOR.text });
      para(pen, `attestation key ${s.fingerprint}`, { indent: 24, size: 7.5, color: COLOR.muted });
    }
    pen.gap(3);
  }
  if (r.backups.length === 0) para(pen, "No backup is recorded in the set.");

  heading(pen, "Tamper-evident bags");
  for (const b of r.bags) para(pen, `${b.serial} — ${b.holds}${b.share ? ` (share ${b.share.index} of ${b.share.setId})` : ""}: ${bagLifeText(b)}`);
  if (r.bags.length === 0) para(pen, "No bag serial is recorded in the set.");

  heading(pen, `Findings (${r.findings.length})`);
  for (const f of r.findings) para(pen, `${f.severity === "broken" ? "BROKEN" : f.severity === "attention" ? "ATTENTION" : "Note"} — ${f.code}: ${f.text}`, { color: f.severity === "note" ? COLOR.text : COLOR.rehearsal });
  if (r.findings.length === 0) para(pen, "None: every transcript is intact, every link holds, and no check is overdue.");

  const range = doc.bufferedPageRange();
  for (let i = 0; i < range.count; i++) {
    doc.switchToPage(range.start + i);
    asArtifact(doc, () => {
      doc.font("Sans").fontSize(7.5).fillColor(COLOR.muted);
      doc.text(`Custos custody register — as of ${r.asOf}${r.root ? ` — root ${r.root.fingerprint.slice(0, 16)}` : ""} — page ${i + 1} of ${range.count}`, MARGIN.left, doc.page.height - MARGIN.bottom + 20, {
        width: doc.page.width - MARGIN.left - MARGIN.right,
        align: "center",
        lineBreak: false,
      });
    });
  }
  doc.end();
  return bytes;
}
