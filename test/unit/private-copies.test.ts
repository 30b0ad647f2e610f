/**
 * Private copies of evidence left by a killed process (SIGKILL: no finally
 * runs) are removed by the next run of custos or of the app, and only those:
 * a live process's folder, another user's, a link, or a look-alike name stay.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sweepDeadCopies } from "../../electron/core/files/private-copies";
import { ROOT, custos } from "../helpers/files";
import { tempDir } from "./transcript-fixture";

/** A process number that is not in use: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("private copies of evidence left by a killed run", () => {
  it("a run killed while it held a private copy leaves it; the next custos command removes it and nothing else", () => {
    const tmp = tempDir("custos-private-tmp-");
    // A real process makes its private folder the way Custos does, then is SIGKILLed.
    const script = path.join(tmp, "..", `${path.basename(tmp)}-killed.mts`);
    fs.writeFileSync(script, `import fs from "node:fs";\nimport { privateCopyDir } from ${JSON.stringify(path.join(ROOT, "electron/core/files/private-copies.ts"))};\nconst d = privateCopyDir("evidence");\nfs.writeFileSync(d + "/transcript.sqlite", "copy");\nprocess.kill(process.pid, "SIGKILL");\n`);
    const killed = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, encoding: "utf8" });
    fs.rmSync(script);
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const left = fs.readdirSync(tmp).filter((n) => n.startsWith("custos-evidence-"));
    expect(left).toHaveLength(1);
    expect(fs.statSync(path.join(tmp, left[0]!)).mode & 0o777).toBe(0o700);
    // What must stay: a live process's folder (this one's), a link, a look-alike name, another user's folder.
    const mine = path.join(tmp, `custos-snapshot-${process.pid}-abcdef`);
    fs.mkdirSync(mine);
    const dead = deadPid();
    fs.symlinkSync(mine, path.join(tmp, `custos-snapshot-${dead}-linked`));
    fs.mkdirSync(path.join(tmp, `custos-snapshot-${dead}-toolongname`));
    const theirs = path.join(tmp, `custos-evidence-${dead}-theirs`);
    fs.mkdirSync(theirs);
    fs.chownSync(theirs, 65534, 65534);
    const r = custos(["verify", path.join(ROOT, "test/vectors/valid/rehearsal-generation.bundle.json")], { TMPDIR: tmp });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith("custos-")).sort()).toEqual([`custos-evidence-${dead}-theirs`, `custos-snapshot-${dead}-linked`, `custos-snapshot-${dead}-toolongname`, `custos-snapshot-${process.pid}-abcdef`].sort());
  });

  it("the sweep never throws: an unreadable or missing temporary directory is left alone", () => {
    expect(sweepDeadCopies("/nonexistent/custos-tmp")).toEqual([]);
  });
});
