/**
 * One private copy of an evidence file (and a database's -wal), so that what
 * is verified and what is then read back are the same bytes: a file swapped
 * or edited between the two reads cannot slip unverified content into a
 * ceremony or a register. The copy lives in a 0700 temporary folder that is
 * removed afterwards (not after SIGKILL); messages name the original file,
 * never the copy. A file that cannot be copied whole is refused: there is no
 * fallback to reading the file itself.
 */
import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";
import { privateCopyDir } from "./private-copies";
import { MAX_EVIDENCE_BYTES, copyDatabase, evidenceWal } from "../transcript/store-open";

/** What an error says, with the private copy's path replaced by the file the user gave. */
export function namingOriginal(e: unknown, copy: string, file: string): string {
  return (e instanceof CustosError ? e.message : String((e as Error)?.message ?? e)).split(copy).join(file);
}

export async function withEvidenceSnapshot<T>(file: string, use: (copy: string) => Promise<T> | T): Promise<T> {
  const refuse = (why: string, cause?: unknown) =>
    new CustosError("EVIDENCE_UNREADABLE", `${file} cannot be used: ${why}`, "Give the path of a transcript.sqlite, bundle.json or report.pdf file that can be read.", cause === undefined ? undefined : { cause });
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (cause) {
    throw refuse(`it cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}).`, cause);
  }
  if (st.isDirectory()) throw refuse("it is a folder, not a transcript.");
  if (!st.isFile()) throw refuse("it is not a regular file (a device, pipe or socket).");
  if (st.size > MAX_EVIDENCE_BYTES) throw refuse(`it is larger than ${MAX_EVIDENCE_BYTES / 1024 / 1024} MiB.`);
  // The same -wal rule as the evidence reader (store-open.ts): a regular, non-empty file is part of the database.
  const wal = evidenceWal(file, refuse);
  let dir: string | undefined;
  let copy: string;
  try {
    dir = privateCopyDir("snapshot");
    copy = path.join(dir, path.basename(file));
    copyDatabase(file, copy, refuse, wal);
  } catch (cause) {
    // Never fall back to reading the file itself: verified and used must be the same bytes.
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (cause instanceof CustosError) throw cause;
    const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new CustosError(
      "EVIDENCE_UNREADABLE",
      `${file} cannot be read into a private copy (${why}), so it is not used: what is verified and what is used must be the same bytes.`,
      "Make sure the file and any -wal file beside it are readable, and that the temporary folder has room, then try again.",
      { cause },
    );
  }
  try {
    try {
      return await use(copy);
    } catch (e) {
      if (e instanceof CustosError && e.message.includes(copy)) {
        throw new CustosError(e.code, namingOriginal(e, copy, file), e.hint.split(copy).join(file), { cause: e.cause, details: e.details });
      }
      // Any other error (an internal fault) names the file given too, never the private folder.
      if (e instanceof Error && !(e instanceof CustosError) && e.message.includes(dir!)) e.message = e.message.split(copy).join(file).split(dir!).join("(a private copy)");
      throw e;
    }
  } finally {
    fs.rmSync(dir!, { recursive: true, force: true });
  }
}
