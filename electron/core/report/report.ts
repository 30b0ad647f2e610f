import crypto from "node:crypto";
import { hashWords } from "../app/words";
import { CustosError } from "../errors";
import { bundleToJson } from "../transcript/bundle";
import type { Bundle } from "../transcript/types";
import { renderEntry, renderEvents } from "./entries";
import { keyValue, note } from "./layout";
import { COLOR, MARGIN, Pen, drawQrFigure, asArtifact, drawWatermark, firstValidDate, humanTime, openDoc, FONT } from "./pdf";
import { eventCounts, scriptView } from "./script-view";
import { renderSignIn } from "./sign-in";

import { BUNDLE_ATTACHMENT_NAME } from "./extract";
import { renderFinalAttestation } from "./final-attestation";

export { extractBundleFromPdf, BUNDLE_ATTACHMENT_NAME } from "./extract";
export { keyFingerprint } from "./script-view";

/**
 * The ceremony report: what an auditor reads, and, through the embedded
 * bundle.json, what `custos verify report.pdf` checks. The printed pages
 * only present the transcript; the proof is the embedded bundle, which is
 * why every page names the head hash the verifier will report.
 */

/** Options for renderReport. */
export interface ReportOptions {
  /**
   * Why the transcript does not verify, for a report printed anyway (`custos
   * report --force`): every page then says NOT INTACT. Such a report never
   * verifies either: its pages are not what Custos renders from its bundle.
   */
  notIntact?: string;
}

/** A participant as the enrol-participants entry records it. */
export interface ReportParticipant {
  id: string;
  name: string;
  roles: string[];
  publicKey: string;
}

/** Action of the entry that enrols participants. */
const ENROL_ACTION = "enrol-participants";
/** Action of the entry that seals a transcript. */
const SEAL_ACTION = "seal-transcript";
const REHEARSAL_BANNER = "REHEARSAL — NOT A PRODUCTION CEREMONY";

/** §8: the binding lines printed on the cover, each on its own line, derived from the bundle alone. */
export function reportBindingLines(bundle: Bundle): string[] {
  const last = bundle.entries.at(-1);
  const closed = last?.body.action === SEAL_ACTION ? "seal" : last?.body.action === "abort" ? "abort" : "no";
  return [
    "custos-report-binding: 2",
    `ceremony: ${bundle.ceremony.id}`,
    `mode: ${bundle.ceremony.mode}`,
    `script-sha256: ${bundle.ceremony.scriptSha256}`,
    `entries: ${bundle.entries.length}`,
    `head: ${bundle.head}`,
    `closed: ${closed}`,
  ];
}

/** Exact text of the embedded bundle.json (docs/transcript-format.md §4.2). */
export function bundleJsonText(bundle: Bundle): string {
  return bundleToJson(bundle);
}

/** Participants recorded by the enrol-participants entry, tolerating odd shapes rather than failing the print. */
export function participantsOf(bundle: Bundle): ReportParticipant[] {
  const entry = bundle.entries.find((e) => e.body.action === ENROL_ACTION);
  const list = entry?.body.outputs["participants"];
  if (!Array.isArray(list)) return [];
  const out: ReportParticipant[] = [];
  for (const p of list) {
    if (p === null || typeof p !== "object" || Array.isArray(p)) continue;
    const roles = Array.isArray(p["roles"]) ? p["roles"].filter((r): r is string => typeof r === "string") : [];
    out.push({
      id: typeof p["id"] === "string" ? p["id"] : "?",
      name: typeof p["name"] === "string" ? p["name"] : "(no name)",
      roles,
      publicKey: typeof p["publicKey"] === "string" ? p["publicKey"] : "",
    });
  }
  return out;
}

/** The outcome line: sealed only when the last entry is the seal. */
function outcome(bundle: Bundle): { sealed: boolean; text: string } {
  const last = bundle.entries.at(-1);
  if (!last) return { sealed: false, text: "NOT SEALED — the transcript has no entries" };
  if (last.body.action === "abort") {
    return { sealed: false, text: `ABORTED at entry #${last.body.seq}: ${String(last.body.inputs["reason"] ?? "")}` };
  }
  if (last.body.action !== SEAL_ACTION) {
    return {
      sealed: false,
      text: `NOT SEALED — the last entry is #${last.body.seq} ${last.body.stepId} (${last.body.action})`,
    };
  }
  const root = last.signatures.some((s) => s.kind === "root-key");
  return {
    sealed: true,
    text: root
      ? `Sealed — entry #${last.body.seq} (${SEAL_ACTION}) carries the root key's signature`
      : `Sealed — entry #${last.body.seq} (${SEAL_ACTION}); it carries no root-key signature`,
  };
}

function checkBundle(bundle: Bundle): void {
  if (
    bundle === null ||
    typeof bundle !== "object" ||
    bundle.format !== "custos-transcript-bundle" ||
    !Array.isArray(bundle.entries) ||
    typeof bundle.ceremony !== "object" ||
    bundle.ceremony === null
  ) {
    throw new CustosError(
      "REPORT_BAD_BUNDLE",
      "The report was asked to print something that is not a Custos transcript bundle.",
      "Export the bundle with `custos export` and print it again.",
    );
  }
}

/** Renders the ceremony report as PDF bytes; the same bundle always gives the same bytes. */
export async function renderReport(bundle: Bundle, opts: ReportOptions = {}): Promise<Buffer> {
  checkBundle(bundle);
  const c = bundle.ceremony;
  const rehearsal = c.mode === "rehearsal";
  const first = bundle.entries[0];
  const last = bundle.entries.at(-1);
  const date = firstValidDate(last?.body.timestamp, c.createdAt);
  const subtitle = c.scriptTitle;
  const json = bundleJsonText(bundle);
  const closed = last?.body.action === SEAL_ACTION || last?.body.action === "abort";

  const { doc, bytes } = openDoc({
    title: `Custos ceremony report — ${subtitle}${rehearsal ? " (REHEARSAL)" : ""}`,
    subject: `Ceremony ${c.id}, transcript head ${bundle.head}`,
    keywords: `custos, key ceremony, ${c.mode}`,
    date,
    idSeed: `report\n${opts.notIntact ?? ""}\n${json}`,
  });
  if (rehearsal) doc.on("pageAdded", () => drawWatermark(doc, "REHEARSAL"));
  if (opts.notIntact) doc.on("pageAdded", () => drawWatermark(doc, "NOT INTACT"));
  const pen = new Pen(doc);
  const view = scriptView(bundle);
  const counts = eventCounts(bundle);

  // ---- cover -------------------------------------------------------------
  pen.newPage();
  pen.text("Custos ceremony report", { font: "bold", size: 26, tag: "H1" });
  pen.gap(4);
  pen.text(subtitle, { size: 15, color: COLOR.muted, tag: "H2" });
  pen.gap(16);
  if (rehearsal) {
    pen.banner(REHEARSAL_BANNER, doc.y, 58, 20);
    pen.gap(16);
  }
  if (opts.notIntact) {
    pen.banner("NOT INTACT — THIS TRANSCRIPT DOES NOT VERIFY", doc.y, 40, 15);
    pen.gap(6);
    pen.text(`custos verify: ${opts.notIntact}`, { size: 10, color: COLOR.rehearsal });
    pen.gap(12);
  }
  const result = outcome(bundle);
  const facts: Array<[string, string, "sans" | "mono" | "bold"]> = [
    ["Script", `${c.scriptTitle} (${c.scriptId})`, "sans"],
    ["Script version", c.scriptVersion, "sans"],
    ["Script SHA-256", c.scriptSha256, "mono"],
    ["Ceremony id", c.id, "mono"],
    ["Mode", rehearsal ? "REHEARSAL (dry run against a throwaway SoftHSM token)" : "Production", rehearsal ? "bold" : "sans"],
    ["Date", first ? humanTime(first.body.timestamp) : "—", "sans"],
    ["Last entry", last ? humanTime(last.body.timestamp) : "—", "sans"],
    ["Outcome", result.text, "bold"],
    ["Exceptions", counts.exceptions ? `${counts.exceptions} — written and signed by a witness; listed under "Exceptions and deviations"` : "none", counts.exceptions ? "bold" : "sans"],
    ["Deviations", counts.deviations ? `${counts.deviations} — recorded by Custos; listed under "Exceptions and deviations"` : "none", counts.deviations ? "bold" : "sans"],
    ["Entries", `${bundle.entries.length} (${view.total ? `the script has ${view.total} steps` : "script steps unknown"})`, "sans"],
    ["Ceremony status", c.status, "sans"],
    ["Transcript head hash", bundle.head, "mono"],
    ["Head hash in words", hashWords(bundle.head, 4).join(" "), "bold"],
  ];
  if (closed) facts.push(["Final head for --expect-head", bundle.head, "mono"]);
  const place = placeOf(bundle);
  if (place) facts.splice(5, 0, ["Place", place, "sans"]);
  for (const [label, value, font] of facts) {
    // 64 hex digits stay on one line at 9 pt; short ids are set larger.
    const size = font === "mono" ? (value.length > 48 ? 9 : 10) : 10.5;
    keyValue(pen, label, value, { labelWidth: 124, font, size, labelSize: 10 });
    pen.gap(4.5);
  }
  pen.gap(8);
  // docs/transcript-format.md §8: these lines bind the cover to the attached bundle for any verifier,
  // even one that cannot render the report again.
  // Small enough that no line wraps (a ceremony id has at most 100 characters, §2.1).
  pen.text(reportBindingLines(bundle).join("\n"), { font: "mono", size: 6.5, color: COLOR.muted });
  pen.gap(10);
  note(
    pen,
    "This report presents the ceremony transcript; it does not prove it on its own. The signed transcript is " +
      "embedded in this PDF as the attachment bundle.json, and `custos verify` checks its hash chain, every " +
      "signature, who signed what against the script, the seal and the script hash. " +
      (closed
        ? "The head above is final: give it to the verifier as --expect-head, from the paper signed in the room, so a re-made transcript cannot pass. "
        : "This transcript is not closed yet: its head will change; the final head is printed when the ceremony is sealed. ") +
      "The page \"How to verify this report\" explains how.",
  );

  // ---- sign-in sheet, then what happened outside the script --------------
  pen.newPage();
  renderSignIn(pen, bundle, view);
  pen.gap(24);
  pen.ensure(140);
  renderEvents(pen, bundle, view);

  // ---- entries -----------------------------------------------------------
  pen.newPage();
  pen.text("Transcript", { font: "bold", size: 18, tag: "H1" });
  pen.gap(2);
  pen.text(
    "Every entry in order, under the step number shown on the screen and the video (\"Step n of N\"); the entry number is the " +
      "transcript's own. A witness initials each step and writes the time. Exceptions and deviations are set apart in colour: they " +
      "are not steps. Values longer than a few lines are shortened in the middle; the SHA-256 shown is of the full value as it " +
      "appears in bundle.json.",
    { size: 9.5, color: COLOR.muted },
  );
  pen.gap(10);
  for (const entry of bundle.entries) renderEntry(pen, entry, view);

  // ---- verification ------------------------------------------------------
  pen.newPage();
  renderVerification(pen, bundle, result.sealed);

  // ---- final attestation (wet signatures on the final head) ---------------
  if (closed) {
    pen.newPage();
    renderFinalAttestation(pen, bundle, view);
  }

  // ---- attachment and footers ---------------------------------------------
  doc.file(Buffer.from(json, "utf8"), {
    name: BUNDLE_ATTACHMENT_NAME,
    type: "application/json",
    description: "Custos signed transcript bundle",
    creationDate: date,
    modifiedDate: date,
    // pdfkit supports it; @types/pdfkit does not list it yet.
    ...({ relationship: "Source" } as object),
  });
  footers(pen, bundle, rehearsal);
  doc.end();
  return bytes;
}

function renderVerification(pen: Pen, bundle: Bundle, sealed: boolean): void {
  pen.text("How to verify this report", { font: "bold", size: 18, tag: "H1" });
  pen.gap(8);
  const steps: Array<{ text: string; command?: string; after?: string }> = [
    {
      text:
        "The signed transcript of this ceremony is embedded in this PDF as the attachment bundle.json. The printed " +
        "pages only present it; the attachment is what is verified.",
    },
    {
      text: "On any machine with Custos installed, run:",
      command: "custos verify report.pdf",
      after:
        "It extracts bundle.json, checks the hash chain, every signature and who signed what against the script, the " +
        "seal and the script hash, renders this report again from the bundle and compares it byte for byte, and names " +
        "the first bad entry or page. Exit status 0: intact and complete; 1: not intact; 2: unreadable; 3: intact so " +
        "far but not complete; 4: intact, the ceremony was aborted.",
    },
    {
      text: "Or take the attachment out first (from a PDF viewer's attachments pane, or with pdfdetach) and verify it:",
      command: "pdfdetach -save 1 -o bundle.json report.pdf\ncustos verify bundle.json",
    },
    {
      text:
        "Pin what you know from outside the file: the final head from the paper signed in the room, the root " +
        "certificate's fingerprint, the script's SHA-256. A pin that does not match makes the verdict NOT INTACT:",
      command: "custos verify report.pdf --expect-head <final head> \\\n  --expect-root-fingerprint <sha256> --expect-script-sha256 <sha256>",
    },
    { text: "Compare the script SHA-256 below with the script file that was used:", command: "sha256sum <script>.yaml" },
  ];
  const body = { size: 10.5, width: pen.width - 22 };
  const cmd = { font: "mono" as const, size: 10, width: pen.width - 40 };
  steps.forEach((s, i) => {
    const h =
      pen.measure(s.text, body) +
      (s.command ? pen.measure(s.command, cmd) + 8 : 0) +
      (s.after ? pen.measure(s.after, body) + 4 : 0);
    pen.ensure(h);
    const y = pen.doc.y;
    pen.text(`${i + 1}.`, { font: "bold", size: 10.5, x: pen.left, y, width: 20 });
    pen.text(s.text, { ...body, x: pen.left + 22, y });
    if (s.command) {
      pen.gap(4);
      pen.text(s.command, { ...cmd, x: pen.left + 40, y: pen.doc.y });
      pen.gap(4);
    }
    if (s.after) {
      pen.gap(2);
      pen.text(s.after, { ...body, x: pen.left + 22, y: pen.doc.y });
    }
    pen.gap(8);
  });
  pen.gap(10);
  pen.text("Transcript head hash", { font: "bold", size: 11, tag: "H2" });
  pen.gap(3);
  pen.text(bundle.head, { font: "mono", size: 10.5 });
  pen.gap(3);
  pen.text(`In words, to read aloud and compare: ${hashWords(bundle.head, 6).join(" ")}`, { size: 10.5 });
  pen.gap(6);
  drawQr(pen, bundle.head, 110, "QR code of the transcript head hash");
  pen.gap(10);
  pen.text("Script SHA-256", { font: "bold", size: 11, tag: "H2" });
  pen.gap(3);
  pen.text(bundle.ceremony.scriptSha256, { font: "mono", size: 10.5 });
  pen.gap(10);
  pen.text("Embedded bundle SHA-256", { font: "bold", size: 11, tag: "H2" });
  pen.gap(3);
  pen.text(crypto.createHash("sha256").update(bundleJsonText(bundle), "utf8").digest("hex"), { font: "mono", size: 10.5 });
  pen.gap(14);
  note(
    pen,
    sealed
      ? "The transcript ends with a seal-transcript entry: nothing can be appended to it without breaking the seal."
      : "The transcript is NOT sealed: it does not end with a seal-transcript entry, so it may be incomplete.",
  );
  // Only where it fits: a page of its own would hold nothing else (every page has the watermark and footer anyway).
  if (bundle.ceremony.mode === "rehearsal" && pen.doc.y + 14 + 40 <= pen.bottom) {
    pen.gap(14);
    pen.banner(REHEARSAL_BANNER, pen.doc.y, 40, 15);
  }
}

/** Footers go on last, once the page count is known. */
function footers(pen: Pen, bundle: Bundle, rehearsal: boolean): void {
  const doc = pen.doc;
  const range = doc.bufferedPageRange();
  const total = range.count;
  const script = bundle.ceremony.scriptSha256.slice(0, 16);
  for (let i = range.start; i < range.start + total; i++) {
    doc.switchToPage(i);
    const page = i - range.start + 1;
    const head = page === 1 ? bundle.head : `${bundle.head.slice(0, 16)}…`;
    asArtifact(doc, () => {
      const y = doc.page.height - MARGIN.bottom + 18;
      doc
        .moveTo(MARGIN.left, y - 6)
        .lineTo(doc.page.width - MARGIN.right, y - 6)
        .lineWidth(0.4)
        .strokeColor(COLOR.rule)
        .stroke();
      const w = doc.page.width - MARGIN.left - MARGIN.right;
      doc.font(FONT.sans).fontSize(7.5).fillColor(COLOR.muted);
      const lead = rehearsal ? "REHEARSAL · " : "";
      let x = MARGIN.left;
      if (lead) {
        doc.font(FONT.bold).fillColor(COLOR.rehearsal);
        doc.text(lead, x, y, { lineBreak: false });
        x += doc.widthOfString(lead);
        doc.font(FONT.sans).fillColor(COLOR.muted);
      }
      doc.text(`Custos ceremony report · ceremony ${bundle.ceremony.id}`, x, y, { lineBreak: false });
      doc.text(`page ${page} of ${total}`, MARGIN.left, y, { width: w, align: "right", lineBreak: false });
      doc.font(FONT.mono).fontSize(7).fillColor(COLOR.muted);
      doc.text(`head ${head} · script sha256 ${script}…`, MARGIN.left, y + 11, { width: w, lineBreak: false });
    });
  }
}

/** The place recorded by the opening checklist (field "location"), if any. */
function placeOf(bundle: Bundle): string | undefined {
  for (const e of bundle.entries) {
    const v = e.body.inputs["location"];
    if (typeof v === "string" && v.trim()) return v.trim();
  }
  return undefined;
}

/** The head hash as a QR code, so a phone can compare it with the screen. */
function drawQr(pen: Pen, text: string, size: number, alt: string): void {
  pen.ensure(size + 4);
  const y = pen.doc.y;
  drawQrFigure(pen.doc, pen.root, text, { x: pen.left, y, size }, alt);
  pen.doc.y = y + size + 4;
}
