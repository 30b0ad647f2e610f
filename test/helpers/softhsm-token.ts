import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { prepareRehearsalTokenDir } from "../../electron/core/hsm";

/**
 * A real SoftHSM2 token initialised by `softhsm2-util --init-token` in a
 * temporary SOFTHSM2_CONF, as an administrator would provision one: what the
 * home screen's HSM chooser is pointed at in the tests. The PINs are random
 * and distinctive, so a search for them in a page, a file or a log means something.
 */
export function provisionedSoftHsmToken(label = "chooser-test") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-chooser-token-"));
  const t = prepareRehearsalTokenDir(dir);
  const soPin = `so-${crypto.randomBytes(8).toString("hex")}`;
  const userPin = `user-${crypto.randomBytes(8).toString("hex")}`;
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", soPin, "--pin", userPin], { env: { ...process.env, SOFTHSM2_CONF: t.configPath }, stdio: "pipe" });
  return { dir, configPath: t.configPath, module: t.modulePath, label, soPin, userPin, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
