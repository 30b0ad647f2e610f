import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractBundleFromPdf, renderShareCard, type ShareCardInput } from "../../electron/core/report";
import { CustosError } from "../../electron/core/errors";

// A stand-in word list: the card prints whatever words the shares module gives it.
const WORDS = ["abandon", "ability", "zebra", "orchard", "quantum", "velvet", "harbor", "lantern", "mosaic", "pioneer", "saddle", "tribute", "wrestle", "canyon", "dolphin", "emerald"];

function card(overrides: Partial<ShareCardInput> = {}): ShareCardInput {
  const share = crypto.createHash("sha256").update("share-2").digest();
  const bytes = Buffer.concat([share, Buffer.from([0x9c])]); // 32 y-bytes + x, as shamir-secret-sharing makes them
  const words = Array.from({ length: 25 }, (_, i) => WORDS[(bytes[i]! + i) % WORDS.length]!);
  return {
    ceremonyId: "cer-2025-03-14-a1b2c3",
    mode: "rehearsal",
    scriptTitle: "Root key generation",
    keyFingerprint: "3f9a 17c2 88d0 4e51 b6a9 0c2d 7e13 55f8",
    index: 2,
    total: 5,
    threshold: 3,
    custodianName: "Grace Hopper",
    words,
    hex: bytes.toString("hex"),
    commitmentShort: "c0ffee12 9a8b7c6d",
    createdAt: "2025-03-14T10:12:08.000Z",
    ...overrides,
  };
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("share card PDF", () => {
  let dir: string;
  let input: ShareCardInput;
  let pdf: Buffer;
  let pdfPath: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-card-"));
    input = card();
    pdf = await renderShareCard(input);
    pdfPath = path.join(dir, "card.pdf");
    fs.writeFileSync(pdfPath, pdf);
  });
  afterAll(() => {
    if (process.env.CUSTOS_KEEP_TEST_OUTPUT) console.log(`share card test output kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is one clean A4 page with only embedded fonts", () => {
    expect(run("qpdf", ["--check", pdfPath])).toContain("No syntax or stream encoding errors");
    const info = run("pdfinfo", [pdfPath]);
    expect(info).toMatch(/Pages:\s+1\n/);
    expect(info).toMatch(/Page size:\s+595\.28 x 841\.89 pts \(A4\)/);
    const fonts = run("pdffonts", [pdfPath]).trim().split("\n").slice(2);
    expect(fonts.length).toBeGreaterThan(0);
    for (const line of fonts) expect(line.trim().split(/\s+/).at(-5), line).toBe("yes");
  });

  it("has a QR code that decodes to the share hex", () => {
    run("pdftoppm", ["-r", "150", "-png", pdfPath, path.join(dir, "card")]);
    const png = fs.readdirSync(dir).find((f) => f.startsWith("card") && f.endsWith(".png"))!;
    const decoded = run("zbarimg", ["--raw", "-q", path.join(dir, png)]).trim();
    expect(decoded).toBe(input.hex);
  });

  it("shows every word numbered, the facts, the bag box and the rehearsal warning", () => {
    const text = run("pdftotext", ["-layout", pdfPath, "-"]);
    input.words.forEach((w, i) => expect(text).toMatch(new RegExp(`\\b${String(i + 1).padStart(2, "0")} ${w}\\b`)));
    expect(text).toContain("Custos key share card");
    expect(text).toContain("Share 2 of 5, threshold 3");
    expect(text).toContain(input.ceremonyId);
    expect(text).toContain(input.keyFingerprint);
    expect(text).toContain(input.custodianName);
    expect(text).toContain(input.commitmentShort);
    expect(text).toContain("Tamper-evident bag serial:");
    expect(text).toContain("REHEARSAL — NOT A PRODUCTION KEY SHARE");
    // Nothing about any other share: no other index is named.
    expect(text).not.toMatch(/Share [013-9] of/);
  });

  it("keeps share material out of the metadata and the file identifier", () => {
    const raw = pdf.toString("latin1");
    const id = /\/ID \[<([0-9a-f]{32})>/.exec(raw)![1]!;
    expect(input.hex).not.toContain(id);
    const meta = run("pdfinfo", ["-meta", pdfPath]) + run("pdfinfo", [pdfPath]);
    expect(meta).not.toContain(input.hex.slice(0, 16));
    for (const w of new Set(input.words)) expect(meta).not.toContain(w);
  });

  it("is byte-for-byte reproducible and has no attachment", async () => {
    expect((await renderShareCard(card())).equals(pdf)).toBe(true);
    const later = await renderShareCard(card({ createdAt: "2025-03-14T10:13:00.000Z" }));
    expect(later.equals(pdf)).toBe(false);
    expect(extractBundleFromPdf(pdf)).toBeNull();
  });

  it("prints a production card without any rehearsal marking", async () => {
    const p = path.join(dir, "prod.pdf");
    fs.writeFileSync(p, await renderShareCard(card({ mode: "production", index: 1 })));
    const text = run("pdftotext", [p, "-"]);
    expect(text).not.toContain("REHEARSAL");
    expect(text).toContain("Share 1 of 5, threshold 3");
    expect(run("qpdf", ["--check", p])).toContain("No syntax or stream encoding errors");
  });

  it("keeps a long word list on one page, every word readable", async () => {
    const words = Array.from({ length: 48 }, (_, i) => `${WORDS[i % WORDS.length]!}x${i}`);
    const p = path.join(dir, "long.pdf");
    fs.writeFileSync(p, await renderShareCard(card({ words })));
    expect(run("pdfinfo", [p])).toMatch(/Pages:\s+1\n/);
    const text = run("pdftotext", ["-layout", p, "-"]);
    words.forEach((w, i) => expect(text).toContain(`${String(i + 1).padStart(2, "0")} ${w}`));
    run("pdftoppm", ["-r", "150", "-png", p, path.join(dir, "long")]);
    const png = fs.readdirSync(dir).find((f) => f.startsWith("long") && f.endsWith(".png"))!;
    expect(run("zbarimg", ["--raw", "-q", path.join(dir, png)]).trim()).toBe(card().hex);
  });

  it("refuses an impossible card with a CustosError", async () => {
    await expect(renderShareCard(card({ index: 6 }))).rejects.toBeInstanceOf(CustosError);
    await expect(renderShareCard(card({ hex: "xyz" }))).rejects.toMatchObject({ code: "SHARE_CARD_INVALID" });
  });
});
