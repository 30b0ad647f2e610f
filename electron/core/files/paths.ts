import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";

/**
 * The real path p names: symlinks followed; for a file that does not exist
 * yet, its folder's real path plus its name.
 */
export function realTarget(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    if (parent === abs) return abs;
    return path.join(realTarget(parent), path.basename(abs));
  }
}

/** SQLite keeps part of a database beside it; those files are the database too. */
function withSidecars(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}

function sameInode(a: string, b: string): boolean {
  try {
    const x = fs.statSync(a);
    const y = fs.statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Checks an output path before anything is written: not a folder, not an
 * existing file unless `force`, and never (through a symlink, `..` or a hard
 * link) one of the command's inputs. Threat: `custos export T --out T`
 * replacing the evidence it was asked to read. Returns the absolute path.
 */
export function checkOutPath(out: string, inputs: string[], o: { force?: boolean } = {}): string {
  const abs = path.resolve(out);
  const real = realTarget(abs);
  for (const input of inputs) {
    const inReal = realTarget(input);
    if (withSidecars(inReal).includes(real) || sameInode(abs, input)) {
      throw new CustosError("OUTPUT_IS_INPUT", `${out} is the input ${input}${real !== abs ? ` (through ${real})` : ""}; Custos never writes over the evidence it reads.`, "Choose another --out path.");
    }
  }
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new CustosError("IS_A_FOLDER", `${out} is a folder.`, "Give --out the path of a file inside it.");
  const exists = !!st || isDanglingLink(abs);
  if (exists && !o.force) throw new CustosError("OUTPUT_EXISTS", `${out} already exists; Custos does not overwrite files.`, "Choose a new file name, or pass --force to replace it.");
  if (st && !st.isFile()) throw new CustosError("OUTPUT_NOT_FILE", `${out} is not a regular file (a device, socket or pipe).`, "Give --out the path of a file.");
  const parent = path.dirname(abs);
  if (!fs.existsSync(parent)) throw new CustosError("NOT_FOUND", `The folder ${parent} does not exist.`, "Create it first, or choose another --out path.");
  return abs;
}

function isDanglingLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** True when `inner` is `outer` or inside it, after following symlinks of both. */
export function isInside(inner: string, outer: string): boolean {
  const a = realTarget(inner);
  const b = realTarget(outer);
  return a === b || a.startsWith(b.endsWith(path.sep) ? b : b + path.sep);
}
