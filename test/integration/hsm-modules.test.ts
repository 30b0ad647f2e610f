import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../electron/cli/main";
import { createRootCertificate } from "../../electron/core/engine/certificate";
import { blankToken, CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD, Hsm, openRehearsalHsm, prepareRehearsalTokenDir } from "../../electron/core/hsm";
import { profileFor } from "../../electron/core/hsm/profiles";
import type { CustosError } from "../../electron/core/errors";
import type { Driver } from "../../electron/core/engine/types";
import { Ceremony, makeRoom } from "../helpers/room";

/**
 * The preflight (`custos hsm-check`) against real PKCS#11 modules other than
 * SoftHSM2, each with the verdict it must reach, and a backup made on SoftHSM2
 * restored on another module and checked with openssl.
 */
const NSS = "/usr/lib/x86_64-linux-gnu/libsoftokn3.so";
const haveNss = fs.existsSync(NSS) && spawnSync("certutil", ["-H"]).error === undefined;
const nssInit = (dir: string) => `configdir='sql:${dir}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=`;

async function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await main(argv, { out: (s) => (out += s + "\n"), err: (s) => (err += s + "\n") });
    return { code, out, err };
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
}

function newNssDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-nss-"));
  execFileSync("certutil", ["-N", "-d", `sql:${dir}`, "--empty-password"]);
  return dir;
}

describe("custos hsm-check on SoftHSM2 (a fit module)", () => {
  it("passes every check on a throwaway SoftHSM2 token and exits 0", async () => {
    const r = await run(["hsm-check", "--algorithm", "EC-P256"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/VERDICT: FIT for a root key generation with EC-P256/);
    expect(r.out).toMatch(/\[PASS\] Untrusted wrapping key refused/);
    expect(r.out).toMatch(/CKM_AES_KEY_WRAP_PAD \(0x210A\) under the trusted key gives RFC 5649 over PKCS#8/);
    expect(r.out).not.toMatch(/\[FAIL\]/);
  }, 120_000);

  it("an unknown option or algorithm cannot run (exit 2)", async () => {
    expect((await run(["hsm-check", "--algorithm", "DSA-1024"])).code).toBe(2);
    expect((await run(["hsm-check", "--bogus"])).code).toBe(2);
  });
});

describe.skipIf(!haveNss)("custos hsm-check on NSS softokn (an unfit module)", () => {
  let db: string;
  beforeAll(() => {
    db = newNssDb();
  });
  afterAll(() => fs.rmSync(db, { recursive: true, force: true }));

  it("without its init arguments it cannot run, and says which arguments it needs (exit 2)", async () => {
    const r = await run(["hsm-check", "--module", NSS]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/CKR_ARGUMENTS_BAD/);
    expect(r.err).toMatch(/--init-args "configdir=/);
  });

  it("its two slots share one serial: naming the token by serial alone is refused as ambiguous (exit 2)", async () => {
    const r = await run(["hsm-check", "--module", NSS, "--init-args", nssInit(db), "--serial", "0000000000000000"], { CUSTOS_SO_PIN: "", CUSTOS_USER_PIN: "" });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/2 tokens match serial 0000000000000000/);
  });

  it("is refused before any key exists: it lets an untrusted key wrap a wrap-with-trusted key (exit 1, reason named)", async () => {
    const r = await run(["hsm-check", "--module", NSS, "--init-args", nssInit(db), "--label", "NSS Certificate DB", "--algorithm", "RSA-3072"], {
      CUSTOS_SO_PIN: "",
      CUSTOS_USER_PIN: "",
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VERDICT: NOT FIT/);
    expect(r.out).toMatch(/does not enforce CKA_WRAP_WITH_TRUSTED/);
    // It also proves which of its mechanisms is RFC 5649: 0x210B, not 0x210A.
    expect(r.out).toMatch(/CKM_AES_KEY_WRAP_KWP \(0x210B\) under the trusted key gives RFC 5649/);
    // No throwaway object is left behind.
    const hsm = Hsm.open(NSS, { initArgs: nssInit(db) });
    try {
      const s = hsm.openSession(hsm.identify({ label: "NSS Certificate DB" }));
      s.login("user", "");
      expect(s.raw.find({}).length).toBe(0);
      s.logout();
      s.close();
    } finally {
      hsm.close();
    }
  }, 120_000);

  it("as a recovery target (--restore) it is refused too: a restored key does not keep the root template", async () => {
    const r = await run(["hsm-check", "--module", NSS, "--init-args", nssInit(db), "--label", "NSS Certificate DB", "--algorithm", "RSA-3072", "--restore"], {
      CUSTOS_USER_PIN: "",
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VERDICT: NOT FIT/);
    // NSS ignores CKA_DECRYPT=false / CKA_UNWRAP=false on an unwrapped key (measured on 3.87).
    expect(r.out).toMatch(/A restored RSA-3072 key would not keep the root key's protections: CKA_DECRYPT reads back true, expected false/);
  }, 120_000);

  it("a rehearsal refuses a module that is not SoftHSM2, before any folder is made", async () => {
    const out = path.join(db, "rehearsal");
    const r = await run(["rehearse", path.resolve("ceremony-scripts/root-key-generation.yaml"), "--out", out, "--module", NSS]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/A rehearsal runs only on SoftHSM2/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it("the NSS profile is found by module name and is marked tested", () => {
    expect(profileFor(NSS)).toMatchObject({ id: "nss-softokn", status: "tested", expectedVerdict: "not fit" });
    expect(profileFor("/opt/safenet/lunaclient/lib/libCryptoki2_64.so")).toMatchObject({ id: "thales-luna", status: "not tested" });
  });
});

describe.skipIf(!haveNss)("a backup made on SoftHSM2 restores on NSS softokn", () => {
  it("unwraps there with RFC 5649 (0x210B; NSS's 0x210A is another format) and the restored key's signature verifies with openssl against the original certificate", async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "custos-xmod-"));
    const db = newNssDb();
    const tok = prepareRehearsalTokenDir(work);
    const soft = openRehearsalHsm(tok);
    const nss = Hsm.open(NSS, { initArgs: nssInit(db) });
    try {
      // Generation and backup on SoftHSM2, as a ceremony does it.
      const t = soft.initToken(blankToken(soft).slotId, { label: "xmod", soPin: "87654321", userPin: "12345678" });
      const s = soft.openSession(t);
      s.login("user", "12345678");
      const id = Buffer.from("0102", "hex");
      const { spki } = s.generateRootKeyPair("RSA-3072", "root", id);
      const cert = await createRootCertificate({
        algorithm: "RSA-3072",
        spki,
        subject: { commonName: "Custos cross-module root" },
        notBefore: new Date(),
        validityYears: 1,
        sign: (tbs) => s.sign("root", "RSA-3072", tbs),
      });
      s.logout();
      s.login("so", "87654321");
      const kek = crypto.randomBytes(32);
      const kekObj = s.importTrustedKek(kek, "kek");
      s.logout();
      s.login("user", "12345678");
      const blob = s.wrapPrivateKey("root", kekObj, CKM_AES_KEY_WRAP_PAD);
      s.close();

      // Restore on NSS.
      const n = nss.openSession(nss.identify({ label: "NSS Certificate DB" }));
      n.login("user", "");
      const nkek = n.importUnwrapKek(kek, "kek");
      // NSS's own 0x210A is RFC 3394 + PKCS#7: the same blob does not unwrap with it.
      expect(() => n.unwrapPrivateKey(blob, nkek, "RSA-3072", "tmp", id, false, CKM_AES_KEY_WRAP_PAD)).toThrowError(/CKR_/);
      n.unwrapRootKey(blob, nkek, "RSA-3072", "restored", id, spki, CKM_AES_KEY_WRAP_KWP);
      const message = Buffer.from("signed on NSS with the key generated on SoftHSM2\n");
      const sig = n.sign("restored", "RSA-3072", message);
      n.destroyByLabel("restored");
      n.close();

      fs.writeFileSync(path.join(work, "root.pem"), cert.pem);
      fs.writeFileSync(path.join(work, "msg.txt"), message);
      fs.writeFileSync(path.join(work, "sig.bin"), sig);
      const pub = execFileSync("openssl", ["x509", "-in", path.join(work, "root.pem"), "-pubkey", "-noout"]);
      fs.writeFileSync(path.join(work, "pub.pem"), pub);
      const out = execFileSync("openssl", ["dgst", "-sha256", "-verify", path.join(work, "pub.pem"), "-signature", path.join(work, "sig.bin"), path.join(work, "msg.txt")]).toString();
      expect(out).toMatch(/Verified OK/);
      // And the certificate itself was signed by that key.
      execFileSync("openssl", ["verify", "-x509_strict", "-check_ss_sig", "-CAfile", path.join(work, "root.pem"), path.join(work, "root.pem")]);
    } finally {
      soft.close();
      nss.close();
      fs.rmSync(work, { recursive: true, force: true });
      fs.rmSync(db, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.skipIf(!haveNss)("a generation ceremony on NSS softokn", () => {
  it("is stopped by its hsm-preflight step before any key exists, with the reason named; nothing is left on the token", async () => {
    const db = newNssDb();
    const room = makeRoom();
    try {
      const nssDriver = (inner: Driver): Driver =>
        new Proxy(inner, {
          get(target, prop, receiver) {
            if (prop === "chooseToken") return async (_v: unknown, tokens: Array<{ slotId: string; label: string }>) => tokens.find((t) => t.label === "NSS Certificate DB")!.slotId;
            if (prop === "pin") return async () => "";
            return Reflect.get(target, prop, receiver);
          },
        });
      const c = Ceremony.start(room.deps({ openHsm: () => Hsm.open(NSS, { initArgs: nssInit(db) }), wrap: nssDriver }), room.loaded, { mode: "rehearsal" });
      let err: CustosError | undefined;
      try {
        await c.runToEnd();
      } catch (e) {
        err = e as CustosError;
      }
      const recorded = room.deps().store.entries(c.id).map((e) => e.body.action);
      c.close();
      expect(err?.code).toBe("HSM_NOT_FIT");
      expect(err?.message).toMatch(/Step 7 of 16, "HSM qualification" \(hsm-preflight\) failed: The token "NSS Certificate DB" .* is not fit for this ceremony: The token does not enforce CKA_WRAP_WITH_TRUSTED/);
      expect(recorded).toContain("init-token");
      expect(recorded).not.toContain("hsm-preflight");
      expect(recorded).not.toContain("generate-key-pair");
      const hsm = Hsm.open(NSS, { initArgs: nssInit(db) });
      try {
        const s = hsm.openSession(hsm.identify({ label: "NSS Certificate DB" }));
        s.login("user", "");
        expect(s.raw.find({}).length).toBe(0);
        s.logout();
        s.close();
      } finally {
        hsm.close();
      }
    } finally {
      room.cleanup();
      fs.rmSync(db, { recursive: true, force: true });
    }
  }, 180_000);
});
