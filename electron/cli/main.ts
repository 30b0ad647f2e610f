import fs from "node:fs";
import { parseArgs } from "node:util";
import { CustosError } from "../core/errors";
import { rehearse, rehearseFrom, resumeRehearsal } from "../core/rehearse/rehearse";
import { lintScriptText } from "../core/script/load";
import { renderReport } from "../core/report";
import { verifyAnyFile } from "../core/source";
import { bundleToJson, exportBundle } from "../core/transcript/bundle";
import { TranscriptStore } from "../core/transcript/store";
import type { VerifyResult } from "../core/transcript/types";

const USAGE = `custos — offline root key ceremonies

  custos lint <script.yaml>...
  custos rehearse <script.yaml> --out DIR [--custodians N] [--threshold M] [--algorithm A]
  custos rehearse <recovery|resplit|destruction.yaml> --from DIR --out DIR [--shares 1,3,5] [--custodians N] [--threshold M]
  custos rehearse --resume DIR
  custos verify <transcript.sqlite | bundle.json | report.pdf>
  custos report <transcript.sqlite> [--ceremony ID] --out FILE
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
        return verify(rest, io);
      case "report":
        return await report(rest, io);
      case "export":
        return exportCmd(rest, io);
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
      io.err(`custos ${cmd}: ${e.message}${e.hint ? `\n  ${e.hint}` : ""}`);
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

function openCeremony(args: string[]): { store: TranscriptStore; id: string; out: string } {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { ceremony: { type: "string" }, out: { type: "string" } } });
  const db = positionals[0];
  if (!db || !values.out) throw new CustosError("USAGE", "a transcript and --out FILE are needed.", USAGE);
  if (!fs.existsSync(db)) throw new CustosError("TRANSCRIPT_UNREADABLE", `${db} does not exist.`, "Check the path.");
  const store = TranscriptStore.open(db);
  const all = store.listCeremonies();
  const id = values.ceremony ?? (all.length === 1 ? all[0]!.id : undefined);
  if (!id) {
    store.close();
    throw new CustosError("USAGE", `${db} holds ${all.length} ceremonies; choose one with --ceremony: ${all.map((c) => c.id).join(", ")}`, "");
  }
  if (!all.some((c) => c.id === id)) {
    store.close();
    throw new CustosError("CEREMONY_NOT_FOUND", `No ceremony ${id} in ${db}.`, "");
  }
  return { store, id, out: values.out };
}

async function report(args: string[], io: Out): Promise<number> {
  const { store, id, out } = openCeremony(args);
  try {
    const bundle = exportBundle(store, id, lastTimestamp(store, id));
    fs.writeFileSync(out, await renderReport(bundle));
    io.out(`report for ${id} written to ${out}`);
    return 0;
  } finally {
    store.close();
  }
}

function exportCmd(args: string[], io: Out): number {
  const { store, id, out } = openCeremony(args);
  try {
    fs.writeFileSync(out, bundleToJson(exportBundle(store, id, lastTimestamp(store, id))));
    io.out(`bundle for ${id} written to ${out}`);
    return 0;
  } finally {
    store.close();
  }
}

/** Exports are stamped with the transcript's own last time, so re-exports are reproducible. */
function lastTimestamp(store: TranscriptStore, id: string): string {
  const e = store.entries(id);
  return e[e.length - 1]?.body.timestamp ?? new Date(0).toISOString();
}
