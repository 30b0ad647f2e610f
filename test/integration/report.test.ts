import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bundleJsonText,
  extractBundleFromPdf,
  fontPaths,
  keyFingerprint,
  renderReport,
} from "../../electron/core/report";
import { CustosError } from "../../electron/core/errors";
import type { Bundle, EntryBody, Json, Signature } from "../../electron/core/transcript/types";

// Deterministic stand-ins: the report does not verify, it only has to print faithfully.
const hex = (label: string): string => crypto.createHash("sha256").update(label).digest("hex");
const b64 = (label: string, bytes = 32): string =>
  crypto.createHash("sha512").update(label).digest().subarray(0, bytes).toString("base64");
const pem = (kind: string, label: string, bytes: number): string => {
  let raw = Buffer.alloc(0);
  for (let i = 0; raw.length < bytes; i++) raw = Buffer.concat([raw, crypto.createHash("sha512").update(`${label}${i}`).digest()]);
  const body = raw.subarray(0, bytes).toString("base64").match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${kind}-----\n${body}\n-----END ${kind}-----\n`;
};

const PEOPLE = [
  { id: "admin-1", name: "Ada Lovelace", roles: ["administrator"] },
  { id: "cust-1", name: "Grace Hopper", roles: ["custodian"] },
  { id: "cust-2", name: "Edsger Wybe Dijkstra", roles: ["custodian"] },
  { id: "cust-3", name: "Barbara Liskov", roles: ["custodian", "security-officer"] },
  { id: "wit-1", name: "Whitfield Diffie", roles: ["external-witness"] },
];

/** A realistic rehearsal generation ceremony of 12 entries. */
function fixtureBundle(mode: "rehearsal" | "production" = "rehearsal", ceremonyId = "cer-2025-03-14-a1b2c3"): Bundle {
  const custodians = PEOPLE.filter((p) => p.roles.includes("custodian")).map((p) => p.id);
  const all = PEOPLE.map((p) => p.id);
  const steps: Array<{ stepId: string; action: string; inputs?: Record<string, Json>; outputs?: Record<string, Json>; signers: string[] }> = [
    {
      stepId: "opening",
      action: "checklist",
      inputs: {
        place: "Room B-12, Building 4",
        items: ["Doors closed and signed in", "Cameras covered", "Laptop seal intact"],
        laptopSealSerial: "TE-0048213",
      },
      signers: ["admin-1", "wit-1"],
    },
    { stepId: "air-gap", action: "air-gap-check", outputs: { interfaces: [{ name: "lo", up: true, loopback: true }, { name: "wlan0", up: false, loopback: false }], ok: true }, signers: ["admin-1"] },
    {
      stepId: "enrol",
      action: "enrol-participants",
      outputs: {
        participants: PEOPLE.map((p) => ({
          ...p,
          publicKey: b64(`pk-${p.id}`),
          kdf: { algorithm: "scrypt", N: 131072, r: 8, p: 1, salt: b64(`salt-${p.id}`, 16) },
        })),
      },
      signers: all,
    },
    {
      stepId: "select-token",
      action: "select-token",
      outputs: { token: { manufacturer: "SoftHSM project", model: "SoftHSM v2", serial: "9f2c44e81b3a07d5", firmware: "2.6", label: "custos-rehearsal" }, blank: true },
      signers: ["admin-1", "cust-3"],
    },
    { stepId: "init-token", action: "init-token", inputs: { label: "custos-root-2025" }, outputs: { initialised: true }, signers: ["cust-3"] },
    {
      stepId: "generate-root",
      action: "generate-key-pair",
      inputs: { algorithm: "EC-P384" },
      outputs: {
        algorithm: "EC-P384",
        keyId: hex("keyid").slice(0, 16),
        attributes: { sensitive: true, extractable: true, wrapWithTrusted: true, token: true },
        publicKeyPem: pem("PUBLIC KEY", "root-spki", 120),
        fingerprintSha256: hex("root-spki"),
      },
      signers: ["admin-1", "cust-3", "wit-1"],
    },
    {
      stepId: "root-cert",
      action: "self-sign-certificate",
      inputs: { subject: { commonName: "Example Root CA 2025", organization: "Example & Co", country: "NL" }, validityYears: 20 },
      outputs: { certificatePem: pem("CERTIFICATE", "root-cert", 620), serial: hex("serial").slice(0, 32), notAfter: "2045-03-14T09:41:00Z" },
      signers: ["admin-1", "wit-1"],
    },
    {
      stepId: "backup",
      action: "wrap-and-split-backup",
      outputs: {
        kcv: "5c9e1a",
        blobSha256: hex("blob"),
        mechanism: "CKM_AES_KEY_WRAP_PAD",
        threshold: 2,
        shares: custodians.map((c, i) => ({ index: i + 1, custodian: c, commitment: hex(`commit-${c}`) })),
      },
      signers: ["admin-1", ...custodians],
    },
    { stepId: "verify-shares", action: "verify-shares", outputs: { verified: custodians }, signers: custodians },
    {
      stepId: "export",
      action: "export-public-artifacts",
      outputs: {
        files: [
          { name: "root-public.pem", sha256: hex("f1") },
          { name: "root-cert.pem", sha256: hex("f2") },
          { name: "backup.json", sha256: hex("f3") },
        ],
        note: "",
        empty: {},
      },
      signers: ["admin-1"],
    },
    { stepId: "print", action: "print-report", outputs: { reportSha256: hex("report"), pages: 9 }, signers: ["admin-1", "wit-1"] },
    { stepId: "seal", action: "seal-transcript", outputs: { head: hex("prehead") }, signers: [] },
  ];
  let prev = "0".repeat(64);
  const start = Date.parse("2025-03-14T09:30:00Z");
  const entries: Bundle["entries"] = steps.map((s, i) => {
    const body: EntryBody = {
      v: 2,
      ceremonyId,
      seq: i + 1,
      stepId: s.stepId,
      action: s.action,
      inputs: s.inputs ?? {},
      outputs: s.outputs ?? {},
      requiredSigners: s.signers,
      timestamp: new Date(start + i * 6 * 60_000 + i * 1234).toISOString(),
      prevHash: prev,
    };
    const signatures: Signature[] = s.signers.map((signer) => ({
      signer,
      kind: "participant",
      algorithm: "Ed25519",
      publicKey: b64(`pk-${signer}`),
      signature: b64(`sig-${signer}-${i}`, 64),
    }));
    if (s.action === "seal-transcript") {
      signatures.push({ signer: "root-key", kind: "root-key", algorithm: "ECDSA-SHA384", publicKey: b64("root-spki", 120), signature: b64("seal-sig", 96) });
    }
    const entryHash = hex(`${ceremonyId}-entry-${i}`);
    const e = { body, bodyHash: hex(`${ceremonyId}-body-${i}`), signatures, entryHash };
    prev = entryHash;
    return e;
  });
  return {
    format: "custos-transcript-bundle",
    version: 2,
    ceremony: {
      id: ceremonyId,
      scriptId: "root-key-generation",
      scriptVersion: "1.2.0",
      scriptTitle: "Root key generation",
      scriptSha256: hex("script"),
      scriptText: "id: root-key-generation\nversion: 1.2.0\ntitle: Root key generation\n",
      mode,
      status: "closed",
      createdAt: "2025-03-14T09:29:12.000Z",
    },
    entries,
    head: prev,
  };
}

/** Share of pixels in the middle third of a binary PPM (P6) that are light red, the watermark's colour. */
function pinkShare(ppm: Buffer): number {
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.toString("latin1", 0, 40))!;
  const [w, h, off] = [Number(m[1]), Number(m[2]), m[0].length];
  let pink = 0;
  let total = 0;
  for (let y = Math.floor(h / 3); y < (2 * h) / 3; y++) {
    for (let x = Math.floor(w / 6); x < (5 * w) / 6; x++) {
      const i = off + 3 * (y * w + x);
      const [r, g, b] = [ppm[i]!, ppm[i + 1]!, ppm[i + 2]!];
      total++;
      if (r > 200 && r - g > 12 && r - b > 8) pink++;
    }
  }
  return pink / total;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("ceremony report PDF", () => {
  let dir: string;
  let bundle: Bundle;
  let pdf: Buffer;
  let pdfPath: string;
  let text: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-report-"));
    bundle = fixtureBundle();
    pdf = await renderReport(bundle);
    pdfPath = path.join(dir, "report.pdf");
    fs.writeFileSync(pdfPath, pdf);
    text = run("pdftotext", ["-layout", pdfPath, "-"]);
  });
  afterAll(() => {
    if (process.env.CUSTOS_KEEP_TEST_OUTPUT) console.log(`report test output kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });

  it("passes qpdf --check", () => {
    const out = run("qpdf", ["--check", pdfPath]);
    expect(out).toContain("No syntax or stream encoding errors");
  });

  it("embeds every font it uses, and only DejaVu", () => {
    const lines = run("pdffonts", [pdfPath]).trim().split("\n").slice(2);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      // name type encoding emb sub uni object ID
      const cols = line.trim().split(/\s+/);
      expect(cols.at(-5), line).toBe("yes");
      expect(cols[0]).toMatch(/^[A-Z]{6}\+DejaVuSans/);
    }
    expect(lines.join("\n")).not.toMatch(/Helvetica|Times|Courier/);
  });

  it("carries the bundle as bundle.json, readable by pdfdetach and by extractBundleFromPdf", () => {
    expect(run("pdfdetach", ["-list", pdfPath])).toMatch(/1: bundle\.json/);
    const out = path.join(dir, "detached.json");
    run("pdfdetach", ["-save", "1", "-o", out, pdfPath]);
    const detached = fs.readFileSync(out, "utf8");
    expect(detached).toBe(bundleJsonText(bundle));
    expect(JSON.parse(detached)).toEqual(bundle);
    expect(extractBundleFromPdf(pdf)).toBe(detached);
  });

  it("describes the attachment for PDF/A-3 (AFRelationship Source, JSON subtype, description)", () => {
    const qdf = run("qpdf", ["--qdf", "--object-streams=disable", pdfPath, "-"]);
    expect(qdf).toContain("/AFRelationship /Source");
    expect(qdf).toContain("/Subtype /application#2fjson");
    expect(qdf).toContain("(Custos signed transcript bundle)");
    expect(qdf).toContain("<pdfaid:part>3</pdfaid:part>");
  });

  it("prints the cover facts, participants, every entry, the verification page and page footers", () => {
    const c = bundle.ceremony;
    expect(text).toContain("Custos ceremony report");
    expect(text).toContain(c.id);
    expect(text).toContain("REHEARSAL — NOT A PRODUCTION CEREMONY");
    expect(text).toContain(c.scriptSha256);
    expect(text).toContain(bundle.head);
    expect(text).toContain("Sealed");
    expect(text).toContain("2025-03-14 09:30:00 UTC");
    const pages = Number(/page 1 of (\d+)/.exec(text)?.[1]);
    expect(pages).toBeGreaterThanOrEqual(4);
    for (let p = 1; p <= pages; p++) expect(text).toContain(`page ${p} of ${pages}`);
    // Each page after the first has the short head in the footer.
    expect(text.split(`head ${bundle.head.slice(0, 16)}…`).length - 1).toBe(pages - 1);
    for (const p of fixtureBundle().entries[2]!.body.outputs["participants"] as Array<{ name: string; publicKey: string }>) {
      expect(text).toContain(p.name);
      const fp = keyFingerprint(p.publicKey);
      expect(fp).toMatch(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);
      expect(text).toContain(fp.split(" ").slice(0, 4).join(" "));
    }
    for (const e of bundle.entries) {
      // This fixture's script names no steps: the entry is shown under its step id, flagged as not in the script.
      expect(text).toContain(`Step "${e.body.stepId}" (not in the script)`);
      expect(text).toContain(`entry ${e.body.seq} · ${e.body.timestamp.slice(0, 10)}`);
      expect(text).toContain(e.entryHash);
    }
    expect(text).toContain("the root key itself (ECDSA-SHA384)");
    expect(text).toContain("Sign-in sheet");
    expect(text).not.toMatch(/participants\[\d\]/);
    expect(text).toContain("custos verify report.pdf");
    expect(text).toContain("custos verify bundle.json");
    // The certificate PEM is too long to print: shortened with the SHA-256 of the full value.
    const certPem = bundle.entries[6]!.body.outputs["certificatePem"] as string;
    expect(text).toContain(crypto.createHash("sha256").update(certPem).digest("hex"));
  });

  it("puts the REHEARSAL watermark on every page", () => {
    const pages = Number(/page 1 of (\d+)/.exec(text)?.[1]);
    const perPage = text.split("\f").filter((p) => p.trim());
    expect(perPage).toHaveLength(pages);
    for (const p of perPage) expect(p).toContain("REHEARSAL");
    // The diagonal word is drawn, not laid out as text: look for its light red in the page centre.
    run("pdftoppm", ["-r", "24", pdfPath, path.join(dir, "wm")]);
    const ppms = fs.readdirSync(dir).filter((f) => f.startsWith("wm") && f.endsWith(".ppm")).sort();
    expect(ppms).toHaveLength(pages);
    for (const f of ppms) expect(pinkShare(fs.readFileSync(path.join(dir, f))), f).toBeGreaterThan(0.03);
    const prod = path.join(dir, "wm-prod.pdf");
    return renderReport(fixtureBundle("production")).then((b) => {
      fs.writeFileSync(prod, b);
      run("pdftoppm", ["-r", "24", "-f", "2", "-l", "2", prod, path.join(dir, "prodwm")]);
      const f = fs.readdirSync(dir).find((n) => n.startsWith("prodwm") && n.endsWith(".ppm"))!;
      expect(pinkShare(fs.readFileSync(path.join(dir, f)))).toBe(0);
    });
  });

  it("is byte-for-byte reproducible, with a /ID derived from the content", async () => {
    const again = await renderReport(fixtureBundle());
    expect(again.equals(pdf)).toBe(true);
    const other = await renderReport(fixtureBundle("rehearsal", "cer-other"));
    const id = (b: Buffer): string => /\/ID \[<([0-9a-f]{32})> <\1>\]/.exec(b.toString("latin1"))![1]!;
    expect(id(pdf)).not.toBe(id(other));
    expect(pdf.toString("latin1")).toContain("/CreationDate (D:20250314103613Z)");
  });

  it("says nothing about rehearsal in a production report", async () => {
    const prod = await renderReport(fixtureBundle("production"));
    const p = path.join(dir, "prod.pdf");
    fs.writeFileSync(p, prod);
    const t = run("pdftotext", [p, "-"]);
    expect(t).not.toContain("REHEARSAL");
    expect(t).toContain("Production");
    expect(run("qpdf", ["--check", p])).toContain("No syntax or stream encoding errors");
  });

  it("marks an unsealed transcript as NOT SEALED", async () => {
    const b = fixtureBundle();
    b.entries.pop();
    b.head = b.entries.at(-1)!.entryHash;
    const p = path.join(dir, "unsealed.pdf");
    fs.writeFileSync(p, await renderReport(b));
    expect(run("pdftotext", [p, "-"])).toContain("NOT SEALED");
  });

  it("extracts the bundle after a qpdf rewrite, and gives null where it cannot read honestly", async () => {
    const rewritten = path.join(dir, "rewritten.pdf");
    run("qpdf", [pdfPath, rewritten]);
    expect(extractBundleFromPdf(fs.readFileSync(rewritten))).toBe(bundleJsonText(bundle));
    const packed = path.join(dir, "packed.pdf");
    run("qpdf", ["--object-streams=generate", pdfPath, packed]);
    // Cross-reference streams are out of scope (documented): null, never a wrong answer.
    const fromPacked = extractBundleFromPdf(fs.readFileSync(packed));
    expect(fromPacked === null || fromPacked === bundleJsonText(bundle)).toBe(true);
    expect(extractBundleFromPdf(Buffer.from("not a pdf"))).toBeNull();
    expect(extractBundleFromPdf(pdf.subarray(0, 2000))).toBeNull();
  });

  it("refuses a missing font with a plain CustosError", () => {
    let err: unknown;
    try {
      fontPaths(path.join(dir, "no-fonts-here"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CustosError);
    expect((err as CustosError).code).toBe("REPORT_FONT_MISSING");
    expect((err as CustosError).describe()).toContain("CUSTOS_FONT_DIR");
  });

  it("renders pages that pdftoppm can rasterise", () => {
    run("pdftoppm", ["-r", "60", "-png", "-f", "1", "-l", "3", pdfPath, path.join(dir, "page")]);
    const pngs = fs.readdirSync(dir).filter((f) => f.startsWith("page") && f.endsWith(".png"));
    expect(pngs).toHaveLength(3);
  });
});
