/**
 * The sign-in sheet: everyone the transcript enrols, with their roles, the
 * key fingerprint they copied from their own screen at enrolment (§2.4), the
 * time the enrolment was recorded, and room for the time they arrived and
 * left and their signature.
 */
import type { Bundle } from "../transcript/types";
import { fingerprintLines } from "./facts";
import { COLOR, Pen, asArtifact, humanTime } from "./pdf";
import { stepLabel, type ScriptView } from "./script-view";

const COLS = [
  { title: "Name and roles", width: 122 },
  { title: "Key fingerprint", width: 122 },
  { title: "Enrolled (UTC)", width: 52 },
  { title: "Time in", width: 46 },
  { title: "Time out", width: 46 },
  { title: "Signature", width: 0 },
];

/** Draws the sheet from the pen's current page on. */
export function renderSignIn(pen: Pen, bundle: Bundle, view: ScriptView): void {
  const doc = pen.doc;
  pen.text("Sign-in sheet", { font: "bold", size: 18, tag: "H1" });
  pen.gap(4);
  const enrol = bundle.entries.find((e) => e.body.action === "enrol-participants");
  if (!enrol || view.people.length === 0) {
    pen.text("No enrolment with participants is recorded in this transcript.", { size: 10.5 });
    return;
  }
  const step = view.stepById.get(enrol.body.stepId);
  pen.text(
    `Everyone present, as enrolled at entry ${enrol.body.seq} (${stepLabel(view, enrol.body.stepId).toLowerCase()}${step ? `, ${step.title}` : ""}) on ` +
      `${humanTime(enrol.body.timestamp)}. Each person compares the fingerprint printed here with the one shown to them at enrolment ` +
      "and copied onto this sheet, writes the times they came in and left, and signs. The fingerprint is the first 16 bytes of SHA-256 " +
      "over the person's public key.",
    { size: 9.5, color: COLOR.muted },
  );
  pen.gap(10);
  const widths = COLS.map((c) => c.width || pen.width - COLS.reduce((a, x) => a + x.width, 0));
  const header = (): void => {
    const y = doc.y;
    let x = pen.left;
    const h = Math.max(...COLS.map((c, i) => pen.measure(c.title, { font: "bold", size: 9, width: widths[i]! - 8 })));
    COLS.forEach((c, i) => {
      pen.text(c.title, { font: "bold", size: 9, x: x + 4, y, width: widths[i]! - 8 });
      x += widths[i]!;
    });
    doc.y = y + h + 3;
    pen.rule(COLOR.text, 0.8);
  };
  header();
  const enrolled = humanTime(enrol.body.timestamp).replace(/^\S+ /, "").replace(/ UTC$/, "");
  for (const p of view.people) {
    const who = `${p.name}\n${p.roleTitles.join(", ") || "—"}`;
    const fp = p.publicKey ? fingerprintLines(p.publicKey) + (p.token ? `\ntoken ${p.token.serial}` : "") : "(no key)";
    const h = Math.max(
      pen.measure(who, { size: 9.5, width: widths[0]! - 8 }),
      pen.measure(fp, { font: "mono", size: 9, width: widths[1]! - 8 }),
    );
    const rowH = Math.max(44, h + 14);
    if (doc.y + rowH > pen.bottom) {
      pen.newPage();
      header();
    }
    const y = doc.y;
    let x = pen.left;
    pen.text(p.name, { font: "bold", size: 9.5, x: x + 4, y: y + 6, width: widths[0]! - 8 });
    pen.text(p.roleTitles.join(", ") || "—", { size: 9, x: x + 4, y: doc.y + 1, width: widths[0]! - 8 });
    x += widths[0]!;
    pen.text(fp, { font: "mono", size: 9, x: x + 4, y: y + 6, width: widths[1]! - 8 });
    x += widths[1]!;
    pen.text(enrolled, { size: 9, x: x + 4, y: y + 6, width: widths[2]! - 8 });
    x += widths[2]!;
    const boxes = [x, x + widths[3]!, x + widths[3]! + widths[4]!];
    const bw = [widths[3]!, widths[4]!, widths[5]!];
    asArtifact(
      doc,
      () => {
        boxes.forEach((bx, i) => doc.rect(bx + 3, y + 5, bw[i]! - 6, rowH - 10).lineWidth(0.6).strokeColor(COLOR.rule).stroke());
      },
      "Layout",
    );
    doc.y = y + rowH;
    pen.rule();
  }
}
