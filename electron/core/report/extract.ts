import zlib from "node:zlib";

/**
 * Reads the embedded bundle.json back out of a Custos report, so that
 * `custos verify report.pdf` checks the signed transcript itself and not the
 * printed pages.
 *
 * Limitation, on purpose: this is not a general PDF parser. It follows the
 * real object graph (startxref -> xref table -> trailer /Root -> /Names ->
 * /EmbeddedFiles name tree -> file specification /EF /F -> stream) and
 * inflates /FlateDecode, which is exactly what renderReport writes. It does
 * not read cross-reference streams or object streams (PDF 1.5 compression),
 * encrypted files, or filters other than FlateDecode without predictors; when
 * the xref table is missing or damaged it falls back to scanning for
 * "N G obj" headers. A PDF re-saved by another tool in one of those forms
 * gives null, never a wrong answer: extract the attachment with any PDF tool
 * (`pdfdetach -save 1`) and verify bundle.json directly.
 */

/** Name of the attachment holding the signed transcript bundle. */
export const BUNDLE_ATTACHMENT_NAME = "bundle.json";

type PdfValue =
  | null
  | boolean
  | number
  | { kind: "name"; value: string }
  | { kind: "string"; bytes: Buffer }
  | { kind: "ref"; num: number; gen: number }
  | { kind: "keyword"; value: string }
  | PdfValue[]
  | PdfDict;

interface PdfDict {
  kind: "dict";
  entries: Map<string, PdfValue>;
}

interface PdfObject {
  value: PdfValue;
  /** Raw stream bytes (still encoded), when the object is a stream. */
  stream?: Buffer;
}

const WS = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIM = new Set([0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]);

class Lexer {
  constructor(
    readonly buf: Buffer,
    public pos: number,
  ) {}

  skipSpace(): void {
    const b = this.buf;
    while (this.pos < b.length) {
      const c = b[this.pos]!;
      if (WS.has(c)) this.pos++;
      else if (c === 0x25) {
        // comment to end of line
        while (this.pos < b.length && b[this.pos] !== 0x0a && b[this.pos] !== 0x0d) this.pos++;
      } else break;
    }
  }

  private regular(): string {
    const b = this.buf;
    const start = this.pos;
    while (this.pos < b.length && !WS.has(b[this.pos]!) && !DELIM.has(b[this.pos]!)) this.pos++;
    return b.toString("latin1", start, this.pos);
  }

  /** Parses one value; `N G R` is folded into a reference. */
  value(depth = 0): PdfValue {
    if (depth > 64) throw new Error("nesting too deep");
    this.skipSpace();
    const b = this.buf;
    if (this.pos >= b.length) throw new Error("unexpected end");
    const c = b[this.pos]!;
    if (c === 0x2f) {
      this.pos++;
      const raw = this.regular();
      return { kind: "name", value: raw.replace(/#([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))) };
    }
    if (c === 0x3c && b[this.pos + 1] === 0x3c) {
      this.pos += 2;
      const entries = new Map<string, PdfValue>();
      for (;;) {
        this.skipSpace();
        if (b[this.pos] === 0x3e && b[this.pos + 1] === 0x3e) {
          this.pos += 2;
          return { kind: "dict", entries };
        }
        const key = this.value(depth + 1);
        if (!isName(key)) throw new Error("dictionary key is not a name");
        entries.set(key.value, this.value(depth + 1));
      }
    }
    if (c === 0x3c) {
      this.pos++;
      const end = b.indexOf(0x3e, this.pos);
      if (end < 0) throw new Error("unterminated hex string");
      let hex = b.toString("latin1", this.pos, end).replace(/\s+/g, "");
      this.pos = end + 1;
      if (hex.length % 2) hex += "0";
      return { kind: "string", bytes: Buffer.from(hex, "hex") };
    }
    if (c === 0x28) return this.literal();
    if (c === 0x5b) {
      this.pos++;
      const items: PdfValue[] = [];
      for (;;) {
        this.skipSpace();
        if (b[this.pos] === 0x5d) {
          this.pos++;
          return items;
        }
        items.push(this.value(depth + 1));
      }
    }
    const word = this.regular();
    if (word === "") throw new Error(`unexpected byte ${c}`);
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(word)) {
      const n = Number(word);
      // Look ahead for "gen R".
      if (/^\d+$/.test(word)) {
        const save = this.pos;
        this.skipSpace();
        const gen = this.regular();
        if (/^\d+$/.test(gen)) {
          this.skipSpace();
          if (this.buf[this.pos] === 0x52 && (this.pos + 1 >= b.length || WS.has(b[this.pos + 1]!) || DELIM.has(b[this.pos + 1]!))) {
            this.pos++;
            return { kind: "ref", num: n, gen: Number(gen) };
          }
        }
        this.pos = save;
      }
      return n;
    }
    if (word === "true") return true;
    if (word === "false") return false;
    if (word === "null") return null;
    return { kind: "keyword", value: word };
  }

  private literal(): PdfValue {
    const b = this.buf;
    this.pos++; // (
    const out: number[] = [];
    let depth = 1;
    while (this.pos < b.length) {
      const c = b[this.pos++]!;
      if (c === 0x5c) {
        const n = b[this.pos++];
        if (n === undefined) break;
        const map: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x66: 0x0c };
        if (map[n] !== undefined) out.push(map[n]);
        else if (n >= 0x30 && n <= 0x37) {
          let oct = n - 0x30;
          for (let i = 0; i < 2 && b[this.pos]! >= 0x30 && b[this.pos]! <= 0x37; i++) oct = oct * 8 + (b[this.pos++]! - 0x30);
          out.push(oct & 0xff);
        } else if (n === 0x0d) {
          if (b[this.pos] === 0x0a) this.pos++;
        } else if (n !== 0x0a) out.push(n);
        continue;
      }
      if (c === 0x28) depth++;
      if (c === 0x29 && --depth === 0) return { kind: "string", bytes: Buffer.from(out) };
      out.push(c);
    }
    throw new Error("unterminated string");
  }
}

function isName(v: PdfValue): v is { kind: "name"; value: string } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v.kind === "name";
}
function isDict(v: PdfValue): v is PdfDict {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v.kind === "dict";
}
function isRef(v: PdfValue): v is { kind: "ref"; num: number; gen: number } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v.kind === "ref";
}
function isString(v: PdfValue): v is { kind: "string"; bytes: Buffer } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v.kind === "string";
}

/** PDF text strings: UTF-16BE with a byte-order mark, else PDFDocEncoding (Latin-1 is close enough for file names). */
function textString(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    swapped.swap16();
    return swapped.toString("utf16le");
  }
  return bytes.toString("latin1");
}

class PdfFile {
  private readonly offsets = new Map<number, number>();
  trailer: PdfDict | null = null;

  constructor(readonly buf: Buffer) {
    if (!this.readXrefChain()) this.scanObjects();
  }

  /** Classic xref tables from the last startxref, following /Prev; false if unusable. */
  private readXrefChain(): boolean {
    const tail = this.buf.toString("latin1", Math.max(0, this.buf.length - 2048));
    const m = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(tail);
    if (!m) return false;
    let at: number | undefined = Number(m[1]);
    const seen = new Set<number>();
    try {
      while (at !== undefined && !seen.has(at)) {
        seen.add(at);
        const lx: Lexer = new Lexer(this.buf, at);
        lx.skipSpace();
        if (this.buf.toString("latin1", lx.pos, lx.pos + 4) !== "xref") return false;
        lx.pos += 4;
        for (;;) {
          const v = lx.value();
          if (typeof v !== "number") {
            if (v && typeof v === "object" && !Array.isArray(v) && v.kind === "keyword" && v.value === "trailer") break;
            return false;
          }
          const count = lx.value();
          if (typeof count !== "number") return false;
          lx.skipSpace();
          for (let i = 0; i < count; i++) {
            const line = this.buf.toString("latin1", lx.pos, lx.pos + 20);
            const e = /^(\d{10}) (\d{5}) ([nf])/.exec(line);
            if (!e) return false;
            const num = v + i;
            // Later sections (read first) win over earlier ones.
            if (e[3] === "n" && !this.offsets.has(num)) this.offsets.set(num, Number(e[1]));
            lx.pos += 20;
          }
        }
        const trailer: PdfValue = lx.value();
        if (!isDict(trailer)) return false;
        this.trailer ??= trailer;
        const prev: PdfValue | undefined = trailer.entries.get("Prev");
        at = typeof prev === "number" ? prev : undefined;
      }
    } catch {
      return false;
    }
    return this.trailer !== null;
  }

  /** Fallback: find "N G obj" headers (the last definition wins) and the last trailer. */
  private scanObjects(): void {
    this.offsets.clear();
    const text = this.buf.toString("latin1");
    const re = /(?:^|[\r\n\s])(\d+)\s+(\d+)\s+obj\b/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text))) this.offsets.set(Number(m[1]), m.index + m[0].indexOf(m[1]!));
    const t = text.lastIndexOf("trailer");
    if (t >= 0) {
      try {
        const v = new Lexer(this.buf, t + "trailer".length).value();
        if (isDict(v)) this.trailer = v;
      } catch {
        this.trailer = null;
      }
    }
  }

  /** Reads indirect object `num`, with its raw stream bytes if it has any. */
  object(num: number): PdfObject | null {
    const at = this.offsets.get(num);
    if (at === undefined) return null;
    const lx = new Lexer(this.buf, at);
    const n = lx.value();
    const g = lx.value();
    const kw = lx.value();
    if (n !== num || typeof g !== "number" || !kw || typeof kw !== "object" || Array.isArray(kw) || kw.kind !== "keyword" || kw.value !== "obj") {
      return null;
    }
    const value = lx.value();
    if (!isDict(value)) return { value };
    const save = lx.pos;
    lx.skipSpace();
    if (this.buf.toString("latin1", lx.pos, lx.pos + 6) !== "stream") {
      lx.pos = save;
      return { value };
    }
    let start = lx.pos + 6;
    if (this.buf[start] === 0x0d) start++;
    if (this.buf[start] === 0x0a) start++;
    const len = this.resolve(value.entries.get("Length") ?? null);
    if (typeof len !== "number" || len < 0 || start + len > this.buf.length) return null;
    return { value, stream: this.buf.subarray(start, start + len) };
  }

  /** Follows references (a few levels deep) to a direct value. */
  resolve(v: PdfValue, depth = 0): PdfValue {
    if (!isRef(v) || depth > 8) return v;
    const o = this.object(v.num);
    return o ? this.resolve(o.value, depth + 1) : null;
  }
}

/** Searches a name tree (flat /Names or /Kids) for `key`; returns the value or null. */
function lookupNameTree(pdf: PdfFile, node: PdfValue, key: string, depth = 0): PdfValue {
  const n = pdf.resolve(node);
  if (!isDict(n) || depth > 16) return null;
  const names = pdf.resolve(n.entries.get("Names") ?? null);
  if (Array.isArray(names)) {
    for (let i = 0; i + 1 < names.length; i += 2) {
      const k = pdf.resolve(names[i]!);
      if (isString(k) && textString(k.bytes) === key) return names[i + 1]!;
    }
  }
  const kids = pdf.resolve(n.entries.get("Kids") ?? null);
  if (Array.isArray(kids)) {
    for (const kid of kids) {
      const found = lookupNameTree(pdf, kid, key, depth + 1);
      if (found !== null) return found;
    }
  }
  return null;
}

/** Every key of a name tree, in order (bounded depth, at most 1,000 keys). */
function nameTreeKeys(pdf: PdfFile, node: PdfValue, out: string[], depth = 0): void {
  const n = pdf.resolve(node);
  if (!isDict(n) || depth > 16 || out.length > 1000) return;
  const names = pdf.resolve(n.entries.get("Names") ?? null);
  if (Array.isArray(names)) {
    for (let i = 0; i + 1 < names.length; i += 2) {
      const k = pdf.resolve(names[i]!);
      out.push(isString(k) ? textString(k.bytes) : "?");
    }
  }
  const kids = pdf.resolve(n.entries.get("Kids") ?? null);
  if (Array.isArray(kids)) for (const kid of kids) nameTreeKeys(pdf, kid, out, depth + 1);
}

/** A text string of the document information dictionary (Producer, Title, …), references followed; null if absent. */
export function infoString(input: Uint8Array, key: string): string | null {
  const pdf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  try {
    const file = new PdfFile(pdf);
    if (!file.trailer) return null;
    const info = file.resolve(file.trailer.entries.get("Info") ?? null);
    if (!isDict(info)) return null;
    const v = file.resolve(info.entries.get(key) ?? null);
    return isString(v) ? textString(v.bytes) : null;
  } catch {
    return null;
  }
}

/** Names of every file in the document's EmbeddedFiles name tree; null when the structure cannot be read. */
export function embeddedFileNames(input: Uint8Array): string[] | null {
  const pdf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  try {
    const file = new PdfFile(pdf);
    if (!file.trailer || file.trailer.entries.has("Encrypt")) return null;
    const root = file.resolve(file.trailer.entries.get("Root") ?? null);
    if (!isDict(root)) return null;
    const names = file.resolve(root.entries.get("Names") ?? null);
    const out: string[] = [];
    if (isDict(names)) nameTreeKeys(file, names.entries.get("EmbeddedFiles") ?? null, out);
    return out;
  } catch {
    return null;
  }
}

/** Undoes the stream's filter: none or FlateDecode without predictor; anything else is refused. */
function decodeStream(pdf: PdfFile, dict: PdfDict, raw: Buffer): Buffer | null {
  const filter = pdf.resolve(dict.entries.get("Filter") ?? null);
  const filters = filter === null ? [] : Array.isArray(filter) ? filter : [filter];
  const parms = pdf.resolve(dict.entries.get("DecodeParms") ?? null);
  if (parms !== null && !(Array.isArray(parms) && parms.every((p) => p === null))) return null;
  let data = raw;
  for (const f of filters) {
    if (!isName(f) || (f.value !== "FlateDecode" && f.value !== "Fl")) return null;
    data = zlib.inflateSync(data);
  }
  return data;
}

/** Returns the text of the report's embedded bundle.json, or null when there is none this reader can find. */
export function extractBundleFromPdf(input: Uint8Array): string | null {
  const bytes = extractBundleBytes(input);
  if (!bytes) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** The exact bytes of the embedded bundle.json, or null. */
export function extractBundleBytes(input: Uint8Array): Buffer | null {
  if (!(input instanceof Uint8Array)) return null;
  // A plain Uint8Array (for example from the renderer's IPC) is read the same way.
  const bytes: Uint8Array = input;
  const pdf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (pdf.toString("latin1", 0, 5) !== "%PDF-") return null;
  try {
    const file = new PdfFile(pdf);
    if (!file.trailer || file.trailer.entries.has("Encrypt")) return null;
    const root = file.resolve(file.trailer.entries.get("Root") ?? null);
    if (!isDict(root)) return null;
    const names = file.resolve(root.entries.get("Names") ?? null);
    if (!isDict(names)) return null;
    const spec = file.resolve(lookupNameTree(file, names.entries.get("EmbeddedFiles") ?? null, BUNDLE_ATTACHMENT_NAME));
    if (!isDict(spec)) return null;
    const ef = file.resolve(spec.entries.get("EF") ?? null);
    if (!isDict(ef)) return null;
    const ref = ef.entries.get("F") ?? ef.entries.get("UF") ?? null;
    if (!isRef(ref)) return null;
    const obj = file.object(ref.num);
    if (!obj?.stream || !isDict(obj.value)) return null;
    return decodeStream(file, obj.value, obj.stream);
  } catch {
    // Damaged or unexpected structure: no bundle we can vouch for.
    return null;
  }
}
