/**
 * The PDF report vectors of docs/transcript-format.md §8: the genuine report
 * of a real rehearsal and the ways to break it. Used by generate.ts, and on
 * its own when only the report renderer changed (REPORT_RENDERER): then
 * `npx tsx test/vectors/report-vectors.ts` renders them again from the
 * rehearsal bundle already in valid/, leaving every other vector as it is.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { renderReport } from "../../electron/core/report/report";
import type { Bundle } from "../../electron/core/transcript/types";

/** A manifest row, as generate.ts writes it. */
export interface ReportVector {
  needsRendering?: boolean;
  expect: "complete" | "not-intact";
  code?: string;
  rule: string;
  description: string;
}

type Write = (dir: "valid" | "invalid", name: string, data: Buffer, v: ReportVector) => void;

function qpdf(args: string[]): void {
  const q = spawnSync("qpdf", args, { encoding: "utf8" });
  if (q.status !== 0 && q.status !== 3) throw new Error(`qpdf: ${q.stderr}`);
}

/** Writes the report vectors of the rehearsal whose bundle.json text is `genuine`. */
export async function writeReportVectors(genuine: Buffer, write: Write): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "custos-report-vectors-"));
  try {
    const bundle = JSON.parse(genuine.toString("utf8")) as Bundle;
    // The same bytes `custos rehearse` writes as report.pdf (§8: the same bundle always gives the same bytes).
    const pdf = await renderReport(bundle);
    const reportFile = path.join(tmp, "report.pdf");
    fs.writeFileSync(reportFile, pdf);
    write("valid", "rehearsal-generation.report.pdf", pdf, { expect: "complete", rule: "§8", description: "the real rehearsal's report" });
    write("invalid", "report-incremental-update.report.pdf", Buffer.concat([pdf, Buffer.from("\n% appended\n%%EOF\n")]), { expect: "not-intact", code: "REPORT_ATTACHMENTS", rule: "§8", description: "bytes appended after the end (an incremental update)" });
    const flipped = JSON.parse(genuine.toString("utf8")) as Bundle;
    flipped.ceremony.mode = "production";
    const forgedPdf = path.join(tmp, "forged.pdf");
    fs.writeFileSync(forgedPdf, await renderReport(flipped));
    const swapped = path.join(tmp, "swapped.pdf");
    const bundleFile = path.join(tmp, "bundle.json");
    fs.writeFileSync(bundleFile, genuine);
    qpdf([forgedPdf, "--remove-attachment=bundle.json", "--add-attachment", bundleFile, "--key=bundle.json", "--filename=bundle.json", "--mimetype=application/json", "--", swapped]);
    write("invalid", "report-mode-flipped.report.pdf", fs.readFileSync(swapped), {
      expect: "not-intact",
      code: "REPORT_MISMATCH",
      rule: "§8",
      description: "a rehearsal's report re-rendered as production, with the genuine bundle attached again",
    });
    const qdf = path.join(tmp, "qdf.pdf");
    qpdf(["--qdf", "--object-streams=disable", reportFile, qdf]);
    const edited = fs.readFileSync(qdf, "latin1").replace("\n(Ceremony root-key", "\n(Ceremonx root-key");
    if (!edited.includes("\n(Ceremonx root-key")) throw new Error("the report's /Subject was not found in QDF form");
    fs.writeFileSync(qdf, edited, "latin1");
    const q4 = spawnSync("fix-qdf", [qdf], { encoding: "latin1", maxBuffer: 64 << 20 });
    if (q4.status !== 0) throw new Error(`fix-qdf: ${q4.stderr}`);
    write("invalid", "report-metadata-edited.report.pdf", Buffer.from(q4.stdout, "latin1"), {
      expect: "not-intact",
      code: "REPORT_MISMATCH",
      rule: "§8 rule 4",
      description: "the document's metadata edited (pages, cover lines and attachment untouched): only a verifier that renders catches it",
      needsRendering: true,
    });
    const two = path.join(tmp, "two.pdf");
    qpdf([reportFile, "--add-attachment", bundleFile, "--key=extra.json", "--filename=extra.json", "--", two]);
    write("invalid", "report-second-attachment.report.pdf", fs.readFileSync(two), { expect: "not-intact", code: "REPORT_ATTACHMENTS", rule: "§8", description: "a second embedded file" });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && process.argv[1].endsWith("report-vectors.ts")) {
  // Only the PDFs change: their manifest rows (names, verdicts, descriptions) must already be there, unchanged.
  const out = path.dirname(new URL(import.meta.url).pathname);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8")) as { vectors: Array<ReportVector & { file: string }> };
  let n = 0;
  await writeReportVectors(fs.readFileSync(path.join(out, "valid", "rehearsal-generation.bundle.json")), (dir, name, data, v) => {
    const row = manifest.vectors.find((x) => x.file === `${dir}/${name}`);
    const norm = (o: object) => JSON.stringify(Object.entries(o).filter(([k]) => k !== "file").sort(([a], [b]) => a.localeCompare(b)));
    if (!row || norm(row) !== norm(v)) {
      throw new Error(`manifest.json has no row, or another row, for ${dir}/${name}: run generate.ts instead`);
    }
    fs.writeFileSync(path.join(out, dir, name), data);
    n++;
  });
  console.log(`${n} report vectors rendered again in ${out}`);
}
