import { CustosError } from "../errors";
import { deriveAttestationKey, type AttestationKey } from "../transcript/identity";
import type { Participant } from "./types";

/**
 * Attestation keys unlocked by a passphrase stay usable for a short window so
 * that a run of consecutive attestations is no chore; they are dropped when
 * the window ends and when the ceremony ends.
 */
export class Keyring {
  private readonly keys = new Map<string, { key: AttestationKey; until: number }>();
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    /** Opens a participant's key on their own token with its PIN (§2.4a). */
    private readonly unlockToken?: (p: Participant, pin: string) => AttestationKey | undefined,
  ) {}

  /** The unlocked key of a participant, if its window is still open. */
  get(p: Participant): AttestationKey | undefined {
    const k = this.keys.get(p.id);
    if (!k) return undefined;
    if (k.until <= this.now()) {
      k.key.dispose();
      this.keys.delete(p.id);
      return undefined;
    }
    return k.key;
  }

  /** Derives the key from the passphrase (or opens the token with its PIN); returns undefined if it is not the enrolled key. */
  unlock(p: Participant, passphrase: string): AttestationKey | undefined {
    let key: AttestationKey | undefined;
    try {
      key = p.token ? this.unlockToken?.(p, passphrase) : p.kdf ? deriveAttestationKey(passphrase, p.kdf) : undefined;
    } catch (e) {
      // A wrong token PIN is asked again like a wrong passphrase (the HSM layer counts the tries left).
      if (e instanceof CustosError && e.code === "HSM_PIN_INCORRECT") return undefined;
      throw e;
    }
    if (!key) return undefined;
    if (key.publicKey !== p.publicKey) {
      key.dispose();
      return undefined;
    }
    this.keys.get(p.id)?.key.dispose();
    if (this.windowMs > 0) this.keys.set(p.id, { key, until: this.now() + this.windowMs });
    return key;
  }

  /** Keeps a freshly enrolled key unlocked for the window. */
  hold(p: Participant, key: AttestationKey): void {
    if (this.windowMs <= 0) return;
    this.keys.get(p.id)?.key.dispose();
    this.keys.set(p.id, { key, until: this.now() + this.windowMs });
  }

  /** When each unlocked key locks again (for the on-screen countdown). */
  unlocked(): Array<{ participantId: string; until: number }> {
    return [...this.keys.entries()].filter(([, v]) => v.until > this.now()).map(([id, v]) => ({ participantId: id, until: v.until }));
  }

  /** Drops every key (end of the ceremony or abandon). */
  clear(): void {
    for (const { key } of this.keys.values()) key.dispose();
    this.keys.clear();
  }
}
