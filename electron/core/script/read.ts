import fs from "node:fs";
import { CustosError } from "../errors";

/** Scripts are short documents; anything larger is refused before it is read. */
export const MAX_SCRIPT_BYTES = 256 * 1024;

/**
 * Reads a script file the same way for `lint`, `rehearse` and the app: a
 * regular file only (a FIFO would hang, /dev/zero would grow without end),
 * at most MAX_SCRIPT_BYTES, strict UTF-8 (a script whose bytes do not decode
 * would hash one way and store another, and its transcript would never verify).
 */
export function readScriptFile(file: string): { bytes: Buffer; text: string } {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; the regular-file check below refuses it.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a folder" : (e as Error).message;
    throw new CustosError("SCRIPT_UNREADABLE", `${file}: cannot read the script (${why}).`, "Check the path and permissions.");
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new CustosError("SCRIPT_UNREADABLE", `${file}: cannot read the script (it is a folder).`, "Give the path of a .yaml file.");
    if (!st.isFile()) throw new CustosError("SCRIPT_UNREADABLE", `${file}: not a regular file (a device, pipe or socket).`, "Give the path of a .yaml file.");
    if (st.size > MAX_SCRIPT_BYTES) throw tooLarge(file);
    // Read at most one byte past the cap, whatever fstat said (a file may grow while it is read).
    const buf = Buffer.alloc(MAX_SCRIPT_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = fs.readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
      if (n === buf.length) break;
    }
    if (n > MAX_SCRIPT_BYTES) throw tooLarge(file);
    const bytes = buf.subarray(0, n);
    return { bytes, text: decodeScriptBytes(bytes, file) };
  } catch (e) {
    if (e instanceof CustosError) throw e;
    throw new CustosError("SCRIPT_UNREADABLE", `${file}: cannot read the script (${(e as Error).message}).`, "Check the path and permissions.");
  } finally {
    fs.closeSync(fd);
  }
}

/** Strict UTF-8: refuses invalid byte sequences instead of replacing them with U+FFFD. */
export function decodeScriptBytes(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // Name the line: the decoded text shows the first bad sequence as U+FFFD.
    const lossy = new TextDecoder("utf-8").decode(bytes);
    const at = lossy.indexOf("\uFFFD");
    const line = at < 0 ? 1 : lossy.slice(0, at).split("\n").length;
    throw new CustosError("SCRIPT_INVALID", `${file}: the script is not valid UTF-8 (line ${line}).`, "Save the script as UTF-8 text.");
  }
}

function tooLarge(file: string): CustosError {
  return new CustosError("SCRIPT_INVALID", `${file}: the script is larger than ${MAX_SCRIPT_BYTES / 1024} KiB.`, "Ceremony scripts are short documents; check you chose the right file.");
}
