import { parseArgs } from "node:util";
import { CustosError } from "../core/errors";
import { verifyAnyFile } from "../core/source";
import type { VerifyResult } from "../core/transcript/types";
import { reportFailure } from "./boundary";
import { exportCommand, reportCommand } from "./evidence";
import { std, type Out } from "./io";
import { lintCommand } from "./lint";
import { rehearseCommand } from "./rehearse";

const USAGE = `custos — offline root key ceremonies

  custos lint <script.yaml>...
  custos rehearse <script.yaml> --out DIR [--custodians N] [--threshold M] [--algorithm A]
  custos rehearse <recovery|resplit|destruction.yaml> --from DIR --out DIR [--shares 1,3,5] [--custodians N] [--threshold M]
  custos rehearse --resume DIR
  custos verify <transcript.sqlite | bundle.json | report.pdf>
  custos report <transcript.sqlite> [--ceremony ID] --out FILE [--force]
  custos export <transcript.sqlite> [--ceremony ID] --out FILE [--force]
`;

/** Runs the custos command; returns the exit status. */
export async function main(argv: string[], io: Out = std): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "lint":
        return lintCommand(rest, io, USAGE);
      case "rehearse":
        return await rehearseCommand(rest, io, USAGE);
      case "verify":
        return verify(rest, io);
      case "report":
        return await reportCommand(rest, io, USAGE);
      case "export":
        return exportCommand(rest, io, USAGE);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        io.err(`custos: unknown command "${cmd}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    return reportFailure(cmd, e, io, USAGE);
  }
}

function printVerdict(file: string, r: VerifyResult, io: Out): void {
  for (const c of r.ceremonies) {
    if (c.ok) io.out(`${file}: ceremony ${c.ceremonyId}: intact, ${c.entries} entries, ${c.sealed ? "sealed by the root key" : "NOT sealed"}, head ${c.head}`);
    else {
      if (c.firstBad) io.out(`${file}: ceremony ${c.ceremonyId}: NOT INTACT: entry ${c.firstBad.seq} (step '${c.firstBad.stepId}'): ${c.firstBad.reason}`);
      for (const p of c.problems) io.out(`${file}: ceremony ${c.ceremonyId}: NOT INTACT: ${p}`);
    }
  }
  if (r.ceremonies.length === 0) io.out(`${file}: no ceremony found`);
}

function verify(args: string[], io: Out): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const file = positionals[0];
  if (!file) throw new CustosError("USAGE", "verify needs a file.", USAGE);
  let r: VerifyResult;
  try {
    r = verifyAny(file);
  } catch (e) {
    if (e instanceof CustosError && (e.code === "VERIFY_UNREADABLE" || e.code === "BUNDLE_MALFORMED" || e.code === "TRANSCRIPT_UNREADABLE" || e.code === "REPORT_NO_BUNDLE")) {
      io.err(`custos verify: ${e.message}${e.hint ? `\n  ${e.hint}` : ""}`);
      return 2;
    }
    throw e;
  }
  printVerdict(file, r, io);
  const printed = (r as { printedHead?: string }).printedHead;
  if (printed === "match") io.out(`${file}: the head hash printed on the pages matches the attached bundle`);
  if (printed === "unchecked") io.out(`${file}: the printed head hash was not checked (pdftotext from poppler-utils is not installed); compare it by eye`);
  return r.ok && r.ceremonies.length > 0 ? 0 : 1;
}

/** Verifies a transcript database, a bundle, or a report PDF (by its attached bundle). */
export function verifyAny(file: string): VerifyResult {
  return verifyAnyFile(file);
}
