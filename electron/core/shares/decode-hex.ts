/**
 * The hex form read back (QR code, rehearsal files): a payload, or an error
 * that names a wrong character, a wrong length or another format version.
 */
import { CustosError } from "../errors";
import { HEADER_BYTES, KEK_SHARE_BYTES, MAX_SHARE_BYTES, MIN_SHARE_BYTES, OVERHEAD_BYTES, isOtherVersion, otherVersionError, keyOf, payloadFlaw, tagOf } from "./payload";
import { narrow } from "./repair";

export function decodeHex(compact: string, expectedTag: string | undefined): Uint8Array {
  const s = compact.replace(/^0x/i, "");
  const bad = s.search(/[^0-9a-f]/i);
  if (bad >= 0) {
    throw new CustosError(
      "SHARE_FORMAT",
      `Character ${bad + 1} of the hex form is not a hex digit.`,
      "The hex form uses only 0-9 and a-f; enter it again, or type the words instead.",
    );
  }
  if (s.length % 2 !== 0) {
    throw new CustosError(
      "SHARE_FORMAT",
      `The hex form has an odd number of characters (${s.length}); one is missing or extra.`,
      "Enter it again, or type the words instead.",
    );
  }
  const buf = new Uint8Array(Buffer.from(s, "hex"));
  const flaw = payloadFlaw(buf);
  if (flaw === null) return buf;

  // One wrong hex digit: try all 15 alternatives at each position (cheap).
  const fixes: { pos: number; key: string; tag: string }[] = [];
  for (let pos = 0; pos < s.length; pos++) {
    const byte = pos >> 1;
    const orig = buf[byte]!;
    const shift = pos & 1 ? 0 : 4;
    for (let d = 0; d < 16; d++) {
      if (d === ((orig >> shift) & 0xf)) continue;
      buf[byte] = (orig & ~(0xf << shift)) | (d << shift);
      if (payloadFlaw(buf) === null) fixes.push({ pos, key: keyOf(buf), tag: tagOf(buf) });
    }
    buf[byte] = orig;
  }
  const narrowed = narrow(fixes, expectedTag);
  const ps = [...new Set(narrowed.map((f) => f.pos + 1))];
  if (ps.length === 1) {
    throw new CustosError(
      "SHARE_CHECKSUM",
      `The hex form is damaged: character ${ps[0]} appears to be wrong.`,
      "Scan the QR code again, or type the words instead.",
    );
  }
  if (flaw === "version" && isOtherVersion(buf)) {
    throw otherVersionError(buf[0]);
  }
  const standardChars = (KEK_SHARE_BYTES + OVERHEAD_BYTES) * 2;
  switch (flaw) {
    case "version":
    case "length": {
      const len = buf.length >= HEADER_BYTES ? buf[6]! : 0;
      const fromLength = flaw === "length" && len >= MIN_SHARE_BYTES && len <= MAX_SHARE_BYTES;
      const want = fromLength ? (len + OVERHEAD_BYTES) * 2 : standardChars;
      if (s.length === standardChars || want === s.length) {
        throw new CustosError(
          "SHARE_CHECKSUM",
          "The hex form is damaged (its header does not read as a Custos share).",
          "Scan the QR code again, or type the words instead.",
        );
      }
      throw new CustosError(
        "SHARE_FORMAT",
        `The hex form has ${s.length} characters; expected ${want}.`,
        "Part of it is missing or extra; scan the QR code again, or type the words instead.",
      );
    }
    case "index":
      throw new CustosError("SHARE_FORMAT", "The share says share 0, which Custos never writes.", "The share was not made by Custos.");
    case "checksum":
      throw new CustosError(
        "SHARE_CHECKSUM",
        "The hex form is damaged (it does not match its checksum).",
        "Scan the QR code again, or type the words instead.",
      );
  }
}
