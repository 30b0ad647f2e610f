/**
 * Building blocks of the report's pages: labelled rows, grey notes, tables
 * and the facts of an entry. Every size here is at least 9 pt: the report is
 * read on paper, at arm's length, by people checking it line by line.
 */
import type { Fact, Cell } from "./facts";
import { COLOR, Pen, asArtifact } from "./pdf";

/** How a labelled row is set. */
export interface KeyValueStyle {
  labelWidth?: number;
  font?: "sans" | "mono" | "bold";
  size?: number;
  labelSize?: number;
  labelFont?: "sans" | "mono" | "bold";
  indent?: number;
  color?: string;
}

/** A label on the left, a wrapped value on the right; moves to a new page rather than split the pair. */
export function keyValue(pen: Pen, label: string, value: string, s: KeyValueStyle = {}): void {
  const indent = s.indent ?? 0;
  const lw = (s.labelWidth ?? 120) - indent;
  const x = pen.left + indent;
  const vx = x + lw + 8;
  const vw = pen.left + pen.width - vx;
  const labelStyle = { font: s.labelFont ?? ("sans" as const), size: s.labelSize ?? 9, color: COLOR.muted, width: lw };
  const valueStyle = { font: s.font ?? ("sans" as const), size: s.size ?? 9.5, width: vw, color: s.color };
  const h = Math.max(pen.measure(label, labelStyle), pen.measure(value, valueStyle));
  pen.ensure(h);
  const y = pen.doc.y;
  // Baselines line up when label and value differ in size.
  const dy = Math.max(0, (valueStyle.size - labelStyle.size) * 0.8);
  pen.text(label, { ...labelStyle, x, y: y + dy });
  pen.text(value, { ...valueStyle, x: vx, y });
  pen.doc.y = y + h;
}

/** A grey box with explanatory text. */
export function note(pen: Pen, text: string, size = 9.5): void {
  const pad = 10;
  const style = { size, width: pen.width - 2 * pad };
  const h = pen.measure(text, style) + 2 * pad;
  pen.ensure(h);
  const y = pen.doc.y;
  asArtifact(pen.doc, () => pen.doc.rect(pen.left, y, pen.width, h).fill(COLOR.band), "Layout");
  pen.text(text, { ...style, x: pen.left + pad, y: y + pad });
  pen.doc.y = y + h;
}

/** Width of the label column of an entry's facts. */
const LABEL_WIDTH = 124;
const INDENT = 12;
const CELL_PAD = 4;
const SIZE = 9.5;
const MONO_SIZE = 9;

/** Column widths that fit `avail`: each column its natural width, the widest capped first. */
function fitColumns(natural: number[], avail: number): number[] {
  const sum = natural.reduce((a, b) => a + b, 0);
  if (sum <= avail) return natural.map((w) => w + (avail - sum) / natural.length);
  let lo = 0;
  let hi = Math.max(...natural);
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (natural.reduce((a, w) => a + Math.min(w, mid), 0) > avail) hi = mid;
    else lo = mid;
  }
  const capped = natural.map((w) => Math.min(w, lo));
  const rest = avail - capped.reduce((a, b) => a + b, 0);
  return capped.map((w) => w + rest / natural.length);
}

function cellStyle(c: Cell, width: number) {
  return { font: c.mono ? ("mono" as const) : ("sans" as const), size: c.mono ? MONO_SIZE : SIZE, width };
}

/** Each column's width with no cell wrapped. */
function naturalWidths(pen: Pen, columns: string[], rows: Cell[][]): number[] {
  return columns.map((title, i) => {
    pen.style({ font: "bold", size: 9 });
    let w = pen.doc.widthOfString(title);
    for (const r of rows) {
      const c = r[i];
      if (!c) continue;
      pen.style(cellStyle(c, 0));
      for (const line of c.text.split("\n")) w = Math.max(w, pen.doc.widthOfString(line));
    }
    return w + 2 * CELL_PAD + 1;
  });
}

/** Width of a table whose cells are not wrapped. */
function tableWidth(pen: Pen, columns: string[], rows: Cell[][]): number {
  return naturalWidths(pen, columns, rows).reduce((a, b) => a + b, 0);
}

/** A table with a header row, repeated on a new page; cells wrap. */
export function table(pen: Pen, columns: string[], rows: Cell[][], indent = 0, fixed?: number[]): void {
  const doc = pen.doc;
  const x0 = pen.left + indent;
  const avail = pen.width - indent;
  const natural = (): number[] => naturalWidths(pen, columns, rows);
  // Fixed widths (0: the rest) spare measuring every cell of a long table.
  const widths = fixed ? fixed.map((w) => w || avail - fixed.reduce((a, b) => a + b, 0)) : fitColumns(natural(), avail);
  const header = (): void => {
    const hh = Math.max(...columns.map((t, i) => pen.measure(t, { font: "bold", size: 9, width: widths[i]! - 2 * CELL_PAD })));
    pen.ensure(hh + 20);
    const y = doc.y;
    let x = x0;
    columns.forEach((t, i) => {
      pen.text(t, { font: "bold", size: 9, x: x + CELL_PAD, y, width: widths[i]! - 2 * CELL_PAD });
      x += widths[i]!;
    });
    doc.y = y + hh + 2;
    ruleAt(pen, x0, avail, COLOR.text, 0.7);
    doc.y += 2;
  };
  header();
  for (const r of rows) {
    const h = Math.max(...r.map((c, i) => pen.measure(c.text, cellStyle(c, widths[i]! - 2 * CELL_PAD)))) + 3;
    if (doc.y + h > pen.bottom) {
      pen.newPage();
      header();
    }
    const y = doc.y;
    let x = x0;
    r.forEach((c, i) => {
      pen.text(c.text, { ...cellStyle(c, widths[i]! - 2 * CELL_PAD), x: x + CELL_PAD, y: y + 1 });
      x += widths[i]!;
    });
    doc.y = y + h;
    ruleAt(pen, x0, avail, COLOR.rule, 0.4);
    doc.y += 1;
  }
}

function ruleAt(pen: Pen, x: number, w: number, color: string, weight: number): void {
  const y = pen.doc.y;
  asArtifact(pen.doc, () => pen.doc.moveTo(x, y).lineTo(x + w, y).lineWidth(weight).strokeColor(color).stroke(), "Layout");
}

/** An entry's facts: labelled rows, indented groups and tables. */
export function renderFacts(pen: Pen, facts: Fact[]): void {
  for (const f of facts) {
    const indent = f.depth * INDENT;
    if (f.kind === "row") {
      keyValue(pen, f.label, f.value.text, { labelWidth: LABEL_WIDTH, indent, font: f.value.mono ? "mono" : "sans", size: f.value.mono ? MONO_SIZE : SIZE });
      pen.gap(2.5);
    } else if (f.kind === "head") {
      pen.ensure(30);
      pen.text(f.label, { font: "bold", size: 9, color: COLOR.muted, x: pen.left + indent });
      pen.gap(2);
    } else if (tableWidth(pen, f.columns, f.rows) > (pen.width - indent) * 1.1) {
      // Too wide to read as a table (long hashes side by side): one group of rows per item.
      f.rows.forEach((r, i) => {
        pen.ensure(30);
        pen.text(`${f.label} ${i + 1}`, { font: "bold", size: 9, color: COLOR.muted, x: pen.left + indent });
        pen.gap(2);
        r.forEach((c, j) => {
          keyValue(pen, f.columns[j]!, c.text, { labelWidth: LABEL_WIDTH, indent: indent + INDENT, font: c.mono ? "mono" : "sans", size: c.mono ? MONO_SIZE : SIZE });
          pen.gap(2.5);
        });
      });
    } else {
      pen.ensure(64);
      pen.text(f.label, { font: "bold", size: 9, color: COLOR.muted, x: pen.left + indent });
      pen.gap(2);
      table(pen, f.columns, f.rows, indent);
      pen.gap(4);
    }
  }
}
