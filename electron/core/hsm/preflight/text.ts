import type { PreflightReport } from "./run";

const MARK = { pass: "PASS", fail: "FAIL", skip: "SKIP" } as const;

/** The preflight as a custodian reads it: the token, each check, and the verdict with its reasons. */
export function preflightText(r: PreflightReport): string {
  const lines: string[] = [];
  lines.push(`Module: ${r.module.path} (${r.module.manufacturer}, ${r.module.description} ${r.module.libraryVersion})${r.module.initArgs ? ", with initialisation arguments" : ""}`);
  lines.push(`Token:  "${r.token.label}", serial ${r.token.serial}, model ${r.token.model}, ${r.token.manufacturer}, firmware ${r.token.firmware}`);
  const what = { generate: "everything a key generation and its backup do", restore: "the unwrap side: what a recovery onto this token does", sign: "what a signing ceremony relies on" }[r.side];
  lines.push(`Checks (${what}):`);
  for (const c of r.checks) lines.push(`  [${MARK[c.status]}] ${c.title}: ${c.detail}`);
  lines.push("");
  if (r.fit) {
    const task = { generate: "a root key generation", restore: "a recovery", sign: "a signing ceremony" }[r.side];
    const wrap = r.wrapMechanism ? `; backups use ${r.wrapMechanism.name} (0x${r.wrapMechanism.code.toString(16).toUpperCase()}), RFC 5649 over PKCS#8` : "";
    lines.push(`VERDICT: FIT for ${task} with ${r.algorithmsPassed.join(", ")}${wrap}.`);
    const failedAlgs = r.algorithmsChecked.filter((a) => !r.algorithmsPassed.includes(a));
    if (failedAlgs.length) lines.push(`Not offered on this token: ${failedAlgs.join(", ")} (see the failed checks above).`);
  } else {
    lines.push("VERDICT: NOT FIT — do not generate or restore a root key on this token.");
    for (const reason of r.reasons) lines.push(`  - ${reason}`);
  }
  lines.push("All throwaway keys made by these checks were destroyed.");
  return lines.join("\n") + "\n";
}
