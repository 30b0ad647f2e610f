import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppService } from "../../electron/core/app/service";
import { dispatch } from "../../electron/core/app/dispatch";
import { ROOT } from "../helpers/files";
import { provisionedSoftHsmToken } from "../helpers/softhsm-token";
import { StateRoom } from "../helpers/state-room";

/**
 * The home screen's HSM chooser, through the core's channels (the same
 * dispatch the core host runs), on real modules: a SoftHSM2 token provisioned
 * with softhsm2-util (fit), and NSS softokn (not fit). No mock anywhere.
 */
const NSS = "/usr/lib/x86_64-linux-gnu/libsoftokn3.so";
const haveNss = fs.existsSync(NSS) && spawnSync("certutil", ["-H"]).error === undefined;
const nssInit = (dir: string) => `configdir='sql:${dir}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=`;

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const logs: string[] = [];

function app(env: NodeJS.ProcessEnv = {}) {
  const userData = tmp("custos-chooser-user-");
  const settingsFile = path.join(userData, "settings.json");
  const dataDir = tmp("custos-chooser-data-");
  const service = createAppService({ dataDir, resourcesDir: ROOT, settingsFile, env, kdfCost: "test", log: (l) => logs.push(l), networkInterfaces: () => [{ name: "lo", state: "unknown", loopback: true, addresses: ["127.0.0.1/8"] }] });
  const call = async <T = any>(channel: string, payload: unknown): Promise<T> => {
    const r = await dispatch(service.handlers, channel, payload);
    if (!r.ok) throw Object.assign(new Error(r.message), { code: r.code, hint: r.hint });
    return r.value as T;
  };
  const refused = async (channel: string, payload: unknown) => {
    const r = await dispatch(service.handlers, channel, payload);
    if (r.ok) throw new Error(`${channel} was not refused`);
    return r;
  };
  return { service, dataDir, settingsFile, call, refused };
}

describe("the production HSM chosen on the home screen (SoftHSM2 token made with softhsm2-util)", () => {
  let token: ReturnType<typeof provisionedSoftHsmToken>;
  beforeAll(() => {
    token = provisionedSoftHsmToken();
    process.env.SOFTHSM2_CONF = token.configPath;
  });
  afterAll(() => token.remove());

  it("checks it fit, remembers module and init arguments (never a PIN), app:info shows it, and the environment overrides it", async () => {
    const a = app();
    expect((await a.call("app:info", {})).production).toMatchObject({ module: null, source: "none" });
    // Choosing before a check is refused: only a module found fit is remembered.
    expect(await a.refused("hsm:choose", { module: token.module })).toMatchObject({ code: "HSM_NOT_CHECKED" });

    // SoftHSM2 refuses any C_Initialize reserved string: with init arguments it cannot run, and is not remembered with them.
    const withArgs = await a.call("hsm:check", { module: token.module, initArgs: "custos-test-args=1", token: { label: token.label }, soPin: token.soPin, userPin: token.userPin });
    expect(withArgs).toMatchObject({ verdict: "cannot-run", code: "HSM_ARGUMENTS_BAD", initArgs: true });
    const v = await a.call("hsm:check", { module: token.module, token: { label: token.label }, soPin: token.soPin, userPin: token.userPin });
    expect(v.verdict).toBe("fit");
    expect(v.initArgs).toBe(false);
    // The verdict is bound to the init arguments: the same module with other arguments was not found fit.
    expect(await a.refused("hsm:choose", { module: token.module, initArgs: "custos-test-args=1" })).toMatchObject({ code: "HSM_NOT_CHECKED" });
    expect(v.report.checks.length).toBeGreaterThan(5);
    expect(v.text).toMatch(/VERDICT: FIT for a root key generation/);
    expect(JSON.stringify(v)).not.toContain(token.soPin);
    expect(JSON.stringify(v)).not.toContain(token.userPin);

    // Blank init arguments are none.
    const chosen = await a.call("hsm:choose", { module: token.module, initArgs: "  " });
    expect(chosen).toMatchObject({ module: token.module, initArgs: null, source: "settings", overridden: false });
    const settings = fs.readFileSync(a.settingsFile, "utf8");
    expect(JSON.parse(settings)).toEqual({ pkcs11: { module: token.module } });
    expect(settings).not.toContain(token.soPin);
    expect(settings).not.toContain(token.userPin);
    expect((fs.statSync(a.settingsFile).mode & 0o777).toString(8)).toBe("600");
    expect((await a.call("app:info", {})).productionModule).toBe(token.module);
    // No PIN reached the service's log either.
    expect(logs.join("\n")).not.toContain(token.userPin);
    expect(logs.join("\n")).not.toContain(token.soPin);

    // The same settings file read by a Custos started with CUSTOS_PKCS11_MODULE: the environment wins, the choice is shown overridden.
    a.service.close();
    const b = createAppService({ dataDir: tmp("custos-chooser-data-"), resourcesDir: ROOT, settingsFile: a.settingsFile, env: { CUSTOS_PKCS11_MODULE: "/opt/other/libother.so" } });
    try {
      const info = (await dispatch(b.handlers, "app:info", {})) as { ok: true; value: any };
      expect(info.value.productionModule).toBe("/opt/other/libother.so");
      expect(info.value.production).toMatchObject({ source: "environment", overridden: true, chosen: { module: token.module, initArgs: null } });
    } finally {
      b.close();
    }

    // Forgetting goes back to none; other sections of the file are kept.
    const c = createAppService({ dataDir: tmp("custos-chooser-data-"), resourcesDir: ROOT, settingsFile: a.settingsFile, env: {} });
    try {
      fs.writeFileSync(a.settingsFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(a.settingsFile, "utf8")), print: { queue: "x" } }));
      const f = (await dispatch(c.handlers, "hsm:forget", {})) as { ok: true; value: any };
      expect(f.value).toMatchObject({ module: null, source: "none" });
      expect(JSON.parse(fs.readFileSync(a.settingsFile, "utf8"))).toEqual({ print: { queue: "x" } });
      expect((await dispatch(c.handlers, "app:info", {})) as { ok: true; value: any }).toMatchObject({ value: { productionModule: null } });
    } finally {
      c.close();
    }
  }, 180_000);

  it("a production ceremony starts on the remembered module, with its init arguments recorded for resume", async () => {
    const a = app();
    await a.call("hsm:check", { module: token.module, token: { label: token.label }, soPin: token.soPin, userPin: token.userPin, side: "sign" });
    await a.call("hsm:choose", { module: token.module });
    // The core itself demands the typed confirmation (the screen is not the only guard); nothing is written without it.
    const before = fs.readdirSync(a.dataDir).sort();
    for (const confirmation of [undefined, "production", "PRODUCTIO", "yes"]) {
      const r = await a.refused("ceremony:start", { script: "root-key-generation.yaml", mode: "production", ...(confirmation === undefined ? {} : { confirmation }) });
      expect(r).toMatchObject({ code: "PRODUCTION_NOT_CONFIRMED", message: expect.stringContaining("PRODUCTION is typed") });
    }
    expect(fs.readdirSync(a.dataDir).sort()).toEqual(before);
    const s = await a.call("ceremony:start", { script: "root-key-generation.yaml", mode: "production", confirmation: "PRODUCTION" });
    expect(s.ceremony.mode).toBe("production");
    const session = JSON.parse(fs.readFileSync(path.join(a.dataDir, "ceremonies", s.ceremony.id, "session.json"), "utf8"));
    expect(session).toMatchObject({ mode: "production", modulePath: token.module });
    expect(session.initArgs).toBeUndefined();
    // While the ceremony is open the production HSM cannot be checked or changed.
    expect(await a.refused("hsm:forget", {})).toMatchObject({ code: "SESSION_BUSY" });
    await a.call("session:close", {});
    a.service.close();
  }, 180_000);

  it("while a check runs (it finalises the module when it ends), no ceremony starts and no second check runs", async () => {
    const a = app();
    // Asked together, as two windows could: each handler decides before its first await.
    const running = a.call("hsm:check", { module: token.module, token: { label: token.label }, soPin: token.soPin, userPin: token.userPin });
    const start = a.refused("ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal" });
    const second = a.refused("hsm:check", { module: token.module });
    expect(await start).toMatchObject({ code: "SESSION_BUSY", message: expect.stringMatching(/being checked/) });
    expect(await second).toMatchObject({ code: "HSM_CHECK_BUSY" });
    expect((await running).verdict).toBe("fit");
    // Once it ended, a rehearsal starts.
    expect((await a.call("ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal" })).ceremony.mode).toBe("rehearsal");
    await a.call("session:close", {});
    a.service.close();
  }, 120_000);

  it("a wrong PIN or an unknown token cannot run: said in words, as data, with no PIN in it", async () => {
    const a = app();
    const wrong = await a.call("hsm:check", { module: token.module, token: { label: token.label }, soPin: "so-wrong-pin-1234", userPin: token.userPin });
    expect(wrong).toMatchObject({ verdict: "cannot-run", code: expect.stringMatching(/PIN/) });
    expect(JSON.stringify(wrong)).not.toContain("so-wrong-pin-1234");
    expect(wrong.message).not.toMatch(/\n\s+at /);
    const none = await a.call("hsm:check", { module: token.module, token: { label: "no-such-token" }, soPin: token.soPin, userPin: token.userPin });
    expect(none).toMatchObject({ verdict: "cannot-run" });
    expect(none.message).toMatch(/no-such-token/);
    // A module that could not be checked is not remembered either.
    expect(await a.refused("hsm:choose", { module: token.module })).toMatchObject({ code: "HSM_NOT_CHECKED" });
    a.service.close();
  }, 120_000);
});

describe("payload validation", () => {
  const a = app();
  afterAll(() => a.service.close());
  it.each([
    ["a relative path", { module: "lib/libsofthsm2.so" }, "HSM_MODULE_PATH", /must be a full path starting with "\/"/],
    ["a missing file", { module: "/nonexistent/libvendor.so" }, "HSM_MODULE_PATH", /There is no file at \/nonexistent\/libvendor\.so/],
    ["a folder", { module: "/usr/lib" }, "HSM_MODULE_PATH", /is not a regular file/],
    ["control characters in the path", { module: "/usr/lib/lib\nsofthsm2.so" }, "IPC_INVALID_PAYLOAD", /module: must not contain control characters/],
    ["control characters in the init arguments", { module: "/usr/lib/softhsm/libsofthsm2.so", initArgs: "a\u001b[2Jb" }, "IPC_INVALID_PAYLOAD", /initArgs: must not contain control characters/],
    ["init arguments too long", { module: "/usr/lib/softhsm/libsofthsm2.so", initArgs: "x".repeat(1025) }, "IPC_INVALID_PAYLOAD", /initArgs: at most 1024 characters/],
    ["an empty path", { module: "" }, "IPC_INVALID_PAYLOAD", /module: give the path of the PKCS#11 module/],
  ])("refuses %s with a clear message, on check and on choose", async (_what, payload, code, message) => {
    for (const channel of ["hsm:check", "hsm:choose"]) {
      const r = await a.refused(channel, payload);
      expect(r).toMatchObject({ code });
      expect(r.message).toMatch(message);
    }
  });
  it("refuses a PIN field that is not a string, and never echoes a PIN", async () => {
    const r = await a.refused("hsm:check", { module: "/usr/lib/softhsm/libsofthsm2.so", soPin: "x".repeat(300) });
    expect(r.message).toMatch(/soPin: at most 256 characters/);
    expect(r.message).not.toContain("xxxx");
  });
});

describe.skipIf(!haveNss)("NSS softokn: not fit, so it is not remembered", () => {
  let db: string;
  beforeAll(() => {
    db = tmp("custos-nss-");
    execFileSync("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"]);
  });
  afterAll(() => fs.rmSync(db, { recursive: true, force: true }));

  it("the check says NOT FIT with the reason, and \"Use this module\" is refused with that reason", async () => {
    const a = app();
    const v = await a.call("hsm:check", { module: NSS, initArgs: nssInit(db), token: { label: "NSS Certificate DB" }, soPin: "", userPin: "" });
    expect(v.verdict).toBe("not-fit");
    expect(v.report.reasons.join(" ")).toMatch(/does not enforce CKA_WRAP_WITH_TRUSTED/);
    const r = await a.refused("hsm:choose", { module: NSS, initArgs: nssInit(db) });
    expect(r).toMatchObject({ code: "HSM_NOT_FIT" });
    expect(r.message).toMatch(/does not remember a module that was not found fit.*does not enforce CKA_WRAP_WITH_TRUSTED/);
    expect(fs.existsSync(a.settingsFile)).toBe(false);
    // Without its init arguments it cannot run, and the profile says which arguments it needs.
    const bare = await a.call("hsm:check", { module: NSS, soPin: "", userPin: "" });
    expect(bare).toMatchObject({ verdict: "cannot-run", code: "HSM_ARGUMENTS_BAD", hint: expect.stringMatching(/configdir=/) });
    a.service.close();
  }, 300_000);

  it("set by the environment override or in settings.json, its init arguments go with a production ceremony: session.json (for a resume) and the HSM its steps open", async () => {
    const a = app({ CUSTOS_PKCS11_MODULE: NSS, CUSTOS_PKCS11_INIT_ARGS: nssInit(db) });
    expect((await a.call("app:info", {})).production).toMatchObject({ module: NSS, initArgs: nssInit(db), source: "environment", overridden: false });
    const s = await a.call("ceremony:start", { script: "root-key-generation.yaml", mode: "production", confirmation: "PRODUCTION" });
    const session = JSON.parse(fs.readFileSync(path.join(a.dataDir, "ceremonies", s.ceremony.id, "session.json"), "utf8"));
    expect(session).toMatchObject({ mode: "production", modulePath: NSS, initArgs: nssInit(db) });
    await a.call("session:close", {});
    a.service.close();
    // Remembered in settings.json (as written by hand: NSS is never found fit, so never chosen on the home screen).
    const b = app();
    fs.writeFileSync(b.settingsFile, JSON.stringify({ pkcs11: { module: NSS, initArgs: nssInit(db) } }));
    expect((await b.call("app:info", {})).production).toMatchObject({ module: NSS, initArgs: nssInit(db), source: "settings" });
    const t = await b.call("ceremony:start", { script: "root-key-generation.yaml", mode: "production", confirmation: "PRODUCTION" });
    expect(JSON.parse(fs.readFileSync(path.join(b.dataDir, "ceremonies", t.ceremony.id, "session.json"), "utf8"))).toMatchObject({ modulePath: NSS, initArgs: nssInit(db) });
    // The ceremony's HSM is opened with them: its select-token step lists NSS's tokens (without them NSS refuses C_Initialize).
    const room = new StateRoom((c, p) => dispatch(b.service.handlers, c, p), { custodians: 5 });
    let offered: string[] = [];
    room.beforeAnswer = async (p) => {
      if (p.kind !== "choose-token") return "answer";
      offered = p.tokens.map((x) => x.label);
      return "skip";
    };
    for (let i = 0; i < 8 && offered.length === 0; i++) await room.runStep();
    expect(offered).toContain("NSS Certificate DB");
    await b.call("session:close", {});
    b.service.close();
  });
});
