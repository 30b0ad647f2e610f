// Issue 16 item 3 through the app service, as the desktop app drives it: the administrator and the
// witness enrol with EC keys on their own tokens (SoftHSM2 tokens made here stand in for smart cards,
// read through CUSTOS_PERSONAL_PKCS11_MODULE: a copy of libsofthsm2.so, because one loaded SoftHSM2
// reads one SOFTHSM2_CONF and the rehearsal's throwaway token has its own), sign their steps with the
// tokens' PINs, and the bundle verifies with `custos verify`; a copy whose enrolment entry names
// another public key for one of them does not. No PIN reaches a file, a log or the room's state.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dispatch } from "../../electron/core/app/dispatch";
import { createAppService } from "../../electron/core/app/service";
import type { SessionState } from "../../electron/core/app/service";
import { findPkcs11Module } from "../../electron/core/hsm/module-path";
import { bundleToJson, exportBundle } from "../../electron/core/transcript/bundle";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { ROOT, custos, tool, walk } from "../helpers/files";
import { StateRoom, value } from "../helpers/state-room";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const tmp = (prefix: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
};

/** A folder of personal SoftHSM2 tokens and a copy of the module to read them through. */
function personalTokens(): { module: string; conf: string; make(label: string, pin: string): string } {
  const dir = tmp("custos-personal-");
  fs.mkdirSync(path.join(dir, "tokens"));
  const conf = path.join(dir, "softhsm2.conf");
  fs.writeFileSync(conf, `directories.tokendir = ${path.join(dir, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const module = path.join(dir, "libsofthsm2-personal.so");
  fs.copyFileSync(findPkcs11Module(), module);
  const env = { SOFTHSM2_CONF: conf };
  return {
    module,
    conf,
    make(label, pin) {
      tool("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", "87654321", "--pin", pin], env);
      tool("pkcs11-tool", ["--module", module, "--token-label", label, "--login", "--pin", pin, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "attest", "--id", "a1"], env);
      const block = tool("pkcs11-tool", ["--module", module, "-L"], env)
        .split(/\n(?=Slot \d+)/)
        .find((b) => new RegExp(`token label\\s*:\\s*${label}\\b`).test(b))!;
      return /serial num\s*:\s*(\S+)/.exec(block)![1]!;
    },
  };
}

const PINS = { admin: "Adm1n-card-PIN-7", witness: "W1tness-card-PIN-3" };

describe("participants' own tokens through the app service (§2.4a)", () => {
  it("two people sign with keys on their own tokens; custos verify accepts the bundle and refuses a swapped key; no PIN is kept anywhere", async () => {
    const dataDir = tmp("custos-app-tokens-");
    const personal = personalTokens();
    const tokens = {
      "ceremony-administrator": { serial: personal.make("admin-card", PINS.admin), keyLabel: "attest", pin: PINS.admin },
      "internal-witness": { serial: personal.make("witness-card", PINS.witness), keyLabel: "attest", pin: PINS.witness },
    };
    const logs: string[] = [];
    const svc = createAppService({
      dataDir,
      resourcesDir: ROOT,
      kdfCost: "test",
      attestWindowMs: 0,
      log: (l) => logs.push(l),
      env: { ...process.env, CUSTOS_PERSONAL_PKCS11_MODULE: personal.module, CUSTOS_PERSONAL_SOFTHSM2_CONF: personal.conf },
      networkInterfaces: () => [{ name: "lo", state: "unknown", loopback: true, addresses: ["127.0.0.1/8"] }],
    });
    const call = (c: string, p: unknown) => dispatch(svc.handlers, c, p);
    const roomStates: string[] = [];
    const pinPrompts: Array<{ name: string; serial?: string }> = [];
    let id = "";
    try {
      const started = await value<SessionState>(call("ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal", custodians: 3, threshold: 2 }));
      id = started.ceremony!.id;
      const room = new StateRoom(call, { custodians: 3, soPin: "87654321", userPin: "12345678", tokens });
      room.beforeAnswer = async (p, s) => {
        roomStates.push(JSON.stringify(await value<SessionState>(call("session:state", { surface: "room" }))));
        roomStates.push(JSON.stringify(s));
        if (p.kind === "passphrase" && p.secret === "token-pin") pinPrompts.push({ name: p.participant.name, serial: p.token?.serial });
        return "answer";
      };
      let excepted = false;
      for (let i = 0; i < 40; i++) {
        const s = await room.runStep();
        if (s.ceremony?.done) break;
        const witness = s.ceremony?.participants.find((p) => p.roles.includes("Internal witness"));
        if (!excepted && witness) {
          // The witness signs with her own token: the session view says so (the forms ask for its PIN),
          // a wrong PIN is said with her token's serial and records nothing, the right one records the exception.
          excepted = true;
          expect(witness.token).toEqual({ serial: tokens["internal-witness"].serial, keyLabel: "attest" });
          const before = s.ceremony!.entries;
          const wrong = await call("session:exception", { text: "The camera battery was changed.", witnessId: witness.id, passphrase: "9999" });
          expect(wrong.ok).toBe(false);
          expect(wrong.ok ? "" : `${wrong.code}: ${wrong.message} ${wrong.hint}`).toBe(
            `ATTEST_WRONG_PASSPHRASE: The PIN was not accepted by ${witness.name}'s own token (serial ${tokens["internal-witness"].serial}). Nothing was recorded; type it again; the token counts wrong tries and locks after too many.`,
          );
          expect((await room.state()).ceremony!.entries).toBe(before);
          const right = await value<SessionState>(call("session:exception", { text: "The camera battery was changed.", witnessId: witness.id, passphrase: PINS.witness }));
          expect(right.ceremony!.entries).toBe(before + 1);
        }
      }
      expect(excepted).toBe(true);
      expect((await room.state()).ceremony?.done).toBe(true);
    } finally {
      svc.close();
    }

    // Later signatures asked each token holder for the PIN of their own token, naming its serial.
    expect(pinPrompts).toContainEqual({ name: "Ceremony administrator 1", serial: tokens["ceremony-administrator"].serial });
    expect(pinPrompts).toContainEqual({ name: "Internal witness 1", serial: tokens["internal-witness"].serial });

    const store = TranscriptStore.openReadOnly(path.join(dataDir, "transcript.sqlite"));
    let json: string;
    let enrolled: Array<{ id: string; name: string; publicKey: string; token?: { serial: string; label: string; algorithm: string } }>;
    let signers: string[];
    try {
      const entries = store.entries(id);
      enrolled = entries.find((e) => e.body.action === "enrol-participants")!.body.outputs.participants as typeof enrolled;
      signers = entries.flatMap((e) => e.signatures.map((x) => `${x.signer}:${x.algorithm}`));
      json = bundleToJson(exportBundle(store, id));
    } finally {
      store.close();
    }
    const holders = enrolled.filter((p) => p.token);
    expect(holders.map((p) => [p.name, p.token!.serial, p.token!.label, p.token!.algorithm])).toEqual([
      ["Ceremony administrator 1", tokens["ceremony-administrator"].serial, "attest", "ECDSA-SHA256"],
      ["Internal witness 1", tokens["internal-witness"].serial, "attest", "ECDSA-SHA256"],
    ]);
    for (const h of holders) expect(signers).toContain(`${h.id}:ECDSA-SHA256`);

    const work = tmp("custos-app-tokens-out-");
    const good = path.join(work, "bundle.json");
    fs.writeFileSync(good, json);
    const ok = custos(["verify", good]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);

    // The witness's enrolled public key swapped for another P-256 key: the bundle no longer verifies.
    const other = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ type: "spki", format: "der" }).toString("base64");
    const witness = holders.find((p) => p.name === "Internal witness 1")!;
    expect(json).toContain(witness.publicKey);
    const bad = path.join(work, "swapped.json");
    fs.writeFileSync(bad, json.split(witness.publicKey).join(other));
    const refused = custos(["verify", bad]);
    expect(refused.status, refused.stdout).not.toBe(0);

    // No PIN in any file under the data folder (transcript, WAL, session.json, logs), the app's log or the room's state.
    const files = walk(dataDir);
    expect(files.some((f) => f.startsWith("transcript.sqlite"))).toBe(true);
    for (const pin of Object.values(PINS)) {
      for (const f of files) expect(fs.readFileSync(path.join(dataDir, f)).includes(pin), f).toBe(false);
      expect(logs.join("\n")).not.toContain(pin);
      for (const st of roomStates) expect(st.includes(pin)).toBe(false);
    }
    expect(roomStates.length).toBeGreaterThan(10);
  }, 300_000);

  it("a wrong token PIN at the enrolment is said with the person's name and token, and the enrolment is asked again; the PIN is in no message", async () => {
    const dataDir = tmp("custos-app-tokens-pin-");
    const personal = personalTokens();
    const tokens = { "ceremony-administrator": { serial: personal.make("admin-card", PINS.admin), keyLabel: "attest", pin: "Wr0ng-PIN-typed" } };
    const svc = createAppService({
      dataDir,
      resourcesDir: ROOT,
      kdfCost: "test",
      env: { ...process.env, CUSTOS_PERSONAL_PKCS11_MODULE: personal.module, CUSTOS_PERSONAL_SOFTHSM2_CONF: personal.conf },
      networkInterfaces: () => [{ name: "lo", state: "unknown", loopback: true, addresses: ["127.0.0.1/8"] }],
    });
    const call = (c: string, p: unknown) => dispatch(svc.handlers, c, p);
    const errors: string[] = [];
    try {
      await value<SessionState>(call("ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal", custodians: 3, threshold: 2 }));
      const room = new StateRoom(call, { custodians: 3, tokens });
      room.beforeAnswer = async (p) => {
        if (p.kind === "enrol" && p.error) {
          errors.push(JSON.stringify(p.error));
          tokens["ceremony-administrator"].pin = PINS.admin;
        }
        return "answer";
      };
      await room.runStep(); // opening
      const s = await room.runStep(); // attendance
      expect(s.ceremony!.participants.map((x) => x.name)).toContain("Ceremony administrator 1");
    } finally {
      svc.close();
    }
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!)).toMatchObject({ code: "HSM_PIN_INCORRECT", message: expect.stringContaining(`Ceremony administrator 1's own token (serial ${tokens["ceremony-administrator"].serial})`) });
    expect(errors[0]).not.toContain("Wr0ng-PIN-typed");
  }, 120_000);
});
