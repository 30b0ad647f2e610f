import { parseArgs } from "node:util";
import { CustosError } from "../core/errors";
import { lintScriptFile } from "../core/script/load";
import type { Out } from "./io";

/** `custos lint <script>…`: the same reader and checks as `rehearse` and the app (lint = load). */
export function lintCommand(args: string[], io: Out, usage: string): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (!positionals.length) throw new CustosError("USAGE", "lint needs at least one script.", usage);
  let bad = 0;
  for (const file of positionals) {
    const { issues } = lintScriptFile(file);
    if (issues.length) {
      bad++;
      for (const i of issues) io.err(`${i.file}: ${i.path || "(file)"}: ${i.message}`);
    } else io.out(`${file}: ok`);
  }
  return bad ? 1 : 0;
}
