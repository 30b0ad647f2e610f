/**
 * A PDF file's indirect objects, found through its classic cross-reference
 * tables (following /Prev) or, when those are missing or damaged, by scanning
 * for "N G obj" headers; references followed to direct values.
 */
import { Lexer, isDict, isRef, type PdfDict, type PdfValue } from "./pdf-lexer";

export interface PdfObject {
  value: PdfValue;
  /** Raw stream bytes (still encoded), when the object is a stream. */
  stream?: Buffer;
}

export class PdfFile {
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
