/**
 * The app's log file: why it started the way it did and why anything crashed
 * (core host exits, renderer crashes, hangs), for whoever reviews a ceremony
 * that went wrong. Reasons and codes only: no request payloads, no state, so
 * no share word or PIN can end up in it (invariant 3). Appends without
 * blocking the main process; the one synchronous write is for a fatal start.
 */
import fs from "node:fs";
import path from "node:path";

export interface AppLog {
  /** Appends a line (timestamped) without blocking. */
  line(text: string): void;
  /** Appends a line synchronously (the app is about to exit). */
  lineSync(text: string): void;
  /** Resolves when every line so far is on disk. */
  flush(): Promise<void>;
  readonly file: string;
}

/** Opens the log, keeping the previous one as custos.log.1 once it passes maxBytes. */
export function openLog(file: string, o: { maxBytes?: number; echo?: (line: string) => void } = {}): AppLog {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if ((fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0) > (o.maxBytes ?? 1_000_000)) fs.renameSync(file, `${file}.1`);
  } catch {
    // A log that cannot be prepared must not stop a ceremony; lines still go to stderr.
  }
  let chain: Promise<void> = Promise.resolve();
  const stamp = (text: string) => `${new Date().toISOString()} ${text.replace(/\r?\n/g, "\n    ")}\n`;
  return {
    file,
    line(text) {
      const l = stamp(text);
      o.echo?.(l.trimEnd());
      chain = chain.then(() => fs.promises.appendFile(file, l, { mode: 0o600 })).catch(() => {});
    },
    lineSync(text) {
      const l = stamp(text);
      o.echo?.(l.trimEnd());
      try {
        fs.appendFileSync(file, l, { mode: 0o600 });
      } catch {
        // see above
      }
    },
    flush: () => chain,
  };
}
