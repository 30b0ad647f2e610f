/**
 * What the store checks of an entry before it writes it: a well-formed body
 * and signatures, no signer twice, every signature valid, every required
 * signer present; and the entry's stored form (canonical JSON, hashes).
 */
import { CustosError } from "../errors";
import { MAX_JSON_DEPTH, canonicalJson, holdsLoneSurrogate, nestsTooDeep } from "./canonical";
import { attestationMessage, bodyHash as computeBodyHash, entryHash as computeEntryHash, sortSignatures, verifySignature } from "./chain";
import { entryBodySchema, firstIssue, firstNonIntegerPath, signatureSchema } from "./schema";
import type { EntryBody, Signature, StoredEntry } from "./types";

export interface PreparedEntry {
  stored: StoredEntry;
  signaturesJson: string;
}

/** Checks an entry the way the verifier will (§2, §7.2 checks 4, 8–10) and computes its stored form. */
export function prepareEntry(body: EntryBody, signatures: Signature[]): PreparedEntry {
  const parsedBody = entryBodySchema.safeParse(body);
  const nonInteger = firstNonIntegerPath(body);
  if (!parsedBody.success || nonInteger) {
    const where = parsedBody.success ? `${nonInteger} (not a whole number)` : firstIssue(parsedBody.error);
    throw new CustosError("TRANSCRIPT_ENTRY_INVALID", `The entry body is malformed at ${where}.`, "This is a bug in the caller, not in the ceremony.");
  }
  for (const [i, sig] of signatures.entries()) {
    const parsed = signatureSchema.safeParse(sig);
    if (!parsed.success) {
      throw new CustosError("TRANSCRIPT_ENTRY_INVALID", `Signature ${i} is malformed at ${firstIssue(parsed.error)}.`, "This is a bug in the caller, not in the ceremony.");
    }
  }
  // Counted as inside a bundle (bundle → entries → entry → body), so the entry's bundle stays within §1's limit too.
  if (nestsTooDeep(body, 3)) throw new CustosError("TRANSCRIPT_ENTRY_INVALID", `The entry body nests more than ${MAX_JSON_DEPTH - 3} levels deep (§1).`, "This is a bug in the caller, not in the ceremony.");
  const bodyJson = canonicalJson(body);
  // §1: a lone surrogate has no UTF-8 form; an entry holding one would never verify, so it is never written.
  if (holdsLoneSurrogate(bodyJson)) {
    throw new CustosError(
      "TEXT_NOT_STORABLE",
      `A text entered for step '${body.stepId}' holds a character that cannot be stored (an unpaired UTF-16 surrogate, U+D800–U+DFFF), so nothing was recorded.`,
      "Type the text again (a copy and paste from another program can bring such a character).",
    );
  }
  const hash = computeBodyHash(body);
  const message = attestationMessage(hash);
  const sorted = sortSignatures(signatures);
  const seen = new Set<string>();
  for (const sig of sorted) {
    const key = `${sig.kind}\u0000${sig.signer}`;
    if (seen.has(key)) {
      throw new CustosError("TRANSCRIPT_SIGNATURE", `Step '${body.stepId}' carries two ${sig.kind} signatures from ${sig.signer}.`, "");
    }
    seen.add(key);
    if (!verifySignature(sig, message)) {
      throw new CustosError(
        "TRANSCRIPT_SIGNATURE",
        `The ${sig.kind} signature of ${sig.signer} on step '${body.stepId}' does not verify.`,
        "The attestation was made over a different entry or with a different key; attest the step again.",
      );
    }
  }
  for (const required of body.requiredSigners) {
    if (!sorted.some((s) => s.kind === "participant" && s.signer === required)) {
      throw new CustosError("TRANSCRIPT_SIGNATURE", `Step '${body.stepId}' needs the attestation of ${required}, which is missing.`, "Ask that participant to attest the step.");
    }
  }
  const signaturesJson = canonicalJson(sorted);
  const hashOfEntry = computeEntryHash(hash, sorted);
  return { stored: { body: JSON.parse(bodyJson) as EntryBody, bodyJson, bodyHash: hash, signatures: sorted, entryHash: hashOfEntry }, signaturesJson };
}
