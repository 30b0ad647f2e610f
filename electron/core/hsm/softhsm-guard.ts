import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../files/atomic";

/**
 * SoftHSM2's file store rewrites token.object in place (truncate, then write;
 * no rename, no fsync) on every successful login. A power cut or SIGKILL in
 * between leaves it empty and the throwaway token, with the root key, is
 * gone. For rehearsal tokens only, Custos keeps a copy of each token.object
 * after every recorded step and puts it back when it finds one emptied.
 * Real HSMs are not touched by this.
 */
export class SoftHsmTokenGuard {
  constructor(
    private readonly tokenDir: string,
    private readonly backupDir: string,
  ) {}

  private tokenFiles(): Array<{ id: string; file: string }> {
    if (!fs.existsSync(this.tokenDir)) return [];
    return fs
      .readdirSync(this.tokenDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => ({ id: d.name, file: path.join(this.tokenDir, d.name, "token.object") }))
      .filter((t) => fs.existsSync(t.file));
  }

  /** Copies every non-empty token.object aside (atomically and durably: a full disk keeps the previous copy). */
  snapshot(): void {
    for (const t of this.tokenFiles()) {
      const data = fs.readFileSync(t.file);
      if (data.length === 0) continue;
      fs.mkdirSync(this.backupDir, { recursive: true, mode: 0o700 });
      writeFileAtomic(path.join(this.backupDir, `${t.id}.token.object`), data, { mode: 0o600 });
    }
  }

  /**
   * Restores any token.object a crash left empty. A token folder with an empty
   * or missing token.object, no copy and no other objects is a C_InitToken that
   * was cut off: it never held a key (copies exist from the step that recorded
   * the initialisation on), so it is removed and the step initialises afresh.
   * Returns what was repaired or removed.
   */
  repair(initialisationRecorded = false): string[] {
    const done: string[] = [];
    if (!fs.existsSync(this.tokenDir)) return done;
    for (const d of fs.readdirSync(this.tokenDir, { withFileTypes: true }).filter((x) => x.isDirectory())) {
      const dir = path.join(this.tokenDir, d.name);
      const file = path.join(dir, "token.object");
      const copy = path.join(this.backupDir, `${d.name}.token.object`);
      const intact = fs.existsSync(file) && fs.statSync(file).size > 0;
      if (!intact && fs.existsSync(copy)) {
        writeFileAtomic(file, fs.readFileSync(copy), { mode: 0o600 });
        done.push(`${d.name} restored`);
        continue;
      }
      if (fs.existsSync(copy)) continue;
      // Before the initialisation is recorded a token folder may also hold a token.object
      // cut off part-way (non-empty but unreadable to SoftHSM): it can hold no key yet.
      if (intact && !initialisationRecorded) {
        const others = fs.readdirSync(dir).filter((f) => f.endsWith(".object") && f !== "token.object");
        if (others.length === 0) {
          fs.rmSync(dir, { recursive: true, force: true });
          done.push(`${d.name} (initialisation not recorded) removed`);
        }
        continue;
      }
      if (intact) continue;
      const others = fs.readdirSync(dir).filter((f) => f.endsWith(".object") && f !== "token.object");
      if (others.length === 0) {
        fs.rmSync(dir, { recursive: true, force: true });
        done.push(`${d.name} (cut-off initialisation) removed`);
      }
    }
    return done;
  }
}
