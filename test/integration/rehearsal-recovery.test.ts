import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hsm } from "../../electron/core/hsm";
import { rehearse, rehearseFrom, type RehearsalFile, type ShareTextOverride } from "../../electron/core/rehearse/rehearse";
import { readRehearsalShare } from "../../electron/core/rehearse/simulated-room";
import { combineShares, decodeShare, kcv } from "../../electron/core/shares";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { verdictOf } from "../helpers/verdict";
import { ROOT, custos, secretForms, tool, walk } from "../helpers/files";

const script = (name: string) => path.join(ROOT, "ceremony-scripts", name);
const readJson = <T>(f: string) => JSON.parse(fs.readFileSync(f, "utf8")) as T;

let dir: string;
let gen: string;
let other: string;
let genInfo: RehearsalFile;
let n = 0;
const fresh = () => path.join(dir, `out-${++n}`);

/** Every object on every token of a rehearsal folder whose label is a Custos root key label. */
function rootObjects(out: string): string[] {
  const info = readJson<RehearsalFile>(path.join(out, "rehearsal.json"));
  const hsm = Hsm.open(info.softhsm.modulePath, { env: { SOFTHSM2_CONF: info.softhsm.configPath } });
  try {
    const labels: string[] = [];
    for (const t of hsm.tokens().filter((x) => x.initialized)) {
      const s = hsm.openSession(t.serial);
      s.login("user", info.softhsm.userPin);
      const col = s.raw.find({});
      for (let i = 0; i < col.length; i++) labels.push(String(col.items(i).getAttribute({ label: null }).label));
      s.close();
    }
    return labels.filter((l) => /:root$/.test(l) || /:kek/.test(l));
  } finally {
    hsm.close();
  }
}

async function failingRecovery(override: ShareTextOverride, shares = [1, 2, 3]) {
  const out = fresh();
  const err = await rehearseFrom({ scriptPath: script("root-key-recovery.yaml"), fromDir: gen, outDir: out, shares, shareTextOverride: override }).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  return { out, message: (err as Error).message };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-recovery-"));
  gen = path.join(dir, "gen");
  other = path.join(dir, "other");
  await rehearse({ scriptPath: script("root-key-generation.yaml"), outDir: gen });
  await rehearse({ scriptPath: script("root-key-generation.yaml"), outDir: other });
  genInfo = readJson<RehearsalFile>(path.join(gen, "rehearsal.json"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("recovery rehearsal from a generation rehearsal", () => {
  it.each([
    [[1, 3, 5]],
    [[4, 2, 5]],
  ])("restores the key with shares %j into a fresh token; the test signature verifies with openssl against root-cert.pem", async (shares) => {
    const out = fresh();
    await rehearseFrom({ scriptPath: script("root-key-recovery.yaml"), fromDir: gen, outDir: out, shares });
    const info = readJson<RehearsalFile>(path.join(out, "rehearsal.json"));
    expect(info.softhsm.configPath.startsWith(out)).toBe(true); // a fresh token, not the generation's

    // The restored public key (listed by pkcs11-tool on the new token) equals the original.
    const list = tool("pkcs11-tool", ["--module", info.softhsm.modulePath, "--login", "--pin", info.softhsm.userPin, "--list-objects"], { SOFTHSM2_CONF: info.softhsm.configPath });
    const pub = list.split(/\n(?=\S)/).find((b) => b.startsWith("Public Key Object") && b.includes(`custos:${info.ceremonyId}:root`))!;
    const priv = list.split(/\n(?=\S)/).find((b) => b.startsWith("Private Key Object") && b.includes(`custos:${info.ceremonyId}:root`))!;
    expect(priv).toMatch(/Access:.*sensitive/);
    const certPub = crypto.createPublicKey(fs.readFileSync(path.join(gen, "root-cert.pem"))).export({ format: "jwk" });
    const point = "04" + Buffer.from(certPub.x!, "base64url").toString("hex") + Buffer.from(certPub.y!, "base64url").toString("hex");
    expect(/EC_POINT:\s+04([0-9a-f]+)/.exec(pub)![1]!.replace(/^61/, "")).toBe(point);

    const pem = path.join(out, "orig-pub.pem");
    fs.writeFileSync(pem, tool("openssl", ["x509", "-in", path.join(gen, "root-cert.pem"), "-pubkey", "-noout"]));
    const v = tool("openssl", ["dgst", "-sha384", "-verify", pem, "-signature", path.join(out, "test-signature.der"), path.join(out, "test-message.txt")]);
    expect(v.trim()).toBe("Verified OK");

    const r = custos(["verify", path.join(out, "transcript.sqlite")]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/INTACT AND COMPLETE — sealed/);
    expect(r.stdout).toMatch(/root key  SPKI sha256 [0-9a-f]{64}/);
    // Share material never lands in the recovery folder.
    const needles = fs.readdirSync(path.join(gen, "shares")).flatMap((f) => secretForms(decodeShare(readRehearsalShare(path.join(gen, "shares", f))).share));
    for (const f of walk(out)) expect(needles.some((x) => fs.readFileSync(path.join(out, f)).includes(x)), f).toBe(false);
  });

  it("with only 2 shares it stops before any HSM step", async () => {
    const out = fresh();
    const err = await rehearseFrom({ scriptPath: script("root-key-recovery.yaml"), fromDir: gen, outDir: out, shares: [1, 2] }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/attendance.*at least 3 custodian/);
    // The opening entry, the opening checklist and the loaded source: nothing after them.
    expect((await verdictOf(path.join(out, "transcript.sqlite"))).ceremony!.entries).toBe(3);
    expect(rootObjects(out)).toEqual([]);
  });

  it("a share from another rehearsal is named as foreign and nothing is unwrapped", async () => {
    const otherShare = readRehearsalShare(path.join(other, "shares", fs.readdirSync(path.join(other, "shares")).sort()[2]!));
    const { out, message } = await failingRecovery((i, t) => (i === 3 ? otherShare : t));
    expect(message).toMatch(/'s share: this share belongs to another ceremony/i);
    expect(message).toMatch(/Step 9 of 12/);
    expect(rootObjects(out)).toEqual([]);
  });

  it("a share with one changed word is named by word position", async () => {
    const { out, message } = await failingRecovery((i, t) => {
      if (i !== 2) return t;
      const w = t.split(" ");
      w[6] = wordlist[(wordlist.indexOf(w[6]!) + 1) % 2048]!;
      return w.join(" ");
    });
    expect(message, message).toMatch(/word 7, '[a-z]+', appears to be wrong/i);
    expect(rootObjects(out)).toEqual([]);
  });

  it("a share with a changed byte in its hex form is refused", async () => {
    const hexOf = (i: number) => {
      const f = fs.readdirSync(path.join(gen, "shares")).sort()[i - 1]!;
      return /hex: ([0-9a-f]+)/.exec(fs.readFileSync(path.join(gen, "shares", f), "utf8"))![1]!;
    };
    const { out, message } = await failingRecovery((i, t) => {
      if (i !== 1) return t;
      const h = hexOf(1);
      return h.slice(0, 20) + (h[20] === "a" ? "b" : "a") + h.slice(21);
    });
    expect(message).toMatch(/share.*(hex|character|damaged)/i);
    expect(rootObjects(out)).toEqual([]);
  });

  it("the same share twice is refused by name", async () => {
    const first = readRehearsalShare(path.join(gen, "shares", fs.readdirSync(path.join(gen, "shares")).sort()[0]!));
    const { out, message } = await failingRecovery((i, t) => (i === 2 ? first : t));
    expect(message).toMatch(/Share 1 \(entered by .+\) was already entered by /);
    expect(rootObjects(out)).toEqual([]);
  });

  it("a tampered backup blob stops the recovery naming the blob", async () => {
    const copy = path.join(dir, "gen-tampered");
    fs.cpSync(gen, copy, { recursive: true });
    const b = readJson<{ blob: string }>(path.join(copy, "backup.json"));
    const blob = Buffer.from(b.blob, "base64");
    blob[blob.length - 3]! ^= 0x01;
    b.blob = blob.toString("base64");
    fs.writeFileSync(path.join(copy, "backup.json"), JSON.stringify(b, null, 2));
    const out = fresh();
    const err = await rehearseFrom({ scriptPath: script("root-key-recovery.yaml"), fromDir: copy, outDir: out }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/backup blob in backup\.json does not match the SHA-256 recorded/);
    expect(rootObjects(out)).toEqual([]);
  });

  it("a tampered source transcript stops the recovery", async () => {
    const copy = path.join(dir, "gen-tampered-transcript");
    fs.cpSync(gen, copy, { recursive: true });
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(path.join(copy, "transcript.sqlite"));
    db.prepare("UPDATE entries SET body_json = replace(body_json, '\"REH-', '\"REX-') WHERE seq = 5").run();
    db.close();
    const err = await rehearseFrom({ scriptPath: script("root-key-recovery.yaml"), fromDir: copy, outDir: fresh() }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/does not verify: BODY_HASH_MISMATCH: entry 5/);
  });

  it("abandoning mid-collection leaves nothing in the HSM and no share material in any file", async () => {
    const { out, message } = await failingRecovery((i, t) => {
      if (i === 2) throw new Error("the custodian walked out");
      return t;
    });
    expect(message).toMatch(/walked out/);
    expect(rootObjects(out)).toEqual([]);
    const needles = fs.readdirSync(path.join(gen, "shares")).flatMap((f) => secretForms(decodeShare(readRehearsalShare(path.join(gen, "shares", f))).share));
    for (const f of walk(out)) expect(needles.some((x) => fs.readFileSync(path.join(out, f)).includes(x)), f).toBe(false);
  });
});

describe("share re-split and key destruction rehearsals", () => {
  it("a re-split gives new shares that recover the same key; the old shares no longer do", async () => {
    const out = fresh();
    await rehearseFrom({ scriptPath: script("share-resplit.yaml"), fromDir: gen, outDir: out, shares: [2, 3, 5], custodians: 4, threshold: 2 });
    expect((await verdictOf(path.join(out, "transcript.sqlite"))).complete).toBe(true);
    const oldB = readJson<{ blob: string; wrapping: { kcv: string }; rootKey: { spki: string } }>(path.join(gen, "backup.json"));
    const newB = readJson<{ blob: string; ceremonyId: string; wrapping: { kcv: string; threshold: number; total: number }; rootKey: { spki: string } }>(path.join(out, "backup.json"));
    expect(newB.rootKey.spki).toBe(oldB.rootKey.spki);
    expect(newB.wrapping).toMatchObject({ threshold: 2, total: 4 });
    const shareTexts = (d: string) => fs.readdirSync(path.join(d, "shares")).sort().map((f) => readRehearsalShare(path.join(d, "shares", f)));
    const unwrap = (kek: Uint8Array, blob: string) => {
      const d = crypto.createDecipheriv("id-aes256-wrap-pad", kek, Buffer.from("A65959A6", "hex"));
      const pkcs8 = Buffer.concat([d.update(Buffer.from(blob, "base64")), d.final()]);
      return crypto.createPublicKey(crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })).export({ type: "spki", format: "der" }).toString("base64");
    };
    const newShares = shareTexts(out).map((t) => decodeShare(t, { ceremonyId: newB.ceremonyId }).share);
    expect(newShares).toHaveLength(4);
    const newKek = await combineShares([newShares[3]!, newShares[0]!].map((s) => new Uint8Array(s)), 2);
    expect(kcv(newKek)).toBe(newB.wrapping.kcv);
    expect(unwrap(newKek, newB.blob)).toBe(oldB.rootKey.spki);
    const oldShares = shareTexts(gen).map((t) => new Uint8Array(decodeShare(t).share));
    const oldKek = await combineShares(oldShares.slice(0, 3), 3);
    expect(kcv(oldKek)).toBe(oldB.wrapping.kcv);
    expect(() => unwrap(oldKek, newB.blob)).toThrow();
    // The re-split records the old shares as revoked, and nothing was stored on its token.
    const bundle = readJson<{ entries: Array<{ body: { action: string; outputs: Record<string, unknown> } }> }>(path.join(out, "bundle.json"));
    const rs = bundle.entries.find((e) => e.body.action === "resplit-backup")!;
    expect((rs.body.outputs.revokedShares as unknown[]).length).toBe(5);
    expect(rootObjects(out)).toEqual([]);

    // And the new backup is itself recoverable by the new custodians.
    const rec = fresh();
    await rehearseFrom({ scriptPath: script("root-key-recovery.yaml"), fromDir: out, outDir: rec, shares: [1, 4] });
    expect((await verdictOf(path.join(rec, "transcript.sqlite"))).complete).toBe(true);
  });

  it("destruction refuses without a quorum, then removes the key objects (checked with pkcs11-tool) once a quorum attests", async () => {
    const src = path.join(dir, "gen-destroy");
    fs.cpSync(gen, src, { recursive: true });
    // rehearsal.json points at the original token folder: re-point the copy at its own token.
    const info = readJson<RehearsalFile>(path.join(src, "rehearsal.json"));
    const fix = (p: string) => p.replace(gen, src);
    info.softhsm = { ...info.softhsm, configPath: fix(info.softhsm.configPath), tokenDir: fix(info.softhsm.tokenDir) };
    fs.writeFileSync(path.join(src, "rehearsal.json"), JSON.stringify(info));
    fs.writeFileSync(info.softhsm.configPath, fs.readFileSync(info.softhsm.configPath, "utf8").replace(gen, src));
    const label = `custos:${info.ceremonyId}:root`;
    const list = () =>
      tool("pkcs11-tool", ["--module", info.softhsm.modulePath, "--login", "--pin", info.softhsm.userPin, "--list-objects"], { SOFTHSM2_CONF: info.softhsm.configPath });
    expect(list()).toContain(label);

    const few = await rehearseFrom({ scriptPath: script("key-destruction.yaml"), fromDir: src, outDir: fresh(), shares: [1, 2] }).catch((e: Error) => e);
    expect((few as Error).message).toMatch(/at least 3 custodian/);
    expect(list()).toContain(label);

    const out = fresh();
    await rehearseFrom({ scriptPath: script("key-destruction.yaml"), fromDir: src, outDir: out, shares: [5, 1, 3] });
    expect(list()).not.toContain(label);
    const v = custos(["verify", path.join(out, "bundle.json")]);
    expect(v.status, v.stdout).toBe(0);
    const bundle = readJson<{ entries: Array<{ body: { action: string; outputs: Record<string, unknown> }; signatures: Array<{ signer: string }> }> }>(path.join(out, "bundle.json"));
    const approval = bundle.entries.find((e) => e.body.action === "quorum-approval")!;
    expect(new Set(approval.signatures.map((s) => s.signer)).size).toBeGreaterThanOrEqual(4); // 3 custodians + witness
    const destroyed = bundle.entries.find((e) => e.body.action === "destroy-key")!;
    expect(destroyed.body.outputs.remainingAfter).toBe(0);
    expect((destroyed.body.outputs.destroyed as Array<{ label: string }>).map((d) => d.label)).toEqual([label, label]);
    // The untouched generation token still has its key: the copy was destroyed, not the original.
    expect(genInfo.ceremonyId).toBe(info.ceremonyId);
  });
});
