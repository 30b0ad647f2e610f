/**
 * What the Done screen offers for a finished ceremony: verify its bundle,
 * print its report, save a copy of the report where the operator chooses.
 * The folder itself is opened by the main process (a file manager is a
 * desktop matter, not the core's).
 */
import fs from "node:fs";
import path from "node:path";
import type { ChannelRequest } from "../../shared/ipc";
import { CustosError } from "../errors";
import { writeFileAtomic } from "../files/atomic";
import { toCustosError } from "../files/fault";
import { isInside } from "../files/paths";
import { verifyAnyFile } from "../source";
import { exitStatus } from "../transcript/verify/index";
import type { FileHandles } from "./file-handles";
import type { PrintPdf } from "./print";

export interface ReportActionDeps {
  /** The open ceremony's id, folder and whether it is complete. */
  current: () => { id: string; dir: string; done: boolean } | null;
  files: FileHandles;
  print: PrintPdf;
  /** The app's own data folder: a report copy is never written into it. */
  dataDir: string;
}

/** The report:* handlers of the core. */
export function reportHandlers(d: ReportActionDeps) {
  const finished = () => {
    const c = d.current();
    if (!c) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "Open the ceremony from the home screen.");
    if (!c.done) throw new CustosError("CEREMONY_NOT_DONE", "The ceremony is not complete yet.", "The report is made when the last step is recorded.");
    return c;
  };
  const reportPdf = () => {
    const c = finished();
    const file = path.join(c.dir, "report.pdf");
    if (!fs.existsSync(file)) throw new CustosError("REPORT_NOT_READY", "The report is still being written (or could not be).", "Wait a moment and try again; `custos report` prints it from the transcript too.");
    return { c, file };
  };
  return {
    async "report:verify"() {
      const c = finished();
      // The report itself, so its pages are checked against the bundle too (docs/transcript-format.md §8).
      const r = await verifyAnyFile(fs.existsSync(path.join(c.dir, "report.pdf")) ? path.join(c.dir, "report.pdf") : path.join(c.dir, "bundle.json"));
      const mine = r.ceremonies.find((x) => x.ceremonyId === c.id);
      return {
        ok: !!mine?.ok,
        status: exitStatus(r),
        completeness: mine?.completeness ?? "incomplete",
        entries: mine?.entries ?? 0,
        head: mine?.head ?? null,
        failure: mine?.failure ?? r.fileFailure ?? null,
      };
    },
    async "report:print"() {
      const { c, file } = reportPdf();
      return { printed: await d.print(fs.readFileSync(file), `Custos report ${c.id}`) };
    },
    async "report:save"(req: ChannelRequest<"report:save">) {
      const { file } = reportPdf();
      let target = d.files.resolve(req.file, ["report"]);
      if (!target.toLowerCase().endsWith(".pdf")) target += ".pdf";
      // Checked after following symlinks: a link elsewhere that points into the app's folder is refused too.
      if (isInside(target, d.dataDir)) {
        throw new CustosError("REPORT_PATH", "Copies of the report are not written into Custos's own folders.", "Choose a removable medium or another folder.");
      }
      // Atomic and durable: a cut-off copy never takes the chosen name (the dialog already asked about replacing).
      try {
        writeFileAtomic(target, fs.readFileSync(file));
      } catch (e) {
        throw toCustosError(e, { doing: `saving the report to ${target}`, intact: "The report in the ceremony's folder is unchanged.", next: "Choose another place." });
      }
      d.files.drop(req.file);
      return { saved: path.basename(target) };
    },
  };
}
