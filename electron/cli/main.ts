import { sweepDeadCopies } from "../core/files/private-copies";
import { reportFailure } from "./boundary";
import { CUSTODY_USAGE, custodyCommand } from "./custody";
import { exportCommand, reportCommand } from "./evidence";
import { HSM_CHECK_USAGE, hsmCheckCommand } from "./hsm-check";
import { std, type Out } from "./io";
import { lintCommand } from "./lint";
import { rehearseCommand } from "./rehearse";
import { VERIFY_USAGE, verifyCommand } from "./verify";

const USAGE = `custos — offline root key ceremonies

  custos lint <script.yaml>...
  ${HSM_CHECK_USAGE}
  custos rehearse <script.yaml> --out DIR [--custodians N] [--threshold M] [--algorithm A]
  custos rehearse <recovery|resplit|destruction|share-health-check.yaml> --from DIR --out DIR [--shares 1,3,5] [--custodians N] [--threshold M]
  custos rehearse <sign-intermediate|issue-crl|cross-certify.yaml> --from DIR --input NAME=FILE... --out DIR
  custos rehearse --resume DIR
  ${VERIFY_USAGE}
  custos report <transcript.sqlite> [--ceremony ID] --out FILE [--force] [--allow-not-intact]
  custos export <transcript.sqlite> [--ceremony ID] --out FILE [--force]
  ${CUSTODY_USAGE}
`;

/** Runs the custos command; returns the exit status. */
export async function main(argv: string[], io: Out = std): Promise<number> {
  const [cmd, ...rest] = argv;
  sweepDeadCopies(); // private copies of evidence a killed run left in the temporary directory
  try {
    switch (cmd) {
      case "lint":
        return lintCommand(rest, io, USAGE);
      case "hsm-check":
        return await hsmCheckCommand(rest, io);
      case "rehearse":
        return await rehearseCommand(rest, io, USAGE);
      case "verify":
        return await verifyCommand(rest, io);
      case "report":
        return await reportCommand(rest, io, USAGE);
      case "export":
        return await exportCommand(rest, io, USAGE);
      case "custody":
        return await custodyCommand(rest, io);
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
