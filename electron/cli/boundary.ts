import { toCustosError } from "../core/files/fault";
import { safe } from "./escape";
import type { Out } from "./io";

/** A hint (a usage text) keeps its own lines, each escaped and indented, so nothing it quotes can start a line of its own. */
export function hintLines(hint: string): string {
  return hint ? `\n${hint.split("\n").map((line) => `  ${safe(line)}`).join("\n")}` : "";
}

/**
 * The CLI's one error boundary: whatever a command throws is printed as a
 * message and a hint, never as a stack trace (CUSTOS_DEBUG=1 adds the
 * original error for developers). Returns the exit status.
 */
export function reportFailure(cmd: string | undefined, e: unknown, io: Out, usage: string): number {
  if (e instanceof TypeError && /ERR_PARSE_ARGS/.test((e as { code?: string }).code ?? "")) {
    // The message quotes the option as typed: escaped like everything else the user or a file name brings in.
    io.err(`custos ${safe(cmd)}: ${safe(e.message)}\n\n${usage}`);
    return 2;
  }
  const err = toCustosError(e);
  // Messages may quote what a transcript says (attacker-controlled): escaped, never raw control characters. A hint
  // (a usage text) keeps its own lines, each escaped and indented, so nothing it quotes can start a line of its own.
  const hint = hintLines(err.hint);
  io.err(`custos ${safe(cmd)}: ${safe(err.message)}${hint}`);
  if (process.env.CUSTOS_DEBUG === "1") io.err(String((e as Error)?.stack ?? e));
  return err.code === "USAGE" ? 2 : 1;
}
