/**
 * Reading evidence by descriptor: a file is opened once (read-only,
 * non-blocking, so a FIFO or a device put in its place cannot hang the read),
 * checked with fstat on that very descriptor to be a regular file, and read
 * or copied up to a cap, never past it: a file swapped, or grown, after a
 * check by path cannot slip past the check (the size is counted as it is read).
 */
import fs from "node:fs";

/** Why a file cannot be evidence, in words for a message ("it is not a regular file."). */
export type Refuse = (why: string) => Error;

const CHUNK = 1024 * 1024;

function openChecked(file: string, max: number, refuse: Refuse, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (cause) {
    throw refuse(`${what} cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}).`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw refuse(`${what} is not a regular file.`);
    if (st.size > max) throw refuse(`${what} is larger than ${max / 1024 / 1024} MiB.`);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Reads chunks from fd until its end, calling `take` for each; refused once more than `max` bytes came. */
function drain(fd: number, max: number, refuse: Refuse, what: string, take: (chunk: Buffer) => void): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, CHUNK, total);
    } catch (cause) {
      throw refuse(`${what} cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}).`);
    }
    if (n === 0) return total;
    total += n;
    if (total > max) throw refuse(`${what} is larger than ${max / 1024 / 1024} MiB.`);
    take(buf.subarray(0, n));
  }
}

/** The whole of a regular file of at most `max` bytes. `what` names it in messages ("it", "its -wal file"). */
export function readCapped(file: string, max: number, refuse: Refuse, what = "it"): Buffer {
  const { fd } = openChecked(file, max, refuse, what);
  try {
    const parts: Buffer[] = [];
    drain(fd, max, refuse, what, (c) => parts.push(Buffer.from(c)));
    return Buffer.concat(parts);
  } finally {
    fs.closeSync(fd);
  }
}

/** Copies a regular file of at most `max` bytes to `dest` (created new, 0600); a partial copy is removed. */
export function copyCapped(file: string, dest: string, max: number, refuse: Refuse, what = "it"): void {
  const { fd } = openChecked(file, max, refuse, what);
  let out: number | undefined;
  try {
    out = fs.openSync(dest, "wx", 0o600);
    const o = out;
    drain(fd, max, refuse, what, (c) => {
      let off = 0;
      while (off < c.length) off += fs.writeSync(o, c, off, c.length - off);
    });
  } catch (e) {
    if (out !== undefined) fs.rmSync(dest, { force: true });
    throw e;
  } finally {
    if (out !== undefined) fs.closeSync(out);
    fs.closeSync(fd);
  }
}
