/**
 * docs/transcript-format.md §8: a report's pages are bound to the bundle it
 * carries. Custos renders reports reproducibly, so the check is total: the
 * file must be byte for byte what this renderer makes of the attached
 * bundle. When it is not, the first page whose text differs is named (read
 * with poppler's pdftotext, an independent reader), or else the metadata,
 * attachments or drawing.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseBundle } from "../transcript/bundle";
import type { VerifyFailure } from "../transcript/types";
import { BUNDLE_ATTACHMENT_NAME, embeddedFileNames, extractBundleBytes, infoString } from "./extract";
import { REPORT_RENDERER } from "./pdf";
import { renderReport, reportBindingLines } from "./report";
import type { Bundle } from "../transcript/types";

/** §8 structure: one %%EOF (no incremental update) and exactly one embedded file, bundle.json. */
export function extractReportBundle(pdf: Buffer): { bundle: Buffer } | { failure: VerifyFailure } {
  const text = pdf.toString("latin1");
  const eofs = text.match(/%%EOF/g)?.length ?? 0;
  if (eofs !== 1 || !/%%EOF\s*$/.test(text)) {
    return { failure: { code: "REPORT_ATTACHMENTS", reason: `the PDF has ${eofs} end-of-file markers: it was changed by an incremental update after Custos wrote it (or is damaged).` } };
  }
  // pdfdetach also counts file attachment annotations: a report has none.
  if (/\/Subtype\s*\/FileAttachment\b/.test(text)) {
    return { failure: { code: "REPORT_ATTACHMENTS", reason: "the PDF carries a file attachment annotation; a report carries exactly one attachment, bundle.json, in its embedded files." } };
  }
  const names = embeddedFileNames(pdf);
  if (names === null) return { failure: { code: "REPORT_ATTACHMENTS", reason: "the PDF's structure cannot be read by Custos (re-saved by another program?); verify its bundle.json alone (pdfdetach -save 1)." } };
  if (names.length !== 1 || names[0] !== BUNDLE_ATTACHMENT_NAME) {
    return {
      failure: {
        code: "REPORT_ATTACHMENTS",
        reason: names.length === 0 ? "the PDF carries no embedded bundle.json." : `the PDF carries ${names.length} embedded file(s) (${names.join(", ")}); a report carries exactly one, bundle.json.`,
      },
    };
  }
  const bundle = extractBundleBytes(pdf);
  if (!bundle) return { failure: { code: "REPORT_ATTACHMENTS", reason: "the embedded bundle.json cannot be read." } };
  return { bundle };
}

/** The Producer the PDF's information dictionary names, or undefined. */
export function reportProducer(pdf: Buffer): string | undefined {
  return infoString(pdf, "Producer") ?? undefined;
}

/** How long one poppler call may take: a small PDF can nest drawings to make pdftotext run for hours (tests shorten it). */
export const POPPLER_TIMEOUT_MS = Number(process.env.CUSTOS_POPPLER_TIMEOUT_MS) > 0 ? Number(process.env.CUSTOS_POPPLER_TIMEOUT_MS) : 20_000;

function run(cmd: string, args: string[], timeoutMs = POPPLER_TIMEOUT_MS): Promise<{ code: number | null; out: string; timedOut?: boolean }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "ignore"] });
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    p.stdout.on("data", (c: Buffer) => chunks.push(c));
    p.on("error", () => {
      clearTimeout(timer);
      resolve({ code: null, out: "" });
    });
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve(timedOut ? { code: null, out: "", timedOut } : { code, out: Buffer.concat(chunks).toString("utf8") });
    });
  });
}

async function pageCount(file: string): Promise<number | null> {
  const r = await run("pdfinfo", [file]);
  const m = /^Pages:\s+(\d+)/m.exec(r.out);
  return r.code === 0 && m ? Number(m[1]) : null;
}

/** Names the first page whose visible text differs, or describes the difference; never says "same". */
async function describeDifference(given: Buffer, rendered: Buffer): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-report-check-"));
  try {
    const a = path.join(dir, "given.pdf");
    const b = path.join(dir, "rendered.pdf");
    fs.writeFileSync(a, given, { mode: 0o600 });
    fs.writeFileSync(b, rendered, { mode: 0o600 });
    const [na, nb] = await Promise.all([pageCount(a), pageCount(b)]);
    if (na === null || nb === null) return "the file is not what Custos renders from its attached bundle (pages could not be compared one by one: poppler-utils is not installed or the PDF is damaged).";
    for (let page = 1; page <= Math.min(na, nb); page++) {
      const [ta, tb] = await Promise.all([
        run("pdftotext", ["-layout", "-f", String(page), "-l", String(page), a, "-"]),
        run("pdftotext", ["-layout", "-f", String(page), "-l", String(page), b, "-"]),
      ]);
      if (ta.timedOut || tb.timedOut) return `the file is not what Custos renders from its attached bundle, and the text of page ${page} could not be read within ${POPPLER_TIMEOUT_MS / 1000} s (pdftotext was stopped: the page's drawing is built to take that long).`;
      if (ta.out !== tb.out) {
        // Compare words, not layout: the first line whose words differ is what the reader sees changed.
        const norm = (t: string) => t.split("\n").map((l) => l.trim().replace(/\s+/g, " ")).filter((l) => l.length > 0);
        const la = norm(ta.out);
        const lb = norm(tb.out);
        let k = 0;
        while (k < la.length && la[k] === lb[k]) k++;
        if (k === la.length && k === lb.length) return `page ${page} has the words Custos renders from the attached bundle, but they are laid out differently (the page was edited).`;
        const shown = (la[k] ?? "(nothing)").slice(0, 100);
        const wanted = (lb[k] ?? "(nothing)").slice(0, 100);
        return `page ${page} does not show what Custos renders from the attached bundle: it reads "${shown}" where the bundle gives "${wanted}".`;
      }
    }
    if (na !== nb) return `the PDF has ${na} pages; Custos renders ${nb} from the attached bundle.`;
    return "every page reads as Custos renders it, but the file differs in its metadata, attachments or drawing (it was edited or re-saved).";
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** §8: the binding lines the bundle gives that page 1 does not show (pdftotext), null when pdftotext is missing, "timed-out" when it ran too long. */
async function missingBindingLines(pdf: Buffer, bundle: Bundle): Promise<string[] | null | "timed-out"> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-report-lines-"));
  try {
    const file = path.join(dir, "report.pdf");
    fs.writeFileSync(file, pdf, { mode: 0o600 });
    const r = await run("pdftotext", ["-f", "1", "-l", "1", file, "-"]);
    if (r.timedOut) return "timed-out";
    if (r.code !== 0) return null;
    const lines = new Set(r.out.split(/\r?\n/).map((l) => l.trim()));
    return reportBindingLines(bundle).filter((l) => !lines.has(l));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** §8: undefined when the PDF is exactly Custos's rendering of the bundle; else a REPORT_MISMATCH naming the page. */
export async function checkReportBinding(pdf: Buffer, bundleText: string): Promise<VerifyFailure | undefined> {
  const bundle = parseBundle(bundleText);
  // The whole-file comparison first: a report Custos rendered needs no outside reader at all, and a
  // crafted one (drawings nested to make pdftotext run for hours) only meets poppler with a time limit.
  const rendered = reportProducer(pdf) === REPORT_RENDERER ? await renderReport(bundle) : undefined;
  if (rendered?.equals(pdf)) return undefined;
  const missing = await missingBindingLines(pdf, bundle);
  if (missing === "timed-out") {
    return { code: "REPORT_MISMATCH", reason: `the file is not what Custos renders from its attached bundle, and page 1 could not be read within ${POPPLER_TIMEOUT_MS / 1000} s (pdftotext was stopped: the page's drawing is built to take that long).` };
  }
  if (missing && missing.length) {
    return { code: "REPORT_MISMATCH", reason: `page 1 does not show the binding line "${missing[0]}" that the attached bundle gives (the cover was changed, or belongs to another transcript).` };
  }
  const producer = reportProducer(pdf);
  if (producer !== REPORT_RENDERER) {
    return {
      code: "REPORT_MISMATCH",
      reason: `the report names its renderer as "${producer ?? "(none)"}", but this Custos renders "${REPORT_RENDERER}": verify it with the Custos that made it, or verify its bundle.json alone (pdfdetach -save 1).`,
    };
  }
  return { code: "REPORT_MISMATCH", reason: await describeDifference(pdf, rendered ?? (await renderReport(bundle))) };
}
