import { CustosError } from "../errors";
import { COLOR, MARGIN, Pen, asArtifact, drawQrFigure, drawWatermark, firstValidDate, humanTime, openDoc, FONT } from "./pdf";

/**
 * One custodian's share card: the only place a share is ever written by
 * Custos, and only to a file the user chose. It carries this share alone —
 * nothing about the other shares or custodians — plus what recovery needs to
 * name this card: ceremony id, key fingerprint, index, threshold, commitment.
 */

/** Everything printed on a share card. */
export interface ShareCardInput {
  ceremonyId: string;
  mode: "rehearsal" | "production";
  scriptTitle: string;
  keyFingerprint: string;
  index: number;
  total: number;
  threshold: number;
  custodianName: string;
  words: string[];
  hex: string;
  commitmentShort: string;
  createdAt: string;
}

function checkCard(card: ShareCardInput): void {
  const problems: string[] = [];
  if (!Number.isInteger(card.total) || card.total < 1) problems.push("total must be a positive integer");
  if (!Number.isInteger(card.index) || card.index < 1 || card.index > card.total) problems.push("index must be between 1 and total");
  if (!Number.isInteger(card.threshold) || card.threshold < 1 || card.threshold > card.total) problems.push("threshold must be between 1 and total");
  if (!Array.isArray(card.words) || card.words.length === 0 || card.words.some((w) => typeof w !== "string" || !w)) problems.push("words must be non-empty");
  if (!/^[0-9a-fA-F]+$/.test(card.hex) || card.hex.length % 2) problems.push("hex must be an even-length hex string");
  if (problems.length) {
    throw new CustosError(
      "SHARE_CARD_INVALID",
      `The share card cannot be printed: ${problems.join("; ")}.`,
      "This is a fault in Custos, not in the share; report it and print the card again.",
    );
  }
}

/** Renders one A4 share card as PDF bytes; the same input gives the same bytes. */
export async function renderShareCard(card: ShareCardInput): Promise<Buffer> {
  checkCard(card);
  const rehearsal = card.mode === "rehearsal";
  const shareLine = `Share ${card.index} of ${card.total}, threshold ${card.threshold}`;
  const { doc, bytes } = openDoc({
    title: `Custos key share card — ${shareLine}${rehearsal ? " (REHEARSAL)" : ""}`,
    subject: `Ceremony ${card.ceremonyId}, key ${card.keyFingerprint}`,
    date: firstValidDate(card.createdAt),
    // Derived from the public facts of the card only: no share material in the file identifier.
    idSeed: JSON.stringify([
      "share-card",
      card.ceremonyId,
      card.mode,
      card.scriptTitle,
      card.keyFingerprint,
      card.index,
      card.total,
      card.threshold,
      card.custodianName,
      card.commitmentShort,
      card.createdAt,
    ]),
  });
  if (rehearsal) doc.on("pageAdded", () => drawWatermark(doc, "REHEARSAL"));
  const pen = new Pen(doc);
  pen.newPage();

  pen.text("Custos key share card", { font: "bold", size: 24, tag: "H1" });
  pen.gap(2);
  pen.text(card.scriptTitle, { size: 12, color: COLOR.muted });
  pen.gap(10);
  if (rehearsal) {
    pen.banner("REHEARSAL — NOT A PRODUCTION KEY SHARE", doc.y, 42, 16);
    pen.gap(10);
  }

  pen.text(shareLine, { font: "bold", size: 17, tag: "H2" });
  pen.gap(6);
  const facts: Array<[string, string, "sans" | "mono"]> = [
    ["Custodian", card.custodianName, "sans"],
    ["Ceremony id", card.ceremonyId, "mono"],
    ["Root key fingerprint", card.keyFingerprint, "mono"],
    ["Share commitment", card.commitmentShort, "mono"],
    ["Printed", humanTime(card.createdAt), "sans"],
  ];
  for (const [label, value, font] of facts) {
    const vx = pen.left + 128;
    const width = pen.left + pen.width - vx;
    // A long fingerprint is set smaller rather than wrapped: a split hex string is easy to misread.
    const size = font === "mono" ? Math.max(7, Math.min(9.5, (width - 2) / (value.length * 0.603))) : 11;
    const style = { font, size, x: vx, width };
    const h = Math.max(pen.measure(value, style), 13);
    const y = doc.y;
    pen.text(label, { size: 10, color: COLOR.muted, x: pen.left, y: y + (font === "mono" ? 0.5 : 1), width: 124 });
    pen.text(value, { ...style, y });
    doc.y = y + h + 4;
  }
  pen.gap(10);

  // ---- words ---------------------------------------------------------------
  pen.text(`Share words (${card.words.length})`, { font: "bold", size: 12, tag: "H2" });
  pen.gap(6);
  const cols = card.words.length > 24 ? 4 : 3;
  const rows = Math.ceil(card.words.length / cols);
  const colW = pen.width / cols;
  const numW = String(card.words.length).length;
  const longest = Math.max(...card.words.map((w) => w.length)) + numW + 2;
  const gridTop = doc.y;
  const closing =
    "Keep this card sealed in its tamper-evident bag. Never photograph, scan or copy it, and never store it " +
    "digitally: its words are typed only into Custos, at a recovery. " +
    `This card is one share of ${card.total}; any ${card.threshold} together restore the backup key, fewer reveal nothing.`;
  const closingStyle = { size: 9.5 };
  // What must still fit under the grid on this one page: QR block, bag box, closing note.
  const below = 14 + 150 + 16 + 44 + 14 + pen.measure(closing, closingStyle) + 4;
  const maxRowH = (pen.bottom - gridTop - below - 8) / rows;
  // Large enough to read back and type, small enough that the longest word fits its
  // column and the whole card stays on one page.
  const size = Math.min(14, (colW - 16) / (longest * 0.61), maxRowH / 1.45);
  const rowH = Math.min(Math.max(size * 1.75, 16), maxRowH);
  const gridH = rows * rowH + 8;
  asArtifact(
    doc,
    () => {
      doc.rect(pen.left, gridTop, pen.width, gridH).lineWidth(0.8).strokeColor(COLOR.text).stroke();
      for (let r = 1; r < rows; r += 2) doc.rect(pen.left + 0.5, gridTop + 4 + r * rowH, pen.width - 1, rowH).fill(COLOR.band);
    },
    "Layout",
  );
  // Column-major order: the numbers run down each column, as people read a word list aloud.
  card.words.forEach((word, i) => {
    const c = Math.floor(i / rows);
    const r = i % rows;
    const x = pen.left + c * colW + 10;
    const y = gridTop + 4 + r * rowH + (rowH - size) / 2;
    pen.text(`${String(i + 1).padStart(numW, "0")} ${word}`, { font: "mono", size, x, y, width: colW - 12 });
  });
  doc.y = gridTop + gridH + 14;

  // ---- QR and hex ----------------------------------------------------------
  const qrTop = doc.y;
  const qrSize = 150;
  const qx = pen.left;
  const qy = qrTop;
  drawQrFigure(doc, pen.root, card.hex, { x: qx, y: qy, size: qrSize }, `QR code of share ${card.index} of ${card.total} as hexadecimal`);

  const tx = pen.left + qrSize + 18;
  const tw = pen.left + pen.width - tx;
  pen.text("The QR code holds this share in hexadecimal:", { size: 9.5, color: COLOR.muted, x: tx, y: qy + 6, width: tw });
  pen.gap(4);
  const hexGroups = card.hex.match(/.{1,4}/g)!.join(" ");
  pen.text(hexGroups, { font: "mono", size: 10, x: tx, y: doc.y, width: tw, lineGap: 2 });
  pen.gap(8);
  pen.text(
    `At recovery this card is checked on its own against the commitment ${card.commitmentShort} recorded in the ` +
      "transcript; a wrong or foreign share is named before anything is unwrapped.",
    { size: 9, color: COLOR.muted, x: tx, y: doc.y, width: tw },
  );
  doc.y = Math.max(doc.y, qy + qrSize) + 16;

  // ---- bag serial box ----------------------------------------------------------
  const boxH = 44;
  const by = doc.y;
  asArtifact(doc, () => doc.rect(pen.left, by, pen.width, boxH).lineWidth(1.2).strokeColor(COLOR.text).stroke(), "Layout");
  const label = "Tamper-evident bag serial: ";
  pen.text(label, { font: "bold", size: 12, x: pen.left + 12, y: by + boxH / 2 - 7, width: 200 });
  doc.font(FONT.bold).fontSize(12);
  const lx = pen.left + 12 + doc.widthOfString(label) + 4;
  asArtifact(
    doc,
    () => {
      doc.moveTo(lx, by + boxH / 2 + 8).lineTo(pen.left + pen.width - 14, by + boxH / 2 + 8).lineWidth(0.8).strokeColor(COLOR.text).stroke();
    },
    "Layout",
  );
  doc.y = by + boxH + 14;

  pen.text(closing, closingStyle);

  // ---- footer ---------------------------------------------------------------------
  asArtifact(doc, () => {
    const y = doc.page.height - MARGIN.bottom + 18;
    doc.moveTo(MARGIN.left, y - 6).lineTo(doc.page.width - MARGIN.right, y - 6).lineWidth(0.4).strokeColor(COLOR.rule).stroke();
    let x = MARGIN.left;
    doc.fontSize(7.5);
    if (rehearsal) {
      doc.font(FONT.bold).fillColor(COLOR.rehearsal).text("REHEARSAL · ", x, y, { lineBreak: false });
      x += doc.widthOfString("REHEARSAL · ");
    }
    doc.font(FONT.sans).fillColor(COLOR.muted);
    doc.text(`Custos key share card · ceremony ${card.ceremonyId} · share ${card.index} of ${card.total}`, x, y, { lineBreak: false });
    doc.text("page 1 of 1", MARGIN.left, y, { width: pen.width, align: "right", lineBreak: false });
  });

  doc.end();
  return bytes;
}
