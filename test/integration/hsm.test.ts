import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Hsm,
  type HsmSession,
  blankToken,
  findPkcs11Module,
  kekLabel,
  openRehearsalHsm,
  prepareRehearsalTokenDir,
  rootKeyId,
  rootKeyLabel,
  verifyRootSignature,
  type RehearsalTokenDir,
} from "../../electron/core/hsm";
import { CustosError } from "../../electron/core/errors";

const SO = "87654321";
const USER = "12345678";

function rfc5649Unwrap(kek: Buffer, blob: Buffer): Buffer {
  const d = crypto.createDecipheriv("id-aes256-wrap-pad", kek, Buffer.from("A65959A6", "hex"));
  return Buffer.concat([d.update(blob), d.final()]);
}

describe("HSM layer on a real SoftHSM2 token", () => {
  let dir: string;
  let tok: RehearsalTokenDir;
  let hsm: Hsm;
  let serial: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-hsm-"));
    tok = prepareRehearsalTokenDir(dir);
    hsm = openRehearsalHsm(tok);
    const blank = blankToken(hsm);
    const info = hsm.initToken(blank.slotId, { label: "custos-test", soPin: SO, userPin: USER });
    serial = info.serial;
    expect(info.initialized).toBe(true);
    expect(info.userPinInitialized).toBe(true);
    expect(info.manufacturer).toMatch(/SoftHSM/);
  });
  afterAll(() => {
    hsm?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to initialise a token that is already initialised", () => {
    const t = hsm.tokens().find((x) => x.serial === serial)!;
    expect(() => hsm.initToken(t.slotId, { label: "x", soPin: SO, userPin: USER })).toThrowError(/already initialised/);
  });

  it("a wrong PIN says how many attempts Custos still allows, then stops asking", () => {
    const s = hsm.openSession(serial);
    try {
      const codes: string[] = [];
      for (let i = 0; i < 4; i++) {
        try {
          s.login("user", "00000000");
        } catch (e) {
          codes.push((e as CustosError).code + ":" + (e as CustosError).hint.match(/\d+ more/)?.[0]);
        }
      }
      expect(codes[0]).toBe("HSM_PIN_INCORRECT:2 more");
      expect(codes[1]).toBe("HSM_PIN_INCORRECT:1 more");
      expect(codes[2]).toMatch(/^HSM_PIN_INCORRECT/);
      expect(codes[3]).toMatch(/^HSM_PIN_ATTEMPTS_EXHAUSTED/);
    } finally {
      s.close();
    }
    // A fresh Hsm object (a restart) may try again; the right PIN then works.
    hsm.pinSucceeded(s.ref, "user");
    const s2 = hsm.openSession(serial);
    s2.login("user", USER);
    s2.logout();
    s2.close();
  });

  for (const alg of ["EC-P384", "EC-P256", "EC-P521", "RSA-3072"] as const) {
    it(`generates ${alg} inside the token, signs, and backs it up only under a trusted KEK`, () => {
      const cid = `test-${alg}-${crypto.randomUUID()}`;
      const label = rootKeyLabel(cid);
      let s: HsmSession = hsm.openSession(serial);
      try {
        s.login("user", USER);
        const { spki } = s.generateRootKeyPair(alg, label, rootKeyId(cid));
        expect(s.publicKeySpki(label, alg).equals(spki)).toBe(true);
        const objs = s.listObjects(label);
        const priv = objs.find((o) => o.class === "private")!;
        expect(priv).toMatchObject({ sensitive: true, alwaysSensitive: true, wrapWithTrusted: true, token: true });
        expect(objs.filter((o) => o.class === "public")).toHaveLength(1);

        const msg = Buffer.from("custos test message");
        const sig = s.sign(label, alg, msg);
        expect(verifyRootSignature(alg, spki, msg, sig)).toBe(true);
        expect(verifyRootSignature(alg, spki, Buffer.from("other"), sig)).toBe(false);

        // An ordinary (untrusted) AES key made by the user cannot wrap the root key.
        const rogue = s.raw.create({ class: 4, keyType: 0x1f, token: false, wrap: true, unwrap: true, value: crypto.randomBytes(32) } as never);
        expect(() => s.wrapPrivateKey(label, rogue.toType())).toThrowError(CustosError);
        try {
          s.wrapPrivateKey(label, rogue.toType());
        } catch (e) {
          expect((e as CustosError).code).toBe("HSM_KEY_NOT_WRAPPABLE");
        }
        s.destroyObject(rogue);
        s.logout();

        // Dual control: the SO imports a trusted KEK, the user wraps.
        const kek = crypto.randomBytes(32);
        s.login("so", SO);
        const k = s.importTrustedKek(kek, kekLabel(cid));
        s.logout();
        s.login("user", USER);
        const blob = s.wrapPrivateKey(label, k);
        s.destroyObject(k);
        expect(s.listObjects(kekLabel(cid))).toHaveLength(0);

        // The blob is standard RFC 5649: node unwraps it to the PKCS#8 of the same key.
        const pkcs8 = rfc5649Unwrap(kek, blob);
        const pub = crypto.createPublicKey(crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }));
        expect(pub.export({ type: "spki", format: "der" }).equals(spki)).toBe(true);

        // Unwrap into the same token under another label, then sign with the restored key.
        const label2 = `${label}:restored`;
        const k2 = s.importUnwrapKek(kek, kekLabel(cid));
        s.unwrapRootKey(blob, k2, alg, label2, rootKeyId(cid), spki);
        s.destroyObject(k2);
        const restored = s.listObjects(label2).find((o) => o.class === "private")!;
        expect(restored).toMatchObject({ sensitive: true, wrapWithTrusted: true });
        const sig2 = s.sign(label2, alg, msg);
        expect(verifyRootSignature(alg, spki, msg, sig2)).toBe(true);
        expect(s.publicKeySpki(label2, alg).equals(spki)).toBe(true);

        const gone = s.destroyByLabel(label).concat(s.destroyByLabel(label2));
        expect(gone).toHaveLength(4);
        expect(s.listObjects(label)).toHaveLength(0);
      } finally {
        s.close();
      }
    });
  }

  it("a wrong KEK fails to unwrap with a plain message", () => {
    const cid = `test-wrongkek-${crypto.randomUUID()}`;
    const s = hsm.openSession(serial);
    try {
      s.login("user", USER);
      const { spki } = s.generateRootKeyPair("EC-P256", rootKeyLabel(cid), rootKeyId(cid));
      s.logout();
      s.login("so", SO);
      const k = s.importTrustedKek(crypto.randomBytes(32), kekLabel(cid));
      s.logout();
      s.login("user", USER);
      const blob = s.wrapPrivateKey(rootKeyLabel(cid), k);
      const wrong = s.importUnwrapKek(crypto.randomBytes(32), "wrong");
      expect(() => s.unwrapRootKey(blob, wrong, "EC-P256", "x", Buffer.from("01", "hex"), spki)).toThrowError(/could not unwrap|unwrap/i);
      expect(s.listObjects("x")).toHaveLength(0);
      s.destroyByLabel(rootKeyLabel(cid));
    } finally {
      s.close();
    }
  });

  it("pkcs11-tool, an outside tool, lists the key pair by label", () => {
    const cid = `test-outside-${crypto.randomUUID()}`;
    const s = hsm.openSession(serial);
    s.login("user", USER);
    s.generateRootKeyPair("EC-P384", rootKeyLabel(cid), rootKeyId(cid));
    s.close();
    const out = execFileSync("pkcs11-tool", ["--module", tok.modulePath, "--token-label", "custos-test", "--login", "--pin", USER, "--list-objects"], {
      env: { ...process.env, ...tok.env },
      encoding: "utf8",
    });
    expect(out).toContain(rootKeyLabel(cid));
    expect(out).toMatch(/Private Key Object; EC[\s\S]*sensitive/);
  });

  it("a missing module is a plain error", () => {
    expect(() => findPkcs11Module("/nonexistent/libpkcs11.so")).toThrowError(/does not exist/);
    expect(() => Hsm.open("/nonexistent/libpkcs11.so")).toThrowError(/could not be loaded/);
  });
});
