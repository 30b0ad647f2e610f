/**
 * Issue 11 item 6: the report an auditor reads. A real ceremony on SoftHSM2
 * with an exception written by the witness and a deviation Custos recorded;
 * its report read back with poppler (pdftotext), as a person would read it.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ceremony, makeRoom, type TestRoom } from "../helpers/room";
import { exportBundle } from "../../electron/core/transcript/bundle";
import type { Bundle } from "../../electron/core/transcript/types";
import { renderReport } from "../../electron/core/report";
import { renderFinalHeadSheet } from "../../electron/core/report/final-attestation";
import { checkReportBinding } from "../../electron/core/report/binding";
import { bundleJsonText } from "../../electron/core/report/report";

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
/** Page texts of a PDF in the order they were drawn, white space folded, one string per page. */
const pages = (file: string): string[] => run("pdftotext", ["-raw", file, "-"]).split("\f").slice(0, -1).map((p) => p.replace(/\s+/g, " "));

const EXCEPTION = "The camera stopped for two minutes; restarted at 10:42.";
let room: TestRoom;
let bundle: Bundle;
let file: string;
let text: string[];

beforeAll(async () => {
  room = makeRoom();
  const c = Ceremony.start(room.deps(), room.loaded, { mode: "rehearsal" });
  await c.runNextStep(); // opening
  await c.runNextStep(); // attendance
  const witness = c.enrolled().find((p) => p.roles.includes("internal-witness"))!;
  await c.recordException(EXCEPTION, witness.id);
  c.recordDeviation("wrong-pin", { role: "user", attempts: 1 });
  await c.runToEnd();
  const id = c.id;
  c.close();
  const d = room.deps();
  bundle = exportBundle(d.store, id);
  d.store.close();
  file = path.join(room.dir, "report.pdf");
  fs.writeFileSync(file, await renderReport(bundle));
  fs.writeFileSync(path.join(room.dir, "final-head.pdf"), await renderFinalHeadSheet(bundle));
  text = pages(file);
}, 120_000);
afterAll(() => {
  if (process.env.CUSTOS_KEEP_TEST_OUTPUT) console.log(`report kept in ${room.dir}`);
  else room?.cleanup();
});

describe("the auditor's report of a real ceremony with an exception and a deviation", () => {
  it("counts the exceptions and deviations on the cover", () => {
    expect(text[0]).toMatch(/Exceptions 1 — written and signed by a witness/);
    expect(text[0]).toMatch(/Deviations 1 — recorded by Custos/);
    expect(text[0]).toContain("custos-report-binding: 2");
  });

  it("lists each one in its own section, by entry number and step, before the transcript", () => {
    const at = text.findIndex((p) => p.includes("Exceptions and deviations Everything that happened outside the script"));
    const transcript = text.findIndex((p) => /Transcript Every entry in order/.test(p));
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(transcript);
    const section = text.slice(at, transcript).join(" ");
    const exc = bundle.entries.find((e) => e.body.action === "exception")!;
    const dev = bundle.entries.find((e) => e.body.action === "deviation")!;
    expect(section).toContain(`${exc.body.seq} 3 of 16 Air-gap check`);
    expect(section).toContain(`EXCEPTION: ${EXCEPTION}`);
    expect(section).toContain(`${dev.body.seq} 3 of 16 Air-gap check`);
    expect(section).toContain("DEVIATION — Wrong PIN: attempts 1, role user");
  });

  it("sets exceptions and deviations apart in the transcript: no step number, no initials box of their own", () => {
    const all = text.join(" ");
    const exc = bundle.entries.find((e) => e.body.action === "exception")!;
    expect(all).toContain(`EXCEPTION — during step 3 of 16 entry ${exc.body.seq}`);
    expect(all).toContain("DEVIATION — Wrong PIN — during step 3 of 16");
    expect(all).toContain('Not a step of the script: recorded while step "Air-gap check" was in progress.');
    // One initials box per script step: as many "Initials" as steps, and exceptions add none.
    expect(all.split("Initials Time").length - 1).toBe(16);
  });

  it("gives each step entry its number as on screen, its title and the text read aloud, signers by name and role", () => {
    const all = text.join(" ");
    const steps = room.loaded.script.steps;
    steps.forEach((s, i) => {
      const e = bundle.entries.find((x) => x.body.stepId === s.id && x.body.action === s.action)!;
      expect(all).toContain(`Step ${i + 1} of ${steps.length} · ${s.title} entry ${e.body.seq}`);
    });
    expect(all).toContain(`Read aloud: ${steps[2]!.read.trim().replace(/\s+/g, " ")}`);
    const witness = room.people.find((p) => p.roles.includes("internal-witness"))!;
    expect(all).toContain(`${witness.name} (Internal witness)`);
    expect(all).not.toMatch(/\bp0[1-9]\b/);
  });

  it("prints facts as labelled rows, not JSON paths", () => {
    const all = text.join(" ");
    const kcv = (bundle.entries.find((e) => e.body.action === "wrap-and-split-backup")!.body.outputs["backup"] as { kcv: string }).kcv;
    expect(all).toContain(`Key check value (KCV) ${kcv}`);
    expect(all).toContain("Place of the ceremony");
    expect(all).not.toMatch(/participants\[\d\]|outputs\.|inputs\./);
  });

  it("sets every text of the entries at 9 pt or more (the binding lines and footers aside)", () => {
    const xml = run("pdftotext", ["-bbox-layout", "-f", "2", file, "-"]);
    const small = [...xml.matchAll(/<line xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">\s*<word[^>]*>([^<]*)</g)]
      .filter((m) => Number(m[2]) - Number(m[1]) < 9 * 1.1 && Number(m[1]) < 780)
      .map((m) => m[3]);
    expect(small).toEqual([]);
  });

  it("has a sign-in sheet with each person's enrolment time and fingerprint, and a final attestation for administrator, witness and auditor", () => {
    const signIn = text.find((p) => p.includes("Sign-in sheet"))!;
    const enrol = bundle.entries.find((e) => e.body.action === "enrol-participants")!;
    expect(signIn).toContain(enrol.body.timestamp.slice(11, 19));
    for (const p of room.people) expect(signIn).toContain(p.name);
    const last = text.at(-1)!;
    expect(last).toContain("Final attestation");
    for (const role of ["Ceremony administrator", "Internal witness", "External auditor", "Everyone else present"]) expect(last).toContain(role);
    expect(last).toContain("1 exception, 1 deviation");
    const sheet = pages(path.join(room.dir, "final-head.pdf"));
    expect(sheet).toHaveLength(1);
    expect(sheet[0]).toContain(bundle.head);
  });

  it("is what the verifier renders again from its bundle", async () => {
    expect(await checkReportBinding(fs.readFileSync(file), bundleJsonText(bundle))).toBeUndefined();
  });
});
