import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import PDFDocument from "pdfkit";
import QRCode from "qrcode";
import { CustosError } from "../errors";

/**
 * What every Custos PDF shares: embedded DejaVu fonts (no built-in Helvetica,
 * so the document renders the same everywhere and can claim PDF/A), A4, a
 * PDF/A-3b subset, tagging, fixed metadata and a deterministic /ID, so the same
 * input always gives the same bytes and a reprint can be compared with `cmp`.
 */

/**
 * The fonts come from the npm package dejavu-fonts-ttf, pinned in the lock
 * file, never from the system: a report must render to the same bytes on any
 * machine so `custos verify report.pdf` can compare it with its own rendering
 * (docs/transcript-format.md §8). CUSTOS_FONT_DIR overrides it for packaging.
 */
function packagedFontDir(): string {
  const here = typeof __filename === "string" ? __filename : fileURLToPath(import.meta.url);
  try {
    return path.join(path.dirname(createRequire(here).resolve("dejavu-fonts-ttf/package.json")), "ttf");
  } catch {
    return path.join(path.dirname(here), "fonts");
  }
}

/** Where the DejaVu TTF files are read from. */
export const DEJAVU_DIR = process.env.CUSTOS_FONT_DIR ?? packagedFontDir();

/** Registered font names used by every Custos PDF. */
export const FONT = { sans: "Sans", bold: "Sans-Bold", mono: "Mono" } as const;

const FONT_FILES: Record<keyof typeof FONT, string> = {
  sans: "DejaVuSans.ttf",
  bold: "DejaVuSans-Bold.ttf",
  mono: "DejaVuSansMono.ttf",
};

/** A4 in PostScript points. */
export const A4 = { width: 595.28, height: 841.89 } as const;

/** Page margins; the bottom one leaves room for the footer drawn under it. */
export const MARGIN = { top: 56, bottom: 64, left: 56, right: 56 } as const;

/**
 * Producer and Creator are fixed so that two renders of one transcript match
 * byte for byte. The renderer version changes whenever the layout does: a
 * report is bound to the renderer that made it (§8).
 */
export const REPORT_RENDERER = "Custos report renderer 3 (transcript format 2, pdfkit, DejaVu 2.37)";
const PRODUCER = REPORT_RENDERER;
const CREATOR = "Custos";

/** Colours used on every document; the rehearsal ones are deliberately loud. */
export const COLOR = {
  text: "#111111",
  muted: "#555555",
  rule: "#999999",
  rehearsal: "#b00020",
  watermark: "#b00020",
  band: "#eeeeee",
} as const;

/** Paths of the three DejaVu font files; a CustosError if any is missing. */
export function fontPaths(dir = DEJAVU_DIR): Record<keyof typeof FONT, string> {
  const out = {} as Record<keyof typeof FONT, string>;
  for (const key of Object.keys(FONT_FILES) as Array<keyof typeof FONT>) {
    const file = path.join(dir, FONT_FILES[key]);
    if (!fs.existsSync(file)) {
      throw new CustosError(
        "REPORT_FONT_MISSING",
        `The font ${FONT_FILES[key]} was not found in ${dir}; Custos embeds it in every PDF it prints.`,
        "Reinstall Custos (the fonts come with its npm package dejavu-fonts-ttf), or set CUSTOS_FONT_DIR to a folder holding the DejaVu 2.37 TTF files.",
      );
    }
    out[key] = file;
  }
  return out;
}

/** fontkit fonts already parsed, by file path; see openDoc. */
const parsedFonts = new Map<string, object>();

/** Options for a new Custos document. */
export interface DocOptions {
  title: string;
  subject: string;
  keywords?: string;
  /** Creation and modification date written into the PDF (never the wall clock). */
  date: Date;
  /** Bytes the /ID is derived from: anything that identifies the content. */
  idSeed: string | Buffer;
}

/** A document plus a promise of its bytes once `doc.end()` has been called. */
export interface OpenDoc {
  doc: PDFKit.PDFDocument;
  bytes: Promise<Buffer>;
}

/** pdfkit writes Title into XMP unescaped: keep XML metacharacters out of it. */
function xmpSafe(s: string): string {
  return s.replace(/&/g, "and").replace(/[<>]/g, "").replace(/[\u0000-\u001f]/g, " ");
}

/**
 * Creates an A4 document with the Custos fonts registered and selected and
 * the metadata fixed. pdfkit derives /ID from the info dictionary and the
 * clock-free CreationDate we pass, but we replace it outright with a hash of
 * the caller's seed: the identity of the document is then its content, by
 * construction, whatever pdfkit's internals do in a later version.
 */
export function openDoc(opts: DocOptions): OpenDoc {
  const fonts = fontPaths();
  const title = xmpSafe(opts.title);
  const doc = new PDFDocument({
    size: "A4",
    margins: { ...MARGIN },
    bufferPages: true,
    autoFirstPage: false,
    // No default font: pdfkit would otherwise load Helvetica, and a default
    // DejaVu given by path makes pdfkit re-open the font on every later
    // doc.font("Sans") (it dedups by PostScript name without caching the alias).
    font: null as unknown as string,
    pdfVersion: "1.7",
    subset: "PDF/A-3b",
    tagged: true,
    lang: "en",
    displayTitle: true,
    info: {
      Title: title,
      Subject: xmpSafe(opts.subject),
      ...(opts.keywords ? { Keywords: xmpSafe(opts.keywords) } : {}),
      Producer: PRODUCER,
      Creator: CREATOR,
      CreationDate: opts.date,
      ModDate: opts.date,
    },
  });
  const seed = typeof opts.idSeed === "string" ? Buffer.from(opts.idSeed, "utf8") : opts.idSeed;
  const id = crypto.createHash("sha256").update("custos-pdf-id\n").update(seed).digest().subarray(0, 16);
  (doc as unknown as { _id: Uint8Array })._id = new Uint8Array(id);
  // XMP should carry the same modification date as the info dictionary (PDF/A).
  const iso = opts.date.toISOString().replace(/\.\d{3}Z$/, "Z");
  (doc as unknown as { appendXML(xml: string): void }).appendXML(
    `\n        <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">\n` +
      `            <xmp:ModifyDate>${iso}</xmp:ModifyDate>\n` +
      `            <xmp:MetadataDate>${iso}</xmp:MetadataDate>\n` +
      `        </rdf:Description>\n`,
  );
  for (const key of Object.keys(FONT) as Array<keyof typeof FONT>) {
    doc.registerFont(FONT[key], (parsedFonts.get(fonts[key]) ?? fonts[key]) as string);
    doc.font(FONT[key]);
    // Parsing DejaVu takes most of a render; pdfkit accepts an already parsed
    // fontkit font, so keep the first one (immutable apart from its own caches).
    const parsed = (doc as unknown as { _font?: { font?: { layout?: unknown } } })._font?.font;
    if (!parsedFonts.has(fonts[key]) && typeof parsed?.layout === "function") parsedFonts.set(fonts[key], parsed);
  }
  doc.font(FONT.sans);

  const chunks: Buffer[] = [];
  const bytes = new Promise<Buffer>((resolve, reject) => {
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
  return { doc, bytes };
}

/**
 * Runs `draw` as an Artifact (page furniture a screen reader skips) with the
 * bottom margin lifted, so text under the body area does not start a new page.
 */
export function asArtifact(
  doc: PDFKit.PDFDocument,
  draw: () => void,
  type: "Pagination" | "Layout" = "Pagination",
): void {
  const x = doc.x;
  const y = doc.y;
  const bottom = doc.page.margins.bottom;
  doc.page.margins.bottom = 0;
  doc.markContent("Artifact", { type });
  doc.save();
  try {
    draw();
  } finally {
    doc.restore();
    doc.endMarkedContent();
    doc.page.margins.bottom = bottom;
    doc.x = x;
    doc.y = y;
  }
}

/** A large, light, diagonal word across the page; drawn first so content sits on top. */
export function drawWatermark(doc: PDFKit.PDFDocument, word: string): void {
  asArtifact(doc, () => {
    const { width, height } = doc.page;
    const size = 110;
    doc.font(FONT.bold).fontSize(size);
    const w = doc.widthOfString(word);
    doc.fillColor(COLOR.watermark).fillOpacity(0.08);
    doc.rotate(-50, { origin: [width / 2, height / 2] });
    doc.text(word, width / 2 - w / 2, height / 2 - size * 0.6, { lineBreak: false });
  });
  doc.font(FONT.sans).fillColor(COLOR.text).fillOpacity(1);
}

/** How one run of text is set. */
export interface TextStyle {
  font?: keyof typeof FONT;
  size?: number;
  color?: string;
  x?: number;
  y?: number;
  width?: number;
  align?: "left" | "center" | "right";
  lineGap?: number;
  /** Structure type for the tag tree: headings for navigation, P for the rest. */
  tag?: "P" | "H1" | "H2" | "H3";
}

/**
 * Writes tagged text (every run becomes a structure element under one
 * Document element, so a screen reader or a text extractor gets the reading
 * order) and keeps page breaks under the caller's control.
 */
export class Pen {
  /** Root of the structure tree. */
  readonly root: PDFKit.PDFStructureElement;
  /** Printed at the top of a page that continues a block, so no page starts out of context. */
  continuation: string | null = null;
  constructor(readonly doc: PDFKit.PDFDocument) {
    this.root = doc.struct("Document");
    doc.addStructure(this.root);
  }

  /** Left edge of the body area. */
  get left(): number {
    return MARGIN.left;
  }
  /** Width of the body area. */
  get width(): number {
    return this.doc.page.width - MARGIN.left - MARGIN.right;
  }
  /** Lowest y the body may reach. */
  get bottom(): number {
    return this.doc.page.height - MARGIN.bottom;
  }

  /** Selects font, size and colour without writing. */
  style(s: TextStyle): this {
    this.doc.font(FONT[s.font ?? "sans"]).fontSize(s.size ?? 10).fillColor(s.color ?? COLOR.text);
    return this;
  }

  /** Height `text` would take in style `s`. */
  measure(text: string, s: TextStyle): number {
    this.style(s);
    return this.doc.heightOfString(text, {
      width: s.width ?? this.width,
      align: s.align,
      lineGap: s.lineGap ?? 1,
    });
  }

  /** Writes text at (x, y) or at the cursor; returns the y below it. */
  text(text: string, s: TextStyle = {}): number {
    this.style(s);
    const x = s.x ?? this.left;
    const y = s.y ?? this.doc.y;
    this.doc.text(text, x, y, {
      width: s.width ?? this.width,
      align: s.align,
      lineGap: s.lineGap ?? 1,
      structParent: this.root,
      structType: s.tag ?? "P",
    });
    const after = this.doc.y;
    this.doc.x = this.left;
    this.style({});
    return after;
  }

  /** Starts a new page when fewer than `h` points are left. */
  ensure(h: number): void {
    if (this.doc.y + h > this.bottom) this.newPage();
  }

  /** Adds a page and puts the cursor at the top of its body. */
  newPage(): void {
    this.doc.addPage();
    this.doc.x = this.left;
    this.doc.y = MARGIN.top;
    if (this.continuation) {
      this.text(this.continuation, { font: "bold", size: 9, color: COLOR.muted });
      this.gap(6);
    }
  }

  /** Moves the cursor down. */
  gap(h: number): void {
    this.doc.y += h;
  }

  /** A thin horizontal rule across the body at the cursor. */
  rule(color: string = COLOR.rule, weight = 0.5): void {
    const y = this.doc.y;
    asArtifact(
      this.doc,
      () => {
        this.doc.moveTo(this.left, y).lineTo(this.left + this.width, y).lineWidth(weight).strokeColor(color).stroke();
      },
      "Layout",
    );
  }

  /** A full-width red band with white text on one line, for the rehearsal warning; returns the y below it. */
  banner(text: string, y: number, height = 46, size = 17): number {
    const x = this.left;
    const w = this.width;
    let fit = size;
    this.style({ font: "bold", size: fit });
    while (fit > 9 && this.doc.widthOfString(text) > w - 20) this.style({ font: "bold", size: (fit -= 0.5) });
    asArtifact(this.doc, () => this.doc.rect(x, y, w, height).fill(COLOR.rehearsal), "Layout");
    const th = this.measure(text, { font: "bold", size: fit, width: w - 20, align: "center" });
    this.text(text, { font: "bold", size: fit, color: "#ffffff", x: x + 10, y: y + (height - th) / 2 + 1, width: w - 20, align: "center" });
    this.doc.y = y + height;
    return y + height;
  }
}

/** "2025-03-14T09:30:00.000Z" -> "2025-03-14 09:30:00 UTC"; other strings as they are. */
export function humanTime(iso: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return iso || "—";
  return d.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
}

/** The first valid date among the candidates, else the Unix epoch (never the clock). */
export function firstValidDate(...candidates: Array<string | undefined>): Date {
  for (const c of candidates) {
    if (!c) continue;
    const d = new Date(c);
    if (!Number.isNaN(d.getTime())) return new Date(Math.floor(d.getTime() / 1000) * 1000);
  }
  return new Date(0);
}

/**
 * A vector QR code as a tagged Figure: one rectangle per horizontal dark run
 * keeps the drawing small and free of hairline gaps between modules.
 */
export function drawQrFigure(
  doc: PDFKit.PDFDocument,
  root: { add(el: unknown): unknown },
  text: string,
  at: { x: number; y: number; size: number; quiet?: number },
  alt: string,
): void {
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  const n = qr.modules.size;
  const quiet = at.quiet ?? 4;
  const m = at.size / (n + 2 * quiet);
  const figure = doc.struct("Figure", { alt }, [
    () => {
      doc.save();
      doc.rect(at.x, at.y, at.size, at.size).fill("#ffffff");
      for (let r = 0; r < n; r++) {
        let c = 0;
        while (c < n) {
          if (!qr.modules.get(r, c)) {
            c++;
            continue;
          }
          const start = c;
          while (c < n && qr.modules.get(r, c)) c++;
          doc.rect(at.x + (quiet + start) * m, at.y + (quiet + r) * m, (c - start) * m, m);
        }
      }
      doc.fill("#000000");
      doc.restore();
    },
  ]);
  root.add(figure);
}
