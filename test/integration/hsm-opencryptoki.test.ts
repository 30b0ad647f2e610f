import fs from "node:fs";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive } from "../helpers/spawn";
import { objectsSeenByUser } from "../helpers/token-objects";
import { main } from "../../electron/cli/main";
import { CustosError } from "../../electron/core/errors";
import { Hsm } from "../../electron/core/hsm";

/**
 * openCryptoki's soft token (swtok) with its slot daemon, which this test
 * starts and stops by PID. The system token folder is moved aside for the
 * test and put back after it.
 */
const OCK = "/usr/lib/x86_64-linux-gnu/opencryptoki/libopencryptoki.so.0";
const SLOTD = "/usr/sbin/pkcsslotd";
const SWTOK = "/var/lib/opencryptoki/swtok";
const PIDFILE = "/run/pkcsslotd.pid";
const FACTORY_SO_PIN = "87654321";
const SO_PIN = "11223344";
const USER_PIN = "55667788";

function runningSlotd(): number | undefined {
  if (!fs.existsSync(PIDFILE)) return undefined;
  const pid = Number(fs.readFileSync(PIDFILE, "utf8").trim());
  return pid > 0 && alive(pid) ? pid : undefined;
}
const why = !fs.existsSync(OCK)
  ? "opencryptoki is not installed (apt-get install opencryptoki)"
  : process.getuid?.() !== 0
    ? "the openCryptoki test must run as root (it owns /var/lib/opencryptoki and starts pkcsslotd)"
    : runningSlotd() !== undefined
      ? "a pkcsslotd this test did not start is running; the test will not disturb it"
      : "";
if (why) console.warn(`skipping openCryptoki tests: ${why}`);

describe.skipIf(why !== "")("custos hsm-check on openCryptoki's soft token (an unfit module)", () => {
  let pid: number | undefined;
  const aside = `${SWTOK}.custos-test-${process.pid}`;
  let slot = "";

  beforeAll(async () => {
    fs.renameSync(SWTOK, aside);
    fs.mkdirSync(path.join(SWTOK, "TOK_OBJ"), { recursive: true });
    execFileSync("chown", ["-R", "root:pkcs11", SWTOK]);
    execFileSync("chmod", ["-R", "770", SWTOK]);
    const r = spawnSync(SLOTD, { timeout: 20_000 });
    if (r.status !== 0) throw new Error(`pkcsslotd did not start: ${r.stderr}`);
    for (let i = 0; i < 50 && (pid = runningSlotd()) === undefined; i++) await new Promise((res) => setTimeout(res, 100));
    if (pid === undefined) throw new Error("pkcsslotd did not write its PID file");
    const list = execFileSync("pkcsconf", ["-t"], { timeout: 20_000 }).toString();
    const m = /Token #(\d+) Info:\s*\n\s*Label:[^\n]*\n\s*Manufacturer:[^\n]*\n\s*Model: IBM SoftTok/.exec(list);
    if (!m) throw new Error(`no IBM SoftTok slot in:\n${list}`);
    slot = m[1]!;
  }, 60_000);

  afterAll(async () => {
    if (pid !== undefined) {
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((res) => setTimeout(res, 100));
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    fs.rmSync(SWTOK, { recursive: true, force: true });
    if (fs.existsSync(aside)) fs.renameSync(aside, SWTOK);
  }, 30_000);

  it("a new SO PIN at initialisation is refused as an initialisation PIN (its factory SO PIN is needed), not as a wrong login", () => {
    const hsm = Hsm.open(OCK);
    try {
      const blank = hsm.tokens().find((t) => t.model === "IBM SoftTok")!;
      expect(blank.initialized).toBe(false);
      let err: unknown;
      try {
        hsm.initToken(blank.slotId, { label: "custos-ock", soPin: SO_PIN, userPin: USER_PIN });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CustosError);
      expect((err as CustosError).code).toBe("HSM_INIT_PIN_REFUSED");
      expect((err as CustosError).hint).toMatch(/factory SO PIN/);
    } finally {
      hsm.close();
    }
  });

  it("provisioned with its own tool, it is refused before any key exists: no AES key wrap, no trusted key (exit 1, reasons named)", async () => {
    execFileSync("pkcsconf", ["-I", "-c", slot, "-S", FACTORY_SO_PIN], { input: "custos-ock\n", timeout: 20_000 });
    execFileSync("pkcsconf", ["-P", "-c", slot, "-S", FACTORY_SO_PIN, "-n", SO_PIN], { timeout: 20_000 });
    execFileSync("pkcsconf", ["-u", "-c", slot, "-S", SO_PIN, "-n", USER_PIN], { timeout: 20_000 });
    let out = "";
    let err = "";
    process.env.CUSTOS_SO_PIN = SO_PIN;
    process.env.CUSTOS_USER_PIN = USER_PIN;
    try {
      const code = await main(["hsm-check", "--module", OCK, "--label", "custos-ock", "--algorithm", "RSA-3072", "--algorithm", "EC-P256"], {
        out: (s) => (out += s + "\n"),
        err: (s) => (err += s + "\n"),
      });
      expect(err).toBe("");
      expect(code).toBe(1);
    } finally {
      delete process.env.CUSTOS_SO_PIN;
      delete process.env.CUSTOS_USER_PIN;
    }
    expect(out).toMatch(/VERDICT: NOT FIT/);
    expect(out).toMatch(/lists no AES key wrap with padding mechanism/);
    expect(out).toMatch(/could not create a trusted wrapping key \(CKA_TRUSTED\)/);
    expect(out).toMatch(/CKM_EC_KEY_PAIR_GEN \(0x1040\) is not in the token's mechanism list/);
    // Nothing was left on the token.
    expect(objectsSeenByUser(OCK, "custos-ock", USER_PIN)).toBe(0);
  }, 120_000);
});
