import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import * as graphene from "graphene-pk11";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRehearsalHsm } from "../../electron/core/hsm";
import { rehearse, type RehearsalFile } from "../../electron/core/rehearse/rehearse";
import { readRehearsalShare } from "../../electron/core/rehearse/simulated-room";
import { combineShares, decodeShare, kcv } from "../../electron/core/shares";
import { verdictOf } from "../helpers/verdict";
import { ROOT, custos, secretForms, tool, walk } from "../helpers/files";

const SCRIPT = path.join(ROOT, "ceremony-scripts", "root-key-generation.yaml");

describe("generation rehearsal, end to end on a real SoftHSM2 token", () => {
  let dir: string;
  let out: string;
  let info: RehearsalFile;
  let backup: { blob: string; blobSha256: string; wrapping: { kcv: string; threshold: number; total: number }; rootKey: { spki: string } };
  const log: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-rehearsal-"));
    out = path.join(dir, "r1");
    await rehearse({ scriptPath: SCRIPT, outDir: out, log: (l) => log.push(l) });
    info = JSON.parse(fs.readFileSync(path.join(out, "rehearsal.json"), "utf8"));
    backup = JSON.parse(fs.readFileSync(path.join(out, "backup.json"), "utf8"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes the rehearsal folder of DESIGN.md", () => {
    const files = walk(out);
    for (const f of ["transcript.sqlite", "report.pdf", "bundle.json", "root-public.pem", "root-cert.pem", "backup.json", "rehearsal.json"]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith("share-cards/") && f.endsWith(".pdf"))).toHaveLength(5);
    expect(files.filter((f) => f.startsWith("shares/") && f.endsWith(".txt"))).toHaveLength(5);
    expect(log.join("\n")).toMatch(/REHEARSAL/);
  });

  it("openssl accepts root-cert.pem as its own CA, with the extensions a root needs", () => {
    const cert = path.join(out, "root-cert.pem");
    const v = tool("openssl", ["verify", "-x509_strict", "-check_ss_sig", "-CAfile", cert, cert]);
    expect(v.trim()).toBe(`${cert}: OK`);
    const text = tool("openssl", ["x509", "-in", cert, "-noout", "-text"]);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toMatch(/Subject Key Identifier/);
    expect(text).toMatch(/ecdsa-with-SHA384/);
    expect(text).toMatch(/NIST CURVE: P-384|ASN1 OID: secp384r1/);
  });

  it("pkcs11-tool lists the root key pair; the private key is sensitive and cannot be read in clear", () => {
    const env = { SOFTHSM2_CONF: info.softhsm.configPath };
    const m = info.softhsm.modulePath;
    const list = tool("pkcs11-tool", ["--module", m, "--login", "--pin", info.softhsm.userPin, "--list-objects"], env);
    const label = `custos:${info.ceremonyId}:root`;
    const priv = list.split(/\n(?=\S)/).find((b) => b.startsWith("Private Key Object") && b.includes(label));
    const pub = list.split(/\n(?=\S)/).find((b) => b.startsWith("Public Key Object") && b.includes(label));
    expect(priv, list).toBeDefined();
    expect(pub, list).toBeDefined();
    expect(priv).toMatch(/Access:.*\bsensitive\b/);
    expect(priv).toMatch(/always sensitive/);
    // No KEK or other secret object survives the ceremony on the token.
    expect(list).not.toMatch(/Secret Key Object/);
    // pkcs11-tool will not even try to read a private key; ask the token directly
    // for CKA_VALUE, and try to wrap the key under a user-made (untrusted) key.
    const hsm = openRehearsalHsm({ configPath: info.softhsm.configPath, tokenDir: info.softhsm.tokenDir, modulePath: m, env });
    try {
      const serial = hsm.tokens().find((t) => t.label === "custos-root")!.serial;
      const s = hsm.openSession(serial);
      s.login("user", info.softhsm.userPin);
      const priv = s.raw.find({ class: graphene.ObjectClass.PRIVATE_KEY, label }).items(0);
      expect(() => priv.getAttribute({ value: null })).toThrowError(/CKR_ATTRIBUTE_SENSITIVE/);
      const rogue = s.raw.create({ class: graphene.ObjectClass.SECRET_KEY, keyType: graphene.KeyType.AES, token: false, wrap: true, value: crypto.randomBytes(32) });
      expect(() => s.wrapPrivateKey(label, rogue.toType())).toThrowError(/refuses to wrap/);
      s.close();
    } finally {
      hsm.close();
    }

    // The public key in the certificate is the one in the token.
    // (pkcs11-tool's --read-object of an EC public key fails with this OpenSSL,
    // so the point it lists is compared instead.)
    const point = /EC_POINT:\s+04([0-9a-f]+)/.exec(pub!)![1]!;
    const certPub = crypto.createPublicKey(fs.readFileSync(path.join(out, "root-cert.pem"))).export({ type: "spki", format: "der" });
    const jwk = crypto.createPublicKey({ key: certPub, format: "der", type: "spki" }).export({ format: "jwk" });
    const certPoint = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]).toString("hex");
    // DER OCTET STRING header (04 61) then the uncompressed point.
    expect(point.replace(/^61/, "")).toBe(certPoint);
    expect(pub).toContain("EC_PARAMS:  06052b81040022");
    expect(Buffer.from(backup.rootKey.spki, "base64").equals(certPub)).toBe(true);
  });

  it("custos verify accepts the transcript, the bundle and the report", () => {
    for (const f of ["transcript.sqlite", "bundle.json", "report.pdf"]) {
      const r = custos(["verify", path.join(out, f)]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/INTACT AND COMPLETE — sealed/);
      expect(r.stdout).toMatch(/entries\s+17 \(16 of 16 script steps/);
    }
  });

  it("changing any single byte of any stored entry is detected and names that entry", async () => {
    const src = path.join(out, "transcript.sqlite");
    const n = 16;
    for (let seq = 1; seq <= n; seq++) {
      const copy = path.join(dir, `tampered-${seq}.sqlite`);
      fs.copyFileSync(src, copy);
      for (const ext of ["-wal", "-shm"]) if (fs.existsSync(src + ext)) fs.copyFileSync(src + ext, copy + ext);
      const db = new Database(copy);
      const row = db.prepare("SELECT body_json FROM entries WHERE seq = ?").get(seq) as { body_json: string };
      // Change one character inside the timestamp value: still valid JSON, different bytes.
      const at = row.body_json.indexOf('"timestamp":"') + 14;
      const ch = row.body_json[at] === "1" ? "2" : "1";
      db.prepare("UPDATE entries SET body_json = ? WHERE seq = ?").run(row.body_json.slice(0, at) + ch + row.body_json.slice(at + 1), seq);
      db.close();
      const v = await verdictOf(copy);
      expect(v.status).toBe(1);
      expect(v.ceremony!.failure?.seq).toBe(seq);
      if (seq === 1 || seq === 9 || seq === n) {
        const r = custos(["verify", copy]);
        expect(r.status).toBe(1);
        expect(r.stdout).toMatch(new RegExp(`entry ${seq} \\(step '`));
      }
    }
  });

  it("unreadable input exits 2", () => {
    const junk = path.join(dir, "junk.bin");
    fs.writeFileSync(junk, "not a transcript");
    expect(custos(["verify", junk]).status).toBe(2);
    expect(custos(["verify", path.join(dir, "missing.sqlite")]).status).toBe(2);
  });

  it("the rehearsal's shares recombine to a KEK whose KCV is recorded, and that KEK unwraps the backup (node:crypto, outside the HSM)", async () => {
    const files = fs.readdirSync(path.join(out, "shares")).sort();
    const decoded = files.map((f) => decodeShare(readRehearsalShare(path.join(out, "shares", f)), { ceremonyId: info.ceremonyId }));
    const pick = [decoded[4]!, decoded[0]!, decoded[2]!].map((d) => new Uint8Array(d.share));
    const kek = await combineShares(pick, 3);
    expect(kcv(kek)).toBe(backup.wrapping.kcv);
    // backup.json names its format and the numeric mechanism and module that made it (portable backup, issue 12).
    expect(backup.wrapping).toMatchObject({ format: "rfc5649-pkcs8", mechanism: "CKM_AES_KEY_WRAP_PAD", mechanismCode: 0x210a, mechanismHex: "0x210A", madeBy: { model: "SoftHSM v2" } });
    const blob = Buffer.from(backup.blob, "base64");
    expect(crypto.createHash("sha256").update(blob).digest("hex")).toBe(backup.blobSha256);
    const d = crypto.createDecipheriv("id-aes256-wrap-pad", kek, Buffer.from("A65959A6", "hex"));
    const pkcs8 = Buffer.concat([d.update(blob), d.final()]);
    const pub = crypto.createPublicKey(crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })).export({ type: "spki", format: "der" });
    expect(pub.equals(Buffer.from(backup.rootKey.spki, "base64"))).toBe(true);

    // The KEK and the shares appear in no file but the share cards and the rehearsal's shares/ folder.
    const needles = [...secretForms(kek), ...decoded.flatMap((x) => secretForms(x.share))];
    const words = files.map((f) => readRehearsalShare(path.join(out, "shares", f)));
    const offenders: string[] = [];
    for (const f of walk(out)) {
      if (f.startsWith("shares/") || f.startsWith("share-cards/")) continue;
      const bytes = fs.readFileSync(path.join(out, f));
      if (needles.some((n) => bytes.includes(n))) offenders.push(f);
      if (words.some((w) => bytes.includes(Buffer.from(w)) || bytes.includes(Buffer.from(w.split(" ").slice(0, 6).join(" "))))) offenders.push(`${f} (words)`);
    }
    expect(offenders).toEqual([]);
    kek.fill(0);
  });
});
