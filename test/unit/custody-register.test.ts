/**
 * The custody register's rules on hand-made facts (docs/custody-register.md
 * §2, §4, §5): links, gaps and overdue checks, calendar months, bag
 * mismatches, two versions of a ceremony, another root. The integration test
 * runs the same code over real rehearsals.
 */
import { describe, expect, it } from "vitest";
import { addMonths, assemble, registerLines } from "../../electron/core/custody";
import type { CeremonyFacts, InputVerdict } from "../../electron/core/custody";
import { safe } from "../../electron/cli/escape";

const H = (c: string) => c.repeat(64);
function ceremony(id: string, at: string, o: Partial<CeremonyFacts> = {}): CeremonyFacts {
  return {
    file: `/x/${id}/transcript.sqlite`,
    ceremonyId: id,
    kind: "other",
    title: id,
    scriptId: id,
    mode: "rehearsal",
    head: H(id[0]!),
    entries: 10,
    completeness: "complete",
    opened: at,
    lastAt: at,
    rootFingerprint: H("f"),
    people: [],
    shareUses: [],
    signed: [],
    bags: [],
    ...o,
  };
}
const backupOf = (id: string, at: string) => ({
  ceremonyId: id,
  at,
  threshold: 2,
  total: 3,
  kcv: "ABCDEF",
  blobSha256: H("b"),
  shares: [1, 2, 3].map((index) => ({ index, holderId: `p0${index + 3}`, holder: `Holder ${index}`, fingerprint: "0000", commitment: H("c") })),
});
const intact = (cs: CeremonyFacts[]): InputVerdict[] => cs.map((c) => ({ file: c.file, ceremonyId: c.ceremonyId, head: c.head, state: "intact", completeness: c.completeness }));

const gen = ceremony("gen", "2026-01-31T10:00:00.000Z", {
  kind: "generation",
  backup: backupOf("gen", "2026-01-31T10:05:00.000Z"),
  bags: [1, 2, 3].map((i) => ({ serial: `S${i}`, holds: "share-card", event: "sealed" as const, shareIndex: i, at: "2026-01-31T10:06:00.000Z", stepId: "bags-out" })),
});
const check = (id: string, at: string, o: Partial<CeremonyFacts> = {}) =>
  ceremony(id, at, {
    kind: "health-check",
    source: { ceremonyId: "gen", head: gen.head },
    shareUses: [1, 2, 3].map((index) => ({ setId: "gen", index, verdict: "valid" as const, at })),
    healthCheck: { setId: "gen", valid: 3, threshold: 2, total: 3, quorumAvailable: true },
    ...o,
  });

describe("custody register rules", () => {
  it("adds calendar months, clamping the day", () => {
    expect(addMonths("2026-01-31T10:00:00.000Z", 1)).toBe("2026-02-28");
    expect(addMonths("2024-01-31T00:00:00.000Z", 1)).toBe("2024-02-29");
    expect(addMonths("2026-03-15T00:00:00.000Z", 12)).toBe("2027-03-15");
  });

  it("a check within the interval: nothing to say; a share unseen past the interval is overdue, and a late check leaves a gap", () => {
    const h = check("hc", "2026-12-01T09:00:00.000Z");
    const ok = assemble(intact([gen, h]), [gen, h], { asOf: "2027-11-30" });
    expect(ok.findings).toEqual([]);
    expect(ok.status).toBe(0);
    expect(ok.ceremonies[1]!.link?.state).toBe("linked");
    const due = assemble(intact([gen, h]), [gen, h], { asOf: "2027-12-02" });
    expect(due.findings.map((f) => f.code)).toEqual(["OVERDUE", "OVERDUE", "OVERDUE"]);
    expect(due.status).toBe(3);
    const late = check("hc", "2027-03-01T09:00:00.000Z");
    const gap = assemble(intact([gen, late]), [gen, late], { asOf: "2027-04-01" });
    expect(gap.findings.map((f) => f.code)).toEqual(["GAP", "GAP", "GAP"]);
    expect(gap.findings[0]!.text).toContain("from 2026-01-31 to 2027-03-01");
    expect(assemble(intact([gen, late]), [gen, late], { asOf: "2027-04-01", checkIntervalMonths: 14 }).findings).toEqual([]);
  });

  it("an invalid or absent share at its last check, and a quorum no longer available, need attention", () => {
    const h = check("hc", "2026-06-01T09:00:00.000Z", {
      shareUses: [
        { setId: "gen", index: 1, verdict: "valid", at: "2026-06-01T09:00:00.000Z" },
        { setId: "gen", index: 2, verdict: "invalid", at: "2026-06-01T09:00:00.000Z", reason: "SHARE_COMMITMENT" },
        { setId: "gen", index: 3, verdict: "absent", at: "2026-06-01T09:00:00.000Z" },
      ],
    });
    const r = assemble(intact([gen, h]), [gen, h], { asOf: "2026-07-01" });
    expect(r.findings.map((f) => f.code)).toEqual(["SHARE_INVALID", "SHARE_ABSENT", "QUORUM"]);
    expect(r.shares.find((s) => s.index === 2)!.lastCheck).toMatchObject({ ceremonyId: "hc", verdict: "invalid" });
  });

  it("names a source at another head, a missing source, two versions of one ceremony, and a ceremony of another root", () => {
    const other = check("hc", "2026-06-01T09:00:00.000Z", { source: { ceremonyId: "gen", head: H("9") } });
    const r = assemble(intact([gen, other]), [gen, other], { asOf: "2026-07-01" });
    expect(r.ceremonies[1]!.link?.state).toBe("other-head");
    expect(r.status).toBe(1);
    const missing = assemble(intact([other]), [other], { asOf: "2026-07-01" });
    expect(missing.findings.map((f) => f.code)).toEqual(["MISSING_SOURCE"]);
    const twin = { ...gen, file: "/y/gen/bundle.json", head: H("e") };
    expect(assemble(intact([gen, twin]), [gen, twin], { asOf: "2026-07-01" }).findings.map((f) => f.code)).toEqual(["TWO_VERSIONS"]);
    const foreign = ceremony("zzz", "2026-03-01T00:00:00.000Z", { rootFingerprint: H("a") });
    // Another root's ceremony (an app database holds every root's) is named and left out; --root chooses.
    const f = assemble(intact([gen, foreign]), [gen, foreign], { asOf: "2026-07-01" });
    expect(f.findings.map((x) => [x.code, x.severity])).toEqual([["OTHER_ROOT", "note"], ["SEVERAL_ROOTS", "note"]]);
    expect(f.ceremonies.map((c) => c.ceremonyId)).toEqual(["gen"]);
    expect(f.status).toBe(0);
    const chosen = assemble(intact([gen, foreign]), [gen, foreign], { asOf: "2026-07-01", root: H("a") });
    expect(chosen.ceremonies.map((c) => c.ceremonyId)).toEqual(["zzz"]);
    expect(chosen.root?.fingerprint).toBe(H("a"));
    const none = assemble(intact([gen]), [gen], { root: H("d") });
    expect(none.findings.map((x) => x.code)).toEqual(["ROOT_NOT_FOUND", "OTHER_ROOT"]);
    expect(none.status).toBe(1);
  });

  it("follows bags by serial: sealed, shown and opened, a card in another bag, a card used without a recorded serial", () => {
    const h = check("hc", "2026-06-01T09:00:00.000Z", {
      bags: [
        { serial: "S1", holds: "share-card", event: "opened", shareIndex: 1, at: "2026-06-01T09:00:00.000Z", stepId: "bags-seen" },
        { serial: "S9", holds: "share-card", event: "opened", shareIndex: 2, at: "2026-06-01T09:00:00.000Z", stepId: "bags-seen" },
        { serial: "N1", holds: "share-card", event: "sealed", shareIndex: 1, at: "2026-06-01T09:10:00.000Z", stepId: "bags-resealed" },
      ],
      shareUses: [1, 2].map((index) => ({ setId: "gen", index, verdict: "valid" as const, at: "2026-06-01T09:05:00.000Z" })),
    });
    const r = assemble(intact([gen, h]), [gen, h], { asOf: "2026-07-01" });
    expect(r.findings.map((f) => f.code)).toEqual(["BAG_MISMATCH"]);
    expect(r.bags.find((b) => b.serial === "S1")).toMatchObject({ sealed: { ceremonyId: "gen" }, opened: { ceremonyId: "hc" } });
    // Share 2 came in S9, not S2: S2 is not shown opened by a serial, but its card was used, so it was opened there (inferred).
    expect(r.bags.find((b) => b.serial === "S2")!.opened).toBeUndefined();
    expect(r.bags.find((b) => b.serial === "S3")!.opened).toBeUndefined();
    expect(r.shares.find((s) => s.index === 1)!.bag).toBe("N1");
    expect(r.shares.find((s) => s.index === 3)!.bag).toBe("S3");
    // A recovery that used share 3 without recording its bag: S3 opened there, inferred.
    const rec = ceremony("rec", "2026-08-01T00:00:00.000Z", { kind: "recovery", source: { ceremonyId: "gen", head: gen.head }, shareUses: [{ setId: "gen", index: 3, verdict: "used", at: "2026-08-01T00:10:00.000Z" }] });
    const r2 = assemble(intact([gen, h, rec]), [gen, h, rec], { asOf: "2026-09-01" });
    expect(r2.bags.find((b) => b.serial === "S3")!.opened).toMatchObject({ ceremonyId: "rec", inferred: true });
  });

  it("the terminal lines carry what transcripts say, and the CLI's escaping makes control characters visible", () => {
    const evil = { ...gen, people: [], backup: { ...backupOf("gen", gen.opened), shares: [{ index: 1, holderId: "p04", holder: "Mallory\u001b[2J\u202eOK", fingerprint: "0", commitment: "" }] } };
    const lines = registerLines(assemble(intact([evil]), [evil], { asOf: "2026-07-01" })).map(safe);
    const line = lines.find((l) => l.includes("Mallory"))!;
    expect(line).toContain("Mallory\\u{001B}[2J\\u{202E}OK");
    expect(lines.join("\n")).not.toMatch(/[\u001b\u202e]/);
  });
});

describe("custody register: unsealed ceremonies", () => {
  it("a backup made in a ceremony that was aborted is named and not counted", () => {
    const aborted = { ...gen, completeness: "aborted" as const, abortReason: "fire alarm" };
    const r = assemble(intact([aborted]), [aborted], { asOf: "2026-07-01" });
    expect(r.findings.map((f) => f.code)).toEqual(["BACKUP_UNSEALED"]);
    expect(r.backups).toEqual([]);
    expect(r.status).toBe(3);
  });
});
