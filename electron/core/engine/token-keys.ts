/**
 * Attestation keys on the participants' own tokens (docs/transcript-format.md
 * §2.4a): a smart card, a PIV key or a USB token holds the person's key pair;
 * the ceremony laptop never sees a secret that signs for them, only the
 * token's PIN, and every signature is made inside the token.
 */
import crypto from "node:crypto";
import { CustosError } from "../errors";
import type { Hsm, HsmSession } from "../hsm";
import type { AttestationKey } from "../transcript/identity";
import { keyFingerprint } from "../transcript/identity";

/** What the transcript records of a participant's token (§6.3). */
export interface TokenRecord {
  serial: string;
  /** The label of the key pair on the token. */
  label: string;
  model: string;
  algorithm: "ECDSA-SHA256" | "ECDSA-SHA384";
}

const CURVE = { "ECDSA-SHA256": "EC-P256", "ECDSA-SHA384": "EC-P384" } as const;

/** A key on a logged-in personal token, usable as an attestation key; dispose() logs out and closes the session. */
function tokenKey(session: HsmSession, record: TokenRecord, spki: Buffer): AttestationKey {
  let open = true;
  const publicKey = spki.toString("base64");
  return {
    publicKey,
    fingerprint: keyFingerprint(publicKey),
    sign(message: Uint8Array): string {
      if (!open) throw new CustosError("ATTESTATION_KEY_LOCKED", "This token key has been locked.", "Enter the token's PIN again to attest.");
      return session.sign(record.label, CURVE[record.algorithm], message).toString("base64");
    },
    dispose(): void {
      if (!open) return;
      open = false;
      try {
        session.logout();
      } catch {
        // A token pulled out cannot be logged out of; closing is enough.
      }
      session.close();
    },
  };
}

function verifies(spki: Buffer, algorithm: TokenRecord["algorithm"], message: Buffer, signature: Buffer): boolean {
  try {
    const key = crypto.createPublicKey({ key: spki, format: "der", type: "spki" });
    return crypto.verify(algorithm === "ECDSA-SHA256" ? "sha256" : "sha384", message, { key, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    return false;
  }
}

/**
 * At enrolment: finds the key pair labelled `keyLabel` on the token with this
 * serial, proves it signs (a fresh challenge verified with its public key),
 * and returns the record and the unlocked key. A wrong PIN is the HSM layer's
 * plain error; a key of another kind is refused by name.
 */
export function enrolTokenKey(hsm: Hsm, req: { serial: string; keyLabel: string; pin: string }): { record: TokenRecord; key: AttestationKey } {
  const info = hsm.tokenInfo(req.serial);
  const session = hsm.openSession(req.serial);
  try {
    session.login("user", req.pin);
    const challenge = Buffer.concat([Buffer.from("Custos participant key enrolment\n"), crypto.randomBytes(32)]);
    for (const algorithm of ["ECDSA-SHA256", "ECDSA-SHA384"] as const) {
      let spki: Buffer;
      try {
        spki = session.publicKeySpki(req.keyLabel, CURVE[algorithm]);
      } catch (e) {
        if (e instanceof CustosError && e.code.startsWith("HSM_KEY_")) throw e;
        continue;
      }
      const signature = session.sign(req.keyLabel, CURVE[algorithm], challenge);
      if (verifies(spki, algorithm, challenge, signature)) {
        const record: TokenRecord = { serial: req.serial, label: req.keyLabel, model: info.model, algorithm };
        return { record, key: tokenKey(session, record, spki) };
      }
    }
    throw new CustosError(
      "PARTICIPANT_TOKEN_KEY",
      `The key labelled ${req.keyLabel} on token ${req.serial} is not an EC P-256 or P-384 key pair that signs.`,
      "Use a token holding an EC P-256 or P-384 key pair for attestation, or choose a passphrase instead.",
    );
  } catch (e) {
    try {
      session.logout();
    } catch {
      // not logged in
    }
    session.close();
    throw e;
  }
}

/** Later attestations: the token's PIN opens the same key again; undefined if it is not the enrolled key. */
export function unlockTokenKey(hsm: Hsm, record: TokenRecord, enrolledKey: string, pin: string): AttestationKey | undefined {
  const session = hsm.openSession(record.serial);
  try {
    session.login("user", pin);
    const spki = session.publicKeySpki(record.label, CURVE[record.algorithm]);
    if (spki.toString("base64") !== enrolledKey) {
      throw new CustosError(
        "PARTICIPANT_TOKEN_KEY",
        `Token ${record.serial} no longer holds the key this participant enrolled with (its key labelled ${record.label} has another public key).`,
        "Stop: the token was changed or replaced since the enrolment. Record an exception.",
      );
    }
    return tokenKey(session, record, spki);
  } catch (e) {
    try {
      session.logout();
    } catch {
      // not logged in
    }
    session.close();
    throw e;
  }
}
