/**
 * Printing through CUPS without blocking: the PDF goes to `lp` on stdin, so
 * no temporary file of ours holds a share card, and the process that runs it
 * keeps answering while the printer spools.
 */
import { spawn } from "node:child_process";
import { CustosError } from "../errors";

/** Sends a PDF to a printer; resolves with what `lp` said (the job id). */
export type PrintPdf = (pdf: Buffer, title: string) => Promise<string>;

export interface LpOptions {
  /** The lp command (CUSTOS_LP_COMMAND in tests, else "lp"). */
  command?: string;
  /** Gives up (and kills lp) after this long. */
  timeoutMs?: number;
}

/** The real printer: CUPS's lp, fed from memory. */
export function lpPrinter(o: LpOptions = {}): PrintPdf {
  const command = o.command ?? process.env.CUSTOS_LP_COMMAND ?? "lp";
  const timeoutMs = o.timeoutMs ?? 30_000;
  return (pdf, title) =>
    new Promise((resolve, reject) => {
      // -t names the job in the queue; nothing secret goes into it.
      const child = spawn(command, ["-t", title, "-o", "media=A4", "-"], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let err = "";
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new CustosError("PRINT_FAILED", `Printing failed (${why}).`, "Check the printer (lpstat -p), then try again; or save the file to a removable medium instead."));
      };
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        fail(`no answer from ${command} after ${Math.round(timeoutMs / 1000)} s`);
      }, timeoutMs);
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      child.on("error", (e) => fail(e.message));
      // lp may exit before reading everything (no printer): that is its exit status's story, not an EPIPE crash.
      child.stdin.on("error", () => {});
      child.on("close", (code) => {
        if (settled) return;
        if (code !== 0) return fail((err || out || `${command} exited with ${code}`).trim().slice(0, 300));
        settled = true;
        clearTimeout(timer);
        resolve((out || "sent to the printer").trim());
      });
      child.stdin.end(pdf);
    });
}
