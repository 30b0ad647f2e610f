/** The verifier's verdict as the screens show it, in the words `custos verify` uses (docs/transcript-format.md §7.6). */

export interface VerifyFailureView {
  code: string;
  seq?: number;
  stepId?: string;
  reason: string;
}

export interface CeremonyVerdictView {
  ceremonyId: string;
  ok: boolean;
  completeness: "complete" | "aborted" | "incomplete";
  entries: number;
  head: string | null;
  failure?: VerifyFailureView | null;
  facts?: { mode?: string; signed?: boolean; stepsDone?: number; stepsTotal?: number; abortReason?: string };
}

export interface FileVerdictView {
  source: string;
  fileFailure?: VerifyFailureView;
  ceremonies: CeremonyVerdictView[];
}

/** "BODY_HASH_MISMATCH: entry 5 (step 'x'): reason" */
export function failureText(f: VerifyFailureView): string {
  const where = f.seq !== undefined ? `entry ${f.seq}${f.stepId ? ` (step '${f.stepId}')` : ""}: ` : "";
  return `${f.code}: ${where}${f.reason}`;
}

/** One line for a ceremony's verdict. */
export function verdictText(v: { ok: boolean; completeness: string; entries: number; failure?: VerifyFailureView | null }): string {
  if (!v.ok) return `NOT INTACT — ${v.failure ? failureText(v.failure) : "the file does not verify"}`;
  if (v.completeness === "complete") return `Intact and complete: ${v.entries} entries, sealed.`;
  if (v.completeness === "aborted") return `Intact, ABORTED: ${v.entries} entries, closed by a signed abort.`;
  return `Intact so far, NOT complete: ${v.entries} entries; the ceremony was not sealed.`;
}
