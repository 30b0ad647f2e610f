import { parseArgs } from "node:util";
import { CustosError } from "../core/errors";
import { rehearse, rehearseFrom, resumeRehearsal } from "../core/rehearse/rehearse";
import type { Out } from "./io";

function int(v: string | undefined, name: string, usage: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,6}$/.test(v)) throw new CustosError("USAGE", `--${name} must be a whole number, not ${JSON.stringify(v.slice(0, 40))}.`, usage);
  return Number(v);
}

/** `custos rehearse …`: a new rehearsal, one driven from an earlier rehearsal, or a resume. */
export async function rehearseCommand(args: string[], io: Out, usage: string): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      custodians: { type: "string" },
      threshold: { type: "string" },
      algorithm: { type: "string" },
      module: { type: "string" },
      resume: { type: "string" },
      from: { type: "string" },
      shares: { type: "string" },
      input: { type: "string", multiple: true },
    },
  });
  const done = (r: { ceremonyId: string; entries: number; outDir: string }) => {
    io.out(`REHEARSAL complete: ceremony ${r.ceremonyId}, ${r.entries} entries, folder ${r.outDir}`);
    return 0;
  };
  if (values.resume) {
    if (positionals.length || values.out || values.from) throw new CustosError("USAGE", "--resume DIR takes no script, --out or --from: the folder says what to continue.", usage);
    return done(await resumeRehearsal(values.resume, io.out));
  }
  const script = positionals[0];
  if (!script || !values.out) throw new CustosError("USAGE", "rehearse needs a script and --out DIR.", usage);
  const custodians = int(values.custodians, "custodians", usage);
  const threshold = int(values.threshold, "threshold", usage);
  const inputs: Record<string, string> = {};
  for (const v of values.input ?? []) {
    const i = v.indexOf("=");
    if (i <= 0) throw new CustosError("USAGE", `--input takes NAME=FILE, not ${JSON.stringify(v.slice(0, 80))}.`, usage);
    inputs[v.slice(0, i)] = v.slice(i + 1);
  }
  if (values.from) {
    const shares = values.shares?.split(",").map((x) => int(x.trim(), "shares", usage)!);
    return done(
      await rehearseFrom({ scriptPath: script, fromDir: values.from, outDir: values.out, shares, custodians, threshold, modulePath: values.module, log: io.out, inputs }),
    );
  }
  if (Object.keys(inputs).length) throw new CustosError("USAGE", "--input goes with --from (a signing rehearsal).", usage);
  if (values.shares) throw new CustosError("USAGE", "--shares goes with --from.", usage);
  return done(await rehearse({ scriptPath: script, outDir: values.out, custodians, threshold, algorithm: values.algorithm, modulePath: values.module, log: io.out }));
}
