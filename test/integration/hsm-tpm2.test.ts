import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive } from "../helpers/spawn";
import { objectsSeenByUser } from "../helpers/token-objects";
import { main } from "../../electron/cli/main";
import { profileFor } from "../../electron/core/hsm/profiles";

/**
 * tpm2-pkcs11 on a software TPM. The test starts, and stops by PID, three
 * daemons of its own, all in a temporary folder: swtpm (the TPM, on a unix
 * socket), a private D-Bus session bus, and tpm2-abrmd (the resource manager)
 * on that bus. Without the resource manager the TPM's three object slots run
 * out (TPM_RC 0x902) during `tpm2_ptool addtoken`, and the module itself
 * makes one key pair per process. Nothing outside the folder is touched.
 */
const MODULE = "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so";
const TABRMD_TCTI = "/usr/lib/x86_64-linux-gnu/libtss2-tcti-tabrmd.so.0";
const LABEL = "custos-tpm2";
const SO_PIN = "so-87654321";
const USER_PIN = "user-12345678";

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => d && fs.existsSync(path.join(d, cmd)));
}
const missing = [
  ...(fs.existsSync(MODULE) ? [] : ["libtpm2-pkcs11-1"]),
  ...(onPath("tpm2_ptool") ? [] : ["libtpm2-pkcs11-tools"]),
  ...(onPath("swtpm") ? [] : ["swtpm swtpm-tools"]),
  ...(onPath("tpm2_getcap") ? [] : ["tpm2-tools"]),
  ...(onPath("tpm2-abrmd") || fs.existsSync("/usr/sbin/tpm2-abrmd") ? [] : ["tpm2-abrmd"]),
  ...(fs.existsSync(TABRMD_TCTI) ? [] : ["libtss2-tcti-tabrmd0"]),
  ...(onPath("dbus-daemon") ? [] : ["dbus-daemon"]),
];
const why = missing.length ? `not installed: ${missing.join(", ")} (apt-get install ${missing.join(" ")})` : "";
if (why) console.warn(`skipping tpm2-pkcs11 tests: ${why}`);

/** Waits for a daemon to be ready; fails at once, with its log, if it exits first. */
async function until(what: string, ok: () => boolean, d: { child: ChildProcess; log: () => string }, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) throw new Error(`${what}: it exited (${d.child.exitCode ?? d.child.signalCode}); its log:\n${d.log()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; its log:\n${d.log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(why !== "")("custos hsm-check on tpm2-pkcs11 over a software TPM (an unfit module)", () => {
  const started: Array<{ name: string; child: ChildProcess }> = [];
  const saved: Record<string, string | undefined> = {};
  let dir = "";
  let env: NodeJS.ProcessEnv = {};

  /** Starts a daemon in the foreground; its PID is the child's, stopped in afterAll. */
  function daemon(name: string, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; log: () => string } {
    const file = path.join(dir, `${name}.log`);
    const fd = fs.openSync(file, "a");
    const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], env: { ...process.env, ...extraEnv } });
    fs.closeSync(fd);
    started.push({ name, child });
    return { child, log: () => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "") };
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-tpm2-"));
    fs.mkdirSync(path.join(dir, "state"));
    fs.mkdirSync(path.join(dir, "store"));
    const sock = path.join(dir, "swtpm.sock");
    const bus = path.join(dir, "bus");

    // 1. The TPM. startup-clear: it is ready for commands without a TPM2_Startup of ours.
    const swtpm = daemon("swtpm", "swtpm", [
      "socket",
      "--tpm2",
      "--tpmstate",
      `dir=${path.join(dir, "state")}`,
      "--server",
      `type=unixio,path=${sock}`,
      "--ctrl",
      `type=unixio,path=${sock}.ctrl`,
      "--flags",
      "not-need-init,startup-clear",
    ]);
    await until("swtpm's socket", () => fs.existsSync(sock) && fs.existsSync(`${sock}.ctrl`), swtpm);

    // 2. A private session bus (not the machine's), for the resource manager alone.
    fs.writeFileSync(
      path.join(dir, "bus.conf"),
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${bus}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
`,
    );
    const dbus = daemon("dbus", "dbus-daemon", ["--config-file", path.join(dir, "bus.conf"), "--nofork", "--nopidfile"]);
    await until("the session bus", () => fs.existsSync(bus), dbus);

    // 3. The resource manager on that bus, talking to swtpm. It refuses root unless told.
    env = {
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${bus}`,
      TPM2TOOLS_TCTI: "tabrmd:bus_type=session",
      TPM2_PKCS11_TCTI: "tabrmd:bus_type=session",
      TPM2_PKCS11_STORE: path.join(dir, "store"),
      // The TSS's own warnings off; the module's ERROR lines on stderr cannot be (its lowest level, 0, is errors).
      TSS2_LOG: "all+NONE",
    };
    const abrmd = daemon("abrmd", "tpm2-abrmd", ["--session", `--tcti=swtpm:path=${sock}`, "--flush-all", ...(process.getuid?.() === 0 ? ["--allow-root"] : [])], env);
    await until("tpm2-abrmd on the session bus", () => {
      try {
        execFileSync("tpm2_getcap", ["properties-fixed"], { env: { ...process.env, ...env }, stdio: "ignore", timeout: 5_000 });
        return true;
      } catch {
        return false;
      }
    }, abrmd);

    // 4. The token, with tpm2-pkcs11's own tool (Custos does not initialise this module's tokens).
    const ptool = (args: string[]) => execFileSync("tpm2_ptool", args, { env: { ...process.env, ...env }, timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] }).toString();
    ptool(["init"]);
    ptool(["addtoken", "--pid=1", `--sopin=${SO_PIN}`, `--userpin=${USER_PIN}`, `--label=${LABEL}`]);
    expect(ptool(["listtokens", "--pid=1"])).toContain(`label: ${LABEL}`);

    for (const k of Object.keys(env)) {
      saved[k] = process.env[k];
      process.env[k] = env[k];
    }
  }, 60_000);

  afterAll(async () => {
    for (const k of Object.keys(saved)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    // Last started, first stopped: the resource manager, the bus, then the TPM.
    const stopped: Array<{ name: string; pid: number }> = [];
    for (const { name, child } of [...started].reverse()) {
      const pid = child.pid;
      if (pid === undefined) continue;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        process.kill(pid, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (child.exitCode === null && child.signalCode === null) {
          process.kill(pid, "SIGKILL");
          await exited;
        }
      }
      stopped.push({ name, pid });
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    // Every daemon this test started is gone (its PID no longer answers a signal).
    expect(stopped.map((s) => s.name)).toEqual([...started].reverse().map((s) => s.name));
    expect(stopped.filter((s) => alive(s.pid))).toEqual([]);
  }, 30_000);

  /** hsm-check through the CLI's entry point, PINs from the environment. */
  async function hsmCheck(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    process.env.CUSTOS_SO_PIN = SO_PIN;
    process.env.CUSTOS_USER_PIN = USER_PIN;
    try {
      const code = await main(["hsm-check", "--module", MODULE, "--label", LABEL, ...args], { out: (s) => (out += s + "\n"), err: (s) => (err += s + "\n") });
      return { code, out, err };
    } finally {
      delete process.env.CUSTOS_SO_PIN;
      delete process.env.CUSTOS_USER_PIN;
    }
  }

  /** The reasons under VERDICT: NOT FIT, one per line. */
  const reasons = (out: string) =>
    out
      .split("VERDICT: NOT FIT")[1]!
      .split("\n")
      .filter((l) => l.startsWith("  - "))
      .map((l) => l.slice(4));

  /** Token objects in the module's own store (every object it holds, whoever may see it). */
  const storedObjects = () => {
    const db = new Database(path.join(dir, "store", "tpm2_pkcs11.sqlite3"), { readonly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM tobjects").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it("is refused before any key exists, each reason in words: no AES key wrap, an SO who may create nothing, CKA_EXTRACTABLE=true refused, RSA only to 3072 bits (exit 1); nothing is left on the token", async () => {
    const t0 = Date.now();
    const r = await hsmCheck(["--algorithm", "EC-P256", "--algorithm", "RSA-3072", "--algorithm", "RSA-4096"]);
    const took = Date.now() - t0;
    expect(r.err).toBe("");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^Module: .*libtpm2_pkcs11\.so \(tpm2-software\.github\.io, TPM2\.0 Cryptoki 1\.9\)/);
    expect(r.out).toMatch(/VERDICT: NOT FIT/);
    const rs = reasons(r.out);
    expect(rs).toContain(
      "The token lists no AES key wrap with padding mechanism (CKM_AES_KEY_WRAP_KWP 0x210B or CKM_AES_KEY_WRAP_PAD 0x210A): the root key could never be backed up or restored.",
    );
    expect(rs).toContain(
      "The security officer, once logged in, may not create any key on this token (it answers CKR_USER_NOT_LOGGED_IN: only the user makes objects): nobody can mark a backup wrapping key trusted (CKA_TRUSTED), so the dual control of the backup (SO PIN + user PIN) is impossible.",
    );
    for (const alg of ["EC-P256", "RSA-3072"]) {
      // The template refusal, narrowed to its attribute by asking the token again with throwaway keys.
      expect(rs).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^The token refuses the root key template for ${alg}: it refuses CKA_EXTRACTABLE=true \\[CKR_ATTRIBUTE_VALUE_INVALID\\], so the root key could never be wrapped for its backup; with CKA_EXTRACTABLE=false that refusal goes away`,
          ),
        ),
      );
    }
    expect(rs).toContainEqual(expect.stringMatching(/^CKM_RSA_PKCS_KEY_PAIR_GEN \(0x0\) supports key sizes 1024–3072, not 4096 bits: it cannot generate RSA-4096 keys\./));
    // No reason is a bare code: each says something in words beyond its CKR_ names.
    for (const line of rs) expect(line.replace(/\[?CKR_[A-Z0-9_]+\]?/g, "").replace(/[^A-Za-z]+/g, " ").trim().split(" ").length).toBeGreaterThan(8);
    // Nothing was left on the token: not for the user's login, not in the module's store.
    expect(objectsSeenByUser(MODULE, LABEL, USER_PIN)).toBe(0);
    expect(storedObjects()).toBe(0);
    console.info(`tpm2-pkcs11 hsm-check (EC-P256, RSA-3072, RSA-4096): ${took} ms`);
  }, 60_000);

  it("as a recovery target (--restore) it is refused too: it takes in no AES key at all, so no backup could be restored (exit 1)", async () => {
    const r = await hsmCheck(["--restore", "--algorithm", "EC-P256"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(1);
    expect(reasons(r.out)).toContain(
      "The user cannot bring the reassembled wrapping key into the token: the token accepts no imported AES key at all (C_CreateObject refuses even a minimal AES secret key — a session object: CKR_ATTRIBUTE_VALUE_INVALID; a token object: CKR_ATTRIBUTE_VALUE_INVALID). No backup could ever be restored here.",
    );
    expect(storedObjects()).toBe(0);
  }, 60_000);
});

describe("the tpm2-pkcs11 profile", () => {
  it("is found by module name and is marked tested, not fit", () => {
    expect(profileFor(MODULE)).toMatchObject({ id: "tpm2-pkcs11", status: "tested", expectedVerdict: "not fit" });
    expect(profileFor("/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1")).toMatchObject({ id: "tpm2-pkcs11" });
  });
});
