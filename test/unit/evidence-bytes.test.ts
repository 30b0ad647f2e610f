/**
 * Evidence is read through one descriptor, checked with fstat and capped as
 * it is read (files/evidence-bytes.ts): a file swapped for a FIFO, or grown
 * after its size was checked, is refused, never read whole or waited on.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { copyCapped, readCapped } from "../../electron/core/files/evidence-bytes";
import { tempDir } from "./transcript-fixture";

const refuse = (why: string) => new Error(`refused: ${why}`);

describe("reading evidence by descriptor, capped", () => {
  it("reads and copies a regular file whole, byte for byte", () => {
    const dir = tempDir("custos-evidence-bytes-");
    const f = path.join(dir, "a");
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    data.write("start");
    fs.writeFileSync(f, data);
    expect(readCapped(f, data.length, refuse).equals(data)).toBe(true);
    copyCapped(f, path.join(dir, "b"), data.length, refuse);
    expect(fs.readFileSync(path.join(dir, "b")).equals(data)).toBe(true);
    expect(fs.statSync(path.join(dir, "b")).mode & 0o777).toBe(0o600);
  });

  it("refuses a file larger than the cap before reading it", () => {
    const dir = tempDir("custos-evidence-bytes-");
    const f = path.join(dir, "a");
    fs.writeFileSync(f, "0123456789");
    expect(() => readCapped(f, 9, refuse)).toThrow("refused: it is larger than");
    expect(() => copyCapped(f, path.join(dir, "b"), 9, refuse)).toThrow("refused: it is larger than");
    expect(fs.existsSync(path.join(dir, "b"))).toBe(false);
  });

  it("counts while it reads: a file whose size said less than it holds (as one grown after the check) is refused, and no partial copy is left", () => {
    // /proc files are regular files whose size reads 0, however much they hold: the same as a file grown after fstat.
    const maps = "/proc/self/maps";
    expect(fs.statSync(maps).size).toBe(0);
    expect(() => readCapped(maps, 16, refuse)).toThrow("refused: it is larger than");
    const dir = tempDir("custos-evidence-bytes-");
    expect(() => copyCapped(maps, path.join(dir, "b"), 16, refuse, "its -wal file")).toThrow("refused: its -wal file is larger than");
    expect(fs.existsSync(path.join(dir, "b"))).toBe(false);
  });

  it("a FIFO or a device in the file's place is refused at once, never waited on", () => {
    const dir = tempDir("custos-evidence-bytes-");
    const fifo = path.join(dir, "transcript.sqlite-wal");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    expect(() => readCapped(fifo, 1024, refuse)).toThrow("refused: it is not a regular file");
    expect(() => copyCapped(fifo, path.join(dir, "b"), 1024, refuse)).toThrow("refused: it is not a regular file");
    expect(() => readCapped("/dev/zero", 1024, refuse)).toThrow("refused: it is not a regular file");
    expect(() => readCapped(path.join(dir, "missing"), 1024, refuse)).toThrow("refused: it cannot be read (ENOENT)");
  });
});
