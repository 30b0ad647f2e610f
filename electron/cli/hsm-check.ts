import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { CustosError } from "../core/errors";
import { blankToken, Hsm, prepareRehearsalTokenDir, randomPin, ROOT_KEY_ALGORITHMS, isRootKeyAlgorithm, type PinRole, type RootKeyAlgorithm, type TokenRef } from "../core/hsm";
import { pickToken, preflightText, runPreflight, type PreflightReport } from "../core/hsm/preflight";
import { profileFor } from "../core/hsm/profiles";
import { safe } from "./escape";
import type { Out } from "./io";
import { readHidden } from "./secret-prompt";

export const HSM_CHECK_USAGE = `custos hsm-check [--module PATH] [--init-args STR] [--slot N | --serial S | --label L] [--algorithm A]... [--restore | --sign] [--json]`;

/** Exit statuses of hsm-check: fit, not fit, could not run. */
export const FIT = 0;
export const NOT_FIT = 1;
export const CANNOT_RUN = 2;

/**
 * `custos hsm-check`: qualifies a token before any key exists. Without
 * --module it runs on a throwaway SoftHSM2 token (what a rehearsal uses).
 * PINs come from CUSTOS_SO_PIN / CUSTOS_USER_PIN or are asked without echo.
 */
export async function hsmCheckCommand(args: string[], io: Out, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(args).values;
  } catch (e) {
    io.err(`custos hsm-check: ${(e as Error).message}\n\n  ${HSM_CHECK_USAGE}`);
    return CANNOT_RUN;
  }
  const algorithms: RootKeyAlgorithm[] = [];
  for (const a of values.algorithm ?? []) {
    if (!isRootKeyAlgorithm(a)) {
      io.err(`custos hsm-check: unknown algorithm ${safe(JSON.stringify(a))}.\n  Choose from ${ROOT_KEY_ALGORITHMS.join(", ")}.`);
      return CANNOT_RUN;
    }
    algorithms.push(a);
  }
  if (values.restore && values.sign) {
    io.err(`custos hsm-check: --restore and --sign check different ceremonies; give one.\n\n  ${HSM_CHECK_USAGE}`);
    return CANNOT_RUN;
  }
  const side = values.restore ? "restore" : values.sign ? "sign" : "generate";
  let hsm: Hsm | undefined;
  let tmp: string | undefined;
  try {
    let report: PreflightReport;
    if (!values.module) {
      if (values["init-args"] || values.slot || values.serial || values.label) throw new CustosError("USAGE", "--init-args, --slot, --serial and --label go with --module.", HSM_CHECK_USAGE);
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), "custos-hsm-check-"));
      const dir = prepareRehearsalTokenDir(tmp);
      hsm = Hsm.open(dir.modulePath, { env: dir.env });
      const pins = { so: randomPin(), user: randomPin() };
      const t = hsm.initToken(blankToken(hsm).slotId, { label: "custos hsm-check", soPin: pins.so, userPin: pins.user });
      io.out("A throwaway SoftHSM2 token (no --module given): this shows what a rehearsal runs on, not your HSM.");
      report = await runPreflight(hsm, { ref: t, algorithms: algorithms.length ? algorithms : [...ROOT_KEY_ALGORITHMS], side, login: async (s, role) => s.login(role, pins[role]) });
    } else {
      const profile = profileFor(values.module);
      try {
        hsm = Hsm.open(values.module, { initArgs: values["init-args"] });
      } catch (e) {
        if (e instanceof CustosError && e.code === "HSM_ARGUMENTS_BAD" && profile?.initArgsTemplate) {
          throw new CustosError(e.code, e.message, `${profile.name} needs --init-args, for example: --init-args "${profile.initArgsTemplate}".`);
        }
        throw e;
      }
      const ref: TokenRef = { slotId: values.slot, serial: values.serial, label: values.label };
      const token = pickToken(hsm, ref, "Name the token with --slot, --serial or --label.");
      const pins: Partial<Record<PinRole, string>> = {};
      const login = async (s: Parameters<Parameters<typeof runPreflight>[1]["login"]>[0], role: PinRole) => {
        pins[role] ??= await pinFor(role, env, io);
        s.login(role, pins[role]!);
      };
      report = await runPreflight(hsm, {
        ref: token,
        algorithms: algorithms.length ? algorithms : [...ROOT_KEY_ALGORITHMS],
        side,
        login,
        extraUnwrapAttributes: profile?.extraUnwrapAttributes,
        vendorWrapMechanisms: profile?.vendorWrapMechanisms,
      });
    }
    io.out(values.json ? JSON.stringify(report, null, 2) : preflightText(report));
    return report.fit ? FIT : NOT_FIT;
  } catch (e) {
    const err = e instanceof CustosError ? e : new CustosError("HSM_ERROR", (e as Error)?.message ?? String(e));
    io.err(`custos hsm-check: could not check the token. ${safe(err.message)}${err.hint ? `\n  ${safe(err.hint)}` : ""}`);
    if (env.CUSTOS_DEBUG === "1") io.err(String((e as Error)?.stack ?? e));
    return CANNOT_RUN;
  } finally {
    hsm?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: false,
    options: {
      module: { type: "string" },
      "init-args": { type: "string" },
      slot: { type: "string" },
      serial: { type: "string" },
      label: { type: "string" },
      algorithm: { type: "string", multiple: true },
      restore: { type: "boolean" },
      sign: { type: "boolean" },
      json: { type: "boolean" },
    },
  });
}

async function pinFor(role: PinRole, env: NodeJS.ProcessEnv, io: Out): Promise<string> {
  const fromEnv = role === "so" ? env.CUSTOS_SO_PIN : env.CUSTOS_USER_PIN;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CustosError(
      "PIN_NEEDED",
      `The ${role === "so" ? "security officer" : "user"} PIN is needed and there is no terminal to ask on.`,
      `Set ${role === "so" ? "CUSTOS_SO_PIN" : "CUSTOS_USER_PIN"} or run hsm-check in a terminal.`,
    );
  }
  void io;
  return readHidden(`${role === "so" ? "Security officer" : "User"} PIN (not shown): `);
}
