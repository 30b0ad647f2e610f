import zlib from "node:zlib";
import { PdfFile } from "./pdf-file";
import { isDict, isName, isRef, isString, textString, type PdfDict, type PdfValue } from "./pdf-lexer";

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