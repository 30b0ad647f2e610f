// Which module the participants' own tokens are read through (issue 16 item 3): the environment,
// else settings.json personalTokens, else the ceremony HSM's module; paths checked like the HSM chooser's.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { personalTokensDep, personalTokensModule } from "../../electron/core/app/personal-tokens";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function folder() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "custos-personal-unit-"));
  dirs.push(d);
  const mod = path.join(d, "opensc-pkcs11.so");
  fs.writeFileSync(mod, "not really a module");
  const conf = path.join(d, "softhsm2.conf");
  fs.writeFileSync(conf, "directories.tokendir = /nowhere\n");
  return { d, mod, conf, settings: path.join(d, "settings.json") };
}

describe("personal tokens' module", () => {
  it("nothing configured: the ceremony HSM's module (no engine dependency)", () => {
    const f = folder();
    expect(personalTokensModule({}, f.settings)).toBeNull();
    expect(personalTokensDep({}, f.settings, { modulePath: f.mod })).toEqual({});
  });

  it("the environment wins over the settings file; settings are read when the environment is silent", () => {
    const f = folder();
    const other = path.join(f.d, "other.so");
    fs.writeFileSync(other, "x");
    fs.writeFileSync(f.settings, JSON.stringify({ personalTokens: { module: other, initArgs: "a=b" } }));
    expect(personalTokensModule({ CUSTOS_PERSONAL_PKCS11_MODULE: f.mod, CUSTOS_PERSONAL_PKCS11_INIT_ARGS: "slot=1", CUSTOS_PERSONAL_SOFTHSM2_CONF: f.conf }, f.settings)).toEqual({
      module: f.mod,
      initArgs: "slot=1",
      softhsmConfig: f.conf,
      source: "environment",
    });
    expect(personalTokensModule({}, f.settings)).toEqual({ module: other, initArgs: "a=b", source: "settings" });
    expect(typeof personalTokensDep({}, f.settings, { modulePath: f.mod }).openPersonalTokens).toBe("function");
  });

  it("refuses a relative path, a missing file, a folder and control characters, in plain words", () => {
    const f = folder();
    const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ CUSTOS_PERSONAL_PKCS11_MODULE: "lib/opensc.so" }, /must be a full path starting with "\/"; "lib\/opensc.so" is relative/],
      [{ CUSTOS_PERSONAL_PKCS11_MODULE: path.join(f.d, "gone.so") }, /There is no PKCS#11 module at .*gone\.so \(given in CUSTOS_PERSONAL_PKCS11_MODULE\)/],
      [{ CUSTOS_PERSONAL_PKCS11_MODULE: f.d }, /is not a regular file/],
      [{ CUSTOS_PERSONAL_PKCS11_MODULE: `${f.mod}\n` }, /contains control characters/],
      [{ CUSTOS_PERSONAL_PKCS11_MODULE: f.mod, CUSTOS_PERSONAL_PKCS11_INIT_ARGS: "a\u0007" }, /initialisation arguments .* contain control characters/],
      [{ CUSTOS_PERSONAL_SOFTHSM2_CONF: "softhsm2.conf" }, /SoftHSM2 configuration file given in CUSTOS_PERSONAL_SOFTHSM2_CONF must be a full path/],
    ];
    for (const [env, message] of bad) expect(() => personalTokensModule(env, f.settings)).toThrowError(message);
    fs.writeFileSync(f.settings, JSON.stringify({ personalTokens: { module: "relative.so" } }));
    expect(() => personalTokensModule({}, f.settings)).toThrowError(/given in the settings file .*\(personalTokens\) must be a full path/);
    fs.writeFileSync(f.settings, JSON.stringify({ personalTokens: { module: f.mod, extra: 1 } }));
    expect(() => personalTokensModule({}, f.settings)).toThrowError(/personalTokens/);
  });

  it("the ceremony HSM's own module file is not opened twice; another SoftHSM2 configuration for it is refused", () => {
    const f = folder();
    const link = path.join(f.d, "link.so");
    fs.symlinkSync(f.mod, link);
    expect(personalTokensDep({ CUSTOS_PERSONAL_PKCS11_MODULE: link }, undefined, { modulePath: f.mod })).toEqual({});
    expect(personalTokensDep({ CUSTOS_PERSONAL_PKCS11_MODULE: f.mod, CUSTOS_PERSONAL_SOFTHSM2_CONF: f.conf }, undefined, { modulePath: f.mod, softhsmConfig: f.conf })).toEqual({});
    const elsewhere = path.join(f.d, "rehearsal.conf");
    fs.writeFileSync(elsewhere, "");
    expect(() => personalTokensDep({ CUSTOS_PERSONAL_PKCS11_MODULE: f.mod, CUSTOS_PERSONAL_SOFTHSM2_CONF: f.conf }, undefined, { modulePath: f.mod, softhsmConfig: elsewhere })).toThrowError(
      /one loaded module reads one configuration/,
    );
  });
});
