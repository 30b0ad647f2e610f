import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rehearse } from "../../electron/core/rehearse/rehearse";
import { readRehearsalShare } from "../../electron/core/rehearse/simulated-room";
import { decodeShare } from "../../electron/core/shares";
import { ROOT, custos, tool } from "../helpers/files";

const SCRIPT = path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml");
let dir: string;
let a: string;
let b: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-report-"));
  a = path.join(dir, "a");
  b = path.join(dir, "b");
  await rehearse({ scriptPath: SCRIPT, outDir: a });
  await rehearse({ scriptPath: SCRIPT, outDir: b, custodians: 3, threshold: 2 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("ceremony report that verifies itself", () => {
  it("passes qpdf --check, embeds only its own fonts, carries bundle.json, and verifies from the PDF alone", () => {
    const pdf = path.join(a, "report.pdf");
    expect(tool("qpdf", ["--check", pdf])).toMatch(/No syntax or stream encoding errors/);
    const fonts = tool("pdffonts", [pdf]).split("\n").slice(2).filter(Boolean);
    expect(fonts.length).toBeGreaterThan(0);
    for (const f of fonts) expect(f, f).toMatch(/\byes\s+yes\s+(yes|no)\s+\d+\s+\d+\s*$/); // emb yes, sub yes
    expect(tool("pdfdetach", ["-list", pdf])).toContain("bundle.json");
    const r = custos(["verify", pdf]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("every page and the metadata are exactly what Custos renders from the attached bundle");
  });

  it("renders every page of the report and a share card to PNG, kept as test artifacts for a person to look at", () => {
    const out = path.join(ROOT, "test-results", "report-pages");
    fs.mkdirSync(out, { recursive: true });
    tool("pdftoppm", ["-r", "80", "-png", path.join(a, "report.pdf"), path.join(out, "report")]);
    tool("pdftoppm", ["-r", "80", "-png", "-singlefile", path.join(a, "share-cards", fs.readdirSync(path.join(a, "share-cards")).sort()[0]!), path.join(out, "share-card-1")]);
    const pages = Number(/Pages:\s+(\d+)/.exec(tool("pdfinfo", [path.join(a, "report.pdf")]))![1]);
    expect(fs.readdirSync(out).filter((f) => f.startsWith("report")).length).toBeGreaterThanOrEqual(pages);
  });

  it("prints the final head on one page for the wet signatures, as hex, words and a QR code that decodes to it", () => {
    const bundle = JSON.parse(fs.readFileSync(path.join(a, "bundle.json"), "utf8")) as { head: string };
    const sheet = path.join(a, "final-head.pdf");
    expect(tool("pdfinfo", [sheet])).toMatch(/Pages:\s+1\n/);
    expect(tool("pdftotext", [sheet, "-"]).replace(/\s+/g, " ")).toContain(bundle.head);
    tool("pdftoppm", ["-r", "150", "-png", "-singlefile", sheet, path.join(dir, "final-head")]);
    expect(tool("zbarimg", ["-q", "--raw", path.join(dir, "final-head.png")]).trim()).toBe(bundle.head);
    // The report carries the same page last, and says which value to pass to --expect-head.
    const report = tool("pdftotext", [path.join(a, "report.pdf"), "-"]).replace(/\s+/g, " ");
    expect(report).toMatch(new RegExp(`Final head for --expect-? ?head ${bundle.head}`)); // pdftotext may drop the hyphen at a line break
    expect(report).toContain(`Final head of the transcript (give it to custos verify --expect-head): ${bundle.head}`);
  });

  it("exits 1 when the attachment is swapped for another intact bundle (the printed head no longer matches)", () => {
    const swapped = path.join(dir, "swapped.pdf");
    tool("qpdf", [path.join(a, "report.pdf"), "--remove-attachment=bundle.json", "--add-attachment", path.join(b, "bundle.json"), "--key=bundle.json", "--", swapped]);
    expect(custos(["verify", path.join(b, "bundle.json")]).status).toBe(0);
    const r = custos(["verify", swapped]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    // The cover's binding lines (§8 rule 3) name the other ceremony before any re-rendering is needed.
    expect(r.stdout).toMatch(/REPORT_MISMATCH: page 1 does not show the binding line "ceremony: [^"]+" that the attached bundle gives/);
  });

  it("exits 1 when the attached bundle is altered, naming the entry", () => {
    const text = fs.readFileSync(path.join(a, "bundle.json"), "utf8").replace(/"REH-(\d)/, '"REX-$1');
    const altered = path.join(dir, "altered-bundle.json");
    fs.writeFileSync(altered, text);
    const pdf = path.join(dir, "altered.pdf");
    tool("qpdf", [path.join(a, "report.pdf"), "--remove-attachment=bundle.json", "--add-attachment", altered, "--key=bundle.json", "--", pdf]);
    const r = custos(["verify", pdf]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/NOT INTACT — BODY_HASH_MISMATCH: entry \d+ \(step '/);
  });

  it("custos report re-renders the same bytes, twice, and the same as the rehearsal's report", () => {
    const one = path.join(dir, "one.pdf");
    const two = path.join(dir, "two.pdf");
    expect(custos(["report", path.join(a, "transcript.sqlite"), "--out", one]).status).toBe(0);
    expect(custos(["report", path.join(a, "transcript.sqlite"), "--out", two]).status).toBe(0);
    expect(fs.readFileSync(one).equals(fs.readFileSync(two))).toBe(true);
    expect(fs.readFileSync(one).equals(fs.readFileSync(path.join(a, "report.pdf")))).toBe(true);
    const e1 = path.join(dir, "e1.json");
    expect(custos(["export", path.join(a, "transcript.sqlite"), "--out", e1]).status).toBe(0);
    expect(fs.readFileSync(e1, "utf8")).toBe(fs.readFileSync(path.join(a, "bundle.json"), "utf8"));
  });

  it("share cards: qpdf clean, embedded fonts, the QR decodes to the share, and the words recover the same share", () => {
    const cards = fs.readdirSync(path.join(a, "share-cards")).sort();
    const texts = fs.readdirSync(path.join(a, "shares")).sort();
    expect(cards).toHaveLength(5);
    for (const [i, card] of cards.entries()) {
      const pdf = path.join(a, "share-cards", card);
      expect(tool("qpdf", ["--check", pdf])).toMatch(/No syntax or stream encoding errors/);
      for (const f of tool("pdffonts", [pdf]).split("\n").slice(2).filter(Boolean)) expect(f).toMatch(/\byes\s+yes\s+(yes|no)\s+\d+\s+\d+\s*$/);
      const base = path.join(dir, `card-${i}`);
      tool("pdftoppm", ["-r", "150", "-png", "-singlefile", pdf, base]);
      const hex = tool("zbarimg", ["-q", "--raw", `${base}.png`]).trim();
      const words = readRehearsalShare(path.join(a, "shares", texts[i]!));
      const fromWords = decodeShare(words);
      const fromQr = decodeShare(hex);
      expect(Buffer.from(fromQr.share).equals(Buffer.from(fromWords.share))).toBe(true);
      expect(fromQr.index).toBe(i + 1);
      // The card names this share only: no other share's words are on it.
      const text = tool("pdftotext", ["-layout", pdf, "-"]);
      const others = texts.filter((_, j) => j !== i).map((t) => readRehearsalShare(path.join(a, "shares", t)).split(" ").slice(0, 4).join(" "));
      for (const o of others) expect(text.replace(/\s+\d+\.\s+/g, " ")).not.toContain(o);
    }
  });
});

describe("a crafted report that makes poppler run for hours", () => {
  it("is NOT INTACT within the time limit, and no pdftotext is left running", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "custos-pdf-bomb-"));
    try {
      const bomb = path.join(work, "bomb.report.pdf");
      // 10 levels of 10 nested drawings on page 1 (10^10 operations), a genuine bundle attached: 35 KB.
      tool("python3", [path.join(ROOT, "test", "helpers", "pdf-drawing-bomb.py"), path.join(ROOT, "test", "vectors", "valid", "generation.bundle.json"), bomb, "10", "10"]);
      expect(fs.statSync(bomb).size).toBeLessThan(100_000);
      const r = custos(["verify", bomb], { CUSTOS_POPPLER_TIMEOUT_MS: "1500" });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stdout).toMatch(/REPORT_MISMATCH: the file is not what Custos renders from its attached bundle, and page 1 could not be read within 1\.5 s/);
      expect(tool("ps", ["-eo", "args"]).split("\n").filter((l) => l.includes(bomb) && !l.includes("custos.js"))).toEqual([]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 60_000);
});
