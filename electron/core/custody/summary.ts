/**
 * The register as lines of text, for the terminal. The strings come from
 * transcripts (attacker-controlled): the caller escapes every line before
 * printing it (electron/cli/escape.ts).
 */
import type { BagRecord, CustodyRegister, ShareRecord } from "./types";

const day = (iso: string) => iso.slice(0, 10);

export const KIND_LABEL: Record<string, string> = {
  generation: "generation",
  "health-check": "share health check",
  "re-split": "share re-split",
  recovery: "recovery",
  destruction: "destruction",
  signing: "signing",
  other: "ceremony",
};

/** "checked valid 2026-12-02 (id)" for a share's last check. */
export function lastCheckText(s: ShareRecord): string {
  if (!s.lastCheck) return `not checked since issued ${day(s.issued)}`;
  const v = { valid: "checked valid", invalid: "INVALID", absent: "ABSENT (not brought)", used: "used (checked)" }[s.lastCheck.verdict];
  return `${v} ${day(s.lastCheck.at)} at ${s.lastCheck.ceremonyId}`;
}

/** "sealed in X (date); seen intact in Y; opened in Z" for a bag. */
export function bagLifeText(b: BagRecord): string {
  const parts: string[] = [];
  parts.push(b.sealed ? `sealed in ${b.sealed.ceremonyId} (${day(b.sealed.at)})` : "not recorded sealed");
  const seen = b.seen.filter((w) => w.ceremonyId !== b.opened?.ceremonyId || b.opened.inferred);
  if (seen.length) parts.push(`seen intact in ${seen.map((w) => `${w.ceremonyId} (${day(w.at)})`).join(", ")}`);
  if (b.opened) parts.push(b.opened.inferred ? `opened in ${b.opened.ceremonyId} (${day(b.opened.at)}; its card was used there, serial not recorded)` : `seen intact and opened in ${b.opened.ceremonyId} (${day(b.opened.at)})`);
  else parts.push("still sealed");
  return parts.join("; ");
}

/** The register as terminal lines (unescaped). */
export function registerLines(r: CustodyRegister): string[] {
  const out: string[] = [];
  out.push(`custody register${r.mode === "rehearsal" ? " (REHEARSAL)" : ""}, as of ${r.asOf}, check interval ${r.checkIntervalMonths} months`);
  if (r.root) out.push(`root key  SPKI sha256 ${r.root.fingerprint}${r.root.algorithm ? ` (${r.root.algorithm})` : ""}`);
  if (r.root?.generated) out.push(`          generated in ${r.root.generated.ceremonyId} on ${day(r.root.generated.at)}`);
  else out.push("          the generation ceremony is not in the set");
  out.push("");
  out.push(`transcripts (${r.inputs.length}):`);
  for (const i of r.inputs) {
    const what = i.state === "intact" ? (i.completeness === "complete" ? "intact, sealed" : i.completeness === "aborted" ? "intact, ABORTED" : "intact so far, NOT COMPLETE") : i.state === "not-intact" ? `NOT INTACT — ${i.reason ?? ""}` : `UNREADABLE — ${i.reason ?? ""}`;
    out.push(`  ${i.file}${i.ceremonyId ? `  ${i.ceremonyId}` : ""}: ${what}`);
  }
  out.push("");
  out.push("the key's life:");
  for (const c of r.ceremonies) {
    let what = "";
    if (c.kind === "generation") what = `key generated${c.token ? ` on token ${c.token.serial || "?"} (${c.token.model})` : ""}`;
    if (c.kind === "re-split") what = `backup re-split`;
    if (c.kind === "recovery") what = `key restored${c.token ? ` on token ${c.token.serial || "?"} (${c.token.model})` : ""}`;
    if (c.kind === "destruction") what = `key objects destroyed (${c.destroyed ?? 0})`;
    if (c.kind === "signing") what = c.signed.join(", ") || "signing";
    if (c.kind === "health-check" && c.healthCheck) what = `${c.healthCheck.valid} of ${c.healthCheck.total} shares valid, quorum ${c.healthCheck.threshold} ${c.healthCheck.quorumAvailable ? "available" : "NOT available"}`;
    if (c.backup) what += `; backup ${c.backup.threshold} of ${c.backup.total}, KCV ${c.backup.kcv}`;
    const state = c.completeness === "complete" ? "" : c.completeness === "aborted" ? ` [ABORTED: ${c.abortReason ?? ""}]` : " [NOT COMPLETE]";
    out.push(`  ${day(c.opened)}  ${KIND_LABEL[c.kind]} ${c.ceremonyId}${state}: ${what}`);
    if (c.link) out.push(`              ${c.link.state === "linked" ? "linked" : c.link.state.toUpperCase()}: ${c.link.detail}`);
  }
  for (const b of r.backups) {
    out.push("");
    out.push(`backup ${b.ceremonyId} (${b.threshold} of ${b.total}, KCV ${b.kcv}, made ${day(b.at)})${b.current ? " — CURRENT" : b.revoked ? ` — revoked by ${b.revoked.ceremonyId} on ${day(b.revoked.at)}` : ""}`);
    for (const s of r.shares.filter((x) => x.setId === b.ceremonyId)) {
      out.push(`  share ${s.index}  ${s.holder} (${s.holderId}, key ${s.fingerprint})  ${lastCheckText(s)}${s.bag ? `  bag ${s.bag}` : ""}`);
    }
  }
  if (r.bags.length) {
    out.push("");
    out.push("bags:");
    for (const b of r.bags) out.push(`  ${b.serial}  ${b.holds}${b.share ? ` (share ${b.share.index} of ${b.share.setId})` : ""}: ${bagLifeText(b)}`);
  }
  out.push("");
  if (r.findings.length === 0) out.push("findings: none");
  else {
    out.push(`findings (${r.findings.length}):`);
    for (const f of r.findings) out.push(`  ${f.severity === "broken" ? "BROKEN" : f.severity === "attention" ? "ATTENTION" : "note"} ${f.code}: ${f.text}`);
  }
  return out;
}
