/** `custos custody DIR…`: the custody register of one root (docs/custody-register.md). */
import path from "node:path";
import { parseArgs } from "node:util";
import { buildRegister, registerLines, renderRegisterPdf, transcriptFiles } from "../core/custody/index";
import { CustosError } from "../core/errors";
import { removeDeadTemps, writeFileAtomic } from "../core/files/atomic";
import { toCustosError } from "../core/files/fault";
import { checkOutPath } from "../core/files/paths";
import { normaliseHex } from "../core/transcript/verify/index";
import { safe } from "./escape";
import type { Out } from "./io";

export const CUSTODY_USAGE = `custos custody <DIR | transcript>... [--out FILE.pdf] [--force] [--check-interval MONTHS] [--as-of YYYY-MM-DD] [--root SPKI-SHA256]
  every transcript of one root (generation, health checks, re-splits, recoveries, destruction, signing):
  each verified, each source link followed; prints the register and writes it as a PDF
  exit 0 all intact and linked, 1 a transcript not intact or a link broken (a missing transcript),
       2 an input unreadable, 3 intact and linked but custody needs attention (overdue or missed
       checks, a bad or absent share, a bag mismatch, a ceremony not complete)`;

const STATUS = ["intact and linked", "NOT INTACT or BROKEN LINK", "an input is UNREADABLE", "intact and linked; custody NEEDS ATTENTION"];

/** Runs `custos custody`; returns its exit status. */
export async function custodyCommand(args: string[], io: Out): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string" }, force: { type: "boolean" }, "check-interval": { type: "string" }, "as-of": { type: "string" }, root: { type: "string" } },
  });
  if (positionals.length === 0) throw new CustosError("USAGE", "custody needs the folders (or transcripts) of the root's ceremonies.", CUSTODY_USAGE);
  const interval = values["check-interval"] ?? "12";
  if (!/^[1-9][0-9]{0,2}$/.test(interval)) throw new CustosError("USAGE", `--check-interval takes a number of months (1-999), not ${JSON.stringify(safe(interval))}.`, CUSTODY_USAGE);
  const asOf = values["as-of"];
  if (asOf !== undefined && (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`)) || new Date(`${asOf}T00:00:00Z`).toISOString().slice(0, 10) !== asOf)) {
    throw new CustosError("USAGE", `--as-of takes a date YYYY-MM-DD, not ${JSON.stringify(safe(asOf))}.`, CUSTODY_USAGE);
  }
  const root = values.root === undefined ? undefined : normaliseHex(values.root);
  if (root !== undefined && !/^[0-9a-f]{64}$/.test(root)) throw new CustosError("USAGE", `--root takes the root key's SPKI SHA-256 (64 hex characters), not ${JSON.stringify(safe(values.root))}.`, CUSTODY_USAGE);
  let files: string[];
  try {
    files = transcriptFiles(positionals);
  } catch (e) {
    const err = toCustosError(e);
    io.err(`custos custody: ${safe(err.message)}${err.hint ? `\n  ${safe(err.hint)}` : ""}`);
    io.out("register: unreadable input (exit 2)");
    return 2;
  }
  // The PDF never goes over a transcript it reads.
  const out = values.out ? checkOutPath(values.out, files, { force: values.force }) : undefined;
  let reg;
  try {
    reg = await buildRegister(files, { checkIntervalMonths: Number(interval), ...(asOf ? { asOf } : {}), ...(root ? { root } : {}) });
  } catch (e) {
    const err = toCustosError(e);
    io.err(`custos custody: ${safe(err.message)}${err.hint ? `\n  ${safe(err.hint)}` : ""}`);
    io.out("register: unreadable input (exit 2)");
    return 2;
  }
  for (const line of registerLines(reg)) io.out(safe(line));
  if (out) {
    const pdf = await renderRegisterPdf(reg);
    try {
      removeDeadTemps(out);
      writeFileAtomic(out, pdf, { overwrite: values.force === true });
    } catch (e) {
      throw toCustosError(e, { doing: `writing ${out}`, intact: "No transcript was changed.", next: "Run the command again." });
    }
    io.out(`register PDF written to ${path.resolve(out)}`);
  }
  io.out(`register: ${STATUS[reg.status]} (exit ${reg.status})`);
  return reg.status;
}
