/**
 * Lint rules that make a transcript verifiable on its own (docs/transcript-
 * format.md §5): one enrolment, the seal last, and a seal that no single
 * insider could sign alone.
 */
import type { CeremonyScript } from "./schema";

export interface RuleIssue {
  path: string;
  message: string;
}

/** Issues with the enrolment, the seal and the exception/abort signers. */
export function closingRuleIssues(s: CeremonyScript): RuleIssue[] {
  const out: RuleIssue[] = [];
  const roleIds = new Set(s.roles.map((r) => r.id));
  const enrols = s.steps.map((st, i) => [st, i] as const).filter(([st]) => st.action === "enrol-participants");
  if (enrols.length !== 1) out.push({ path: "steps", message: `a ceremony needs exactly one enrol-participants step (found ${enrols.length})` });
  const last = s.steps.length - 1;
  if (s.steps[last]?.action !== "seal-transcript") {
    out.push({ path: `steps[${last}].action`, message: "the last step must be seal-transcript: it closes the transcript so nothing can be added after it" });
  }
  const seal = s.steps[last];
  if (seal?.action === "seal-transcript") {
    // Two roles the script keeps apart must sign the close, so one person holding one PIN and one
    // passphrase cannot rewrite the end of a ceremony and seal it again.
    const roles = [...new Set(seal.attest.map((a) => a.role))];
    const apart = roles.some((a) => roles.some((b) => a !== b && s.separation.some(([x, y]) => (x === a && y === b) || (x === b && y === a))));
    if (!apart) out.push({ path: `steps[${last}].attest`, message: "the seal must be attested by at least two roles the script separates (for example the administrator and the internal witness)" });
  }
  for (const block of ["exceptions", "abort"] as const) {
    s[block].attest.forEach((a, i) => {
      if (!roleIds.has(a.role)) out.push({ path: `${block}.attest[${i}].role`, message: `unknown role "${a.role}"` });
    });
  }
  return out;
}
