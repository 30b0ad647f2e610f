/**
 * The report names things as the room did (issue 11 item 6): step numbers
 * from the script, role titles, people by name, facts by label. Pure
 * functions over a built bundle; the PDF itself is checked in
 * test/integration/report-auditor.test.ts.
 */
import { describe, expect, it } from "vitest";
import { entryFacts, humanLabel, type Fact } from "../../electron/core/report/facts";
import { entryKind, eventCounts, nameWithRoles, scriptView, stepLabel } from "../../electron/core/report/script-view";
import type { Bundle } from "../../electron/core/transcript/types";
import fs from "node:fs";
import path from "node:path";

const VECTORS = path.join(__dirname, "..", "vectors", "valid");
const load = (name: string): Bundle => JSON.parse(fs.readFileSync(path.join(VECTORS, name), "utf8")) as Bundle;
const withEvents = load("with-exception-and-deviation.bundle.json");

/** Every label and value of a list of facts, as text. */
function flat(facts: Fact[]): string {
  return facts
    .map((f) => (f.kind === "row" ? `${f.label}: ${f.value.text}` : f.kind === "head" ? f.label : `${f.label} [${f.columns.join(" | ")}] ${f.rows.map((r) => r.map((c) => c.text).join(" | ")).join(" / ")}`))
    .join("\n");
}

describe("report: the script as the room saw it", () => {
  it("numbers steps as the screen does (position in the script, 1-based) and reads titles and read-aloud text", () => {
    const v = scriptView(withEvents);
    expect(v.total).toBe(16);
    expect(stepLabel(v, "opening")).toBe("Step 1 of 16");
    expect(stepLabel(v, "air-gap")).toBe("Step 3 of 16");
    expect(v.stepById.get("air-gap")!.title).toBe("Air-gap check");
    expect(v.stepById.get("air-gap")!.read).toMatch(/^The administrator shows that the laptop has no network/);
    expect(v.stepById.get("opening")!.fieldLabels.get("location")).toBe("Place of the ceremony");
    expect(stepLabel(v, "no-such-step")).toBe('Step "no-such-step" (not in the script)');
  });

  it("names people with their role titles, never by participant id", () => {
    const v = scriptView(withEvents);
    const witness = v.people.find((p) => p.roles.includes("internal-witness"))!;
    expect(nameWithRoles(v, witness.id)).toBe(`${witness.name} (Internal witness)`);
    expect(nameWithRoles(v, "p99")).toBe("p99");
  });

  it("prints whatever the bundle holds when its script text cannot be read", () => {
    const broken: Bundle = { ...withEvents, ceremony: { ...withEvents.ceremony, scriptText: "steps: [unclosed" } };
    const v = scriptView(broken);
    expect(v.total).toBe(0);
    expect(v.people.length).toBeGreaterThan(0);
    expect(v.people[0]!.roleTitles).toEqual(v.people[0]!.roles);
  });

  it("counts exceptions and deviations, and tells every entry kind apart", () => {
    expect(eventCounts(withEvents)).toEqual({ exceptions: 1, deviations: 1, aborted: false });
    expect(eventCounts(load("generation.bundle.json"))).toEqual({ exceptions: 0, deviations: 0, aborted: false });
    expect(eventCounts(load("aborted.bundle.json")).aborted).toBe(true);
    expect(withEvents.entries.map(entryKind).filter((k) => k !== "step")).toEqual(["opening", "exception", "deviation"]);
  });
});

describe("report: facts as labelled rows", () => {
  it("turns keys into labels, keeping acronyms", () => {
    expect(humanLabel("rootKeyFingerprint")).toBe("Root key fingerprint (SPKI SHA-256)");
    expect(humanLabel("hsm-bag-serial")).toBe("HSM bag serial");
    expect(humanLabel("kcv")).toBe("Key check value (KCV)");
    expect(humanLabel("blobSha256")).toBe("Blob SHA-256");
    expect(humanLabel("userPinLocked")).toBe("User PIN locked");
  });

  it("prints every entry of a generation without a JSON path or a participant id", () => {
    const b = load("rehearsal-generation.bundle.json");
    const v = scriptView(b);
    for (const e of b.entries) {
      const text = flat(entryFacts(e, v));
      expect(text, e.body.stepId).not.toMatch(/\b(inputs|outputs|participants|settings|shares|backup|rootKey|token|interfaces)(\[|\.(?!json|pem))|\[\d+\]/);
      expect(text, e.body.stepId).not.toMatch(/\bp\d{2,3}\b/);
    }
  });

  it("gives the shares as custodian names with their share index and commitment", () => {
    const b = load("rehearsal-generation.bundle.json");
    const v = scriptView(b);
    const backup = b.entries.find((e) => e.body.action === "wrap-and-split-backup")!;
    const shares = entryFacts(backup, v).find((f) => f.kind === "table" && f.label === "Shares");
    expect(shares?.kind).toBe("table");
    if (shares?.kind !== "table") return;
    expect(shares.columns.slice(0, 2)).toEqual(["Index", "Custodian"]);
    const first = (backup.body.outputs["shares"] as Array<{ custodian: string; commitment: string }>)[0]!;
    expect(shares.rows[0]![1]!.text).toBe(nameWithRoles(v, first.custodian));
    expect(shares.rows[0]!.some((c) => c.text === first.commitment && c.mono)).toBe(true);
  });

  it("labels checklist fields with the script's labels and ticks the confirmed items", () => {
    const b = load("rehearsal-generation.bundle.json");
    const v = scriptView(b);
    const opening = b.entries.find((e) => e.body.stepId === "opening" && e.body.action === "checklist")!;
    const text = flat(entryFacts(opening, v));
    expect(text).toContain("Place of the ceremony: ");
    expect(text).toMatch(/Confirmed: ✓ The room is secured/);
  });
});

describe("report: deviations in one line", () => {
  it("names people in a deviation's details, never by participant id", async () => {
    const { inlineFact } = await import("../../electron/core/report/facts");
    const v = scriptView(withEvents);
    const custodian = v.people.find((p) => p.roles.includes("custodian"))!;
    expect(inlineFact(v, "backup", "custodian", custodian.id)).toBe(`custodian ${custodian.name} (Custodian)`);
    expect(inlineFact(v, "backup", "attempts", 3)).toBe("attempts 3");
    expect(inlineFact(v, "backup", "soPinLocked", true)).toBe("SO PIN locked yes");
  });
});
