import fs from "node:fs";
import { parseArgs } from "node:util";
import { CustosError } from "../core/errors";
import { rehearse, rehearseFrom, resumeRehearsal } from "../core/rehearse/rehearse";
import { lintScriptText } from "../core/script/load";
import { renderReport } from "../core/report";
import { bundleToJson, exportBundle } from "../core/transcript/bundle";
import { TranscriptStore } from "../core/transcript/store";
import { verifyAnyFile } from "../core/source";
import { describeFailure } from "../core/transcript/verify/index";
import { VERIFY_USAGE, verifyCommand } from "./verify";
import { safe } from "./escape";

const USAGE = `custos — offline root key ceremonies

  custos lint <script.yaml>...
  custos rehearse <script.yaml> --out DIR [--custodians N] [--threshold M] [--algorithm A]
  custos rehearse <recovery|resplit|destruction.yaml> --from DIR --out DIR [--shares 1,3,5] [--custodians N] [--threshold M]
  custos rehearse --resume DIR
  ${VERIFY_USAGE}
  custos report <transcript.sqlite> [--ceremony ID] --out FILE [--allow-not-intact]
  custos export <transcript.sqlite> [--ceremony ID] --out FILE
`;

type Out = { out: (s: string) => void; err: (s: string) => void };
const std: Out = { out: (s) => process.stdout.write(s + "\n"), err: (s) => process.stderr.write(s + "\n") };

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new CustosError("USAGE", `--${name} must be a whole number, not ${JSON.stringify(v)}.`, "");
  return Number(v);
}

/** Runs the custos command; returns the exit status. */
export async function main(argv: string[], io: Out = std): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "lint":
        return lint(rest, io);
      case "rehearse":
        return await rehearseCmd(rest, io);
      case "verify":
        return await verifyCommand(rest, io);
      case "report":
        return await report(rest, io);
      case "export":
        return await exportCmd(rest, io);
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
    if (e instanceof CustosError) {
      io.err(`custos ${safe(cmd)}: ${safe(e.message)}${e.hint ? `\n  ${safe(e.hint)}` : ""}`);
      return e.code === "USAGE" ? 2 : 1;
    }
    if (e instanceof TypeError && /ERR_PARSE_ARGS/.test((e as { code?: string }).code ?? "")) {
      io.err(`custos ${cmd}: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

function lint(args: string[], io: Out): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (!positionals.length) throw new CustosError("USAGE", "lint needs at least one script.", USAGE);
  let bad = 0;
  for (const file of positionals) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      io.err(`${file}: cannot read (${(e as Error).message})`);
      bad++;
      continue;
    }
    const { issues } = lintScriptText(text, file);
    if (issues.length) {
      bad++;
      for (const i of issues) io.err(`${i.file}: ${i.path || "(file)"}: ${i.message}`);
    } else io.out(`${file}: ok`);
  }
  return bad ? 1 : 0;
}

async function rehearseCmd(args: string[], io: Out): Promise<number> {
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
    },
  });
  if (values.resume) {
    const r = await resumeRehearsal(values.resume, io.out);
    io.out(`REHEARSAL complete: ceremony ${r.ceremonyId}, ${r.entries} entries, folder ${r.outDir}`);
    return 0;
  }
  const script = positionals[0];
  if (!script || !values.out) throw new CustosError("USAGE", "rehearse needs a script and --out DIR.", USAGE);
  if (values.from) {
    const shares = values.shares?.split(",").map((x) => int(x.trim(), "shares")!);
    const r = await rehearseFrom({
      scriptPath: script,
      fromDir: values.from,
      outDir: values.out,
      shares,
      custodians: int(values.custodians, "custodians"),
      threshold: int(values.threshold, "threshold"),
      modulePath: values.module,
      log: io.out,
    });
    io.out(`REHEARSAL complete: ceremony ${r.ceremonyId}, ${r.entries} entries, folder ${r.outDir}`);
    return 0;
  }
  if (values.shares) throw new CustosError("USAGE", "--shares goes with --from.", USAGE);
  const r = await rehearse({
    scriptPath: script,
    outDir: values.out,
    custodians: int(values.custodians, "custodians"),
    threshold: int(values.threshold, "threshold"),
    algorithm: values.algorithm,
    modulePath: values.module,
    log: io.out,
  });
  io.out(`REHEARSAL complete: ceremony ${r.ceremonyId}, ${r.entries} entries, folder ${r.outDir}`);
  return 0;
}

function openCeremony(args: string[]): { store: TranscriptStore; id: string; out: string; db: string; allowNotIntact: boolean } {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { ceremony: { type: "string" }, out: { type: "string" }, "allow-not-intact": { type: "boolean" } },
  });
  const db = positionals[0];
  if (!db || !values.out) throw new CustosError("USAGE", "a transcript and --out FILE are needed.", USAGE);
  // Evidence is read through a private copy: reporting never changes a byte of it (invariant 11).
  const store = TranscriptStore.openReadOnly(db);
  const all = store.listCeremonies();
  const id = values.ceremony ?? (all.length === 1 ? all[0]!.id : undefined);
  if (!id) {
    store.close();
    throw new CustosError("USAGE", `${db} holds ${all.length} ceremonies; choose one with --ceremony: ${all.map((c) => safe(c.id)).join(", ")}`, "");
  }
  if (!all.some((c) => c.id === id)) {
    store.close();
    throw new CustosError("CEREMONY_NOT_FOUND", `No ceremony ${safe(id)} in ${db}.`, "");
  }
  return { store, id, out: values.out, db, allowNotIntact: values["allow-not-intact"] === true };
}

/**
 * A report or bundle of a transcript that does not verify would lend it the
 * look of evidence: both commands stop with the verifier's finding. A report
 * may be forced with --allow-not-intact; every page then says NOT INTACT.
 */
async function notIntactReason(db: string, id: string): Promise<string | undefined> {
  const r = await verifyAnyFile(db, { ceremonyId: id });
  if (r.fileFailure) return describeFailure(r.fileFailure);
  const c = r.ceremonies[0];
  return c && !c.ok && c.failure ? describeFailure(c.failure) : undefined;
}

async function report(args: string[], io: Out): Promise<number> {
  const { store, id, out, db, allowNotIntact } = openCeremony(args);
  try {
    const problem = await notIntactReason(db, id);
    if (problem && !allowNotIntact) {
      throw new CustosError("NOT_INTACT", `${db}: ceremony ${safe(id)} does not verify, so no report is printed: ${safe(problem)}`, "Run custos verify on it to see why. --allow-not-intact prints a report marked NOT INTACT on every page.");
    }
    const bundle = exportBundle(store, id);
    fs.writeFileSync(out, await renderReport(bundle, problem ? { notIntact: problem } : {}));
    io.out(`report for ${safe(id)} written to ${out}${problem ? " (marked NOT INTACT on every page)" : ""}`);
    return 0;
  } finally {
    store.close();
  }
}

async function exportCmd(args: string[], io: Out): Promise<number> {
  const { store, id, out, db } = openCeremony(args);
  try {
    const problem = await notIntactReason(db, id);
    if (problem) throw new CustosError("NOT_INTACT", `${db}: ceremony ${safe(id)} does not verify, so it is not exported: ${safe(problem)}`, "Run custos verify on it to see why.");
    fs.writeFileSync(out, bundleToJson(exportBundle(store, id)));
    io.out(`bundle for ${safe(id)} written to ${out}`);
    return 0;
  } finally {
    store.close();
  }
}
