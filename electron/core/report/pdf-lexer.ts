/**
 * The PDF syntax the report reader understands: values (names, strings,
 * numbers, arrays, dictionaries, references, keywords) read from the bytes by
 * a small lexer, and text strings decoded. Only what extract.ts needs.
 */

export type PdfValue =
  | null
  | boolean
  | number
  | { kind: "name"; value: string }
  | { kind: "string"; bytes: Buffer }
  | { kind: "ref"; num: number; gen: number }
  | { kind: "keyword"; value: string }
  | PdfValue[]
  | PdfDict;

export interface PdfDict {
  kind: "dict";
  entries: Map<string, PdfValue>;
}

const WS = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIM = new Set([0x28, 0x29, 0x3c, 0x3e, 0x5b, 0x5d, 0x7b, 0x7d, 0x2f, 0x25]);

export class Lexer {
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

export function isName(v: PdfValue): v is { kind: "name"; value: string } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v.kind === "name";
}
export function isDict(v: PdfValue): v is PdfDict {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v.kind === "dict";
}
export function isRef(v: PdfValue): v is { kind: "ref"; num: number; gen: number } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v.kind === "ref";
}
export function isString(v: PdfValue): v is { kind: "string"; bytes: Buffer } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && v.kind === "string";
}

/** PDF text strings: UTF-16BE with a byte-order mark, else PDFDocEncoding (Latin-1 is close enough for file names). */
export function textString(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    swapped.swap16();
    return swapped.toString("utf16le");
  }
  return bytes.toString("latin1");
}
