/**
 * Who signs an entry, and with which key: the script's attest requirements
 * met by enrolled participants (the room chooses when more people hold a role
 * than must sign), their keys unlocked by passphrase or own-token PIN and kept
 * for the window, or opened fresh from passphrases typed for one entry.
 */
import { CustosError, strictAssert } from "../errors";
import type { Hsm } from "../hsm";
import type { CeremonyScript } from "../script/schema";
import { deriveAttestationKey, type AttestationKey } from "../transcript/identity";
import type { Signature, StoredEntry } from "../transcript/types";
import type { Keyring } from "./keyring";
import { unlockTokenKey } from "./token-keys";
import type { CeremonySettings, Driver, Participant, StepView } from "./types";

export interface AttestationDeps {
  script: CeremonyScript;
  settings: CeremonySettings;
  /** The enrolled participants (the enrolment step fills this very array). */
  participants: Participant[];
  /** The entries recorded so far. */
  entries: () => StoredEntry[];
  keyring: Keyring;
  driver: Driver;
  /** How long an unlocked key stays usable (0: it is dropped after each signature). */
  attestWindowMs: number;
  /** The module of the participants' own tokens (§2.4a). */
  personal: () => Hsm;
}

export class Attestation {
  constructor(private readonly d: AttestationDeps) {}

  /**
   * docs/transcript-format.md §7.4: a "quorum" is the source backup's threshold
   * once an earlier ceremony is loaded (recovery, re-split, destruction), else
   * this ceremony's own threshold.
   */
  quorumThreshold(): number {
    const entries = this.d.entries();
    for (let i = entries.length - 1; i >= 0; i--) {
      const b = entries[i]!.body;
      if (b.action !== "load-source-ceremony") continue;
      const t = (b.outputs.sourceBackup as { threshold?: unknown } | undefined)?.threshold;
      if (typeof t === "number") return t;
    }
    return this.d.settings.threshold;
  }

  /** Participant ids that must sign this step: the script's attest list plus the action's own. */
  async requiredSigners(view: StepView, extra: string[]): Promise<string[]> {
    const out: string[] = [...extra];
    for (const req of view.step.attest) {
      const role = this.d.script.roles.find((r) => r.id === req.role);
      strictAssert(role, `role ${req.role} exists (lint checks it)`);
      const holders = this.d.participants.filter((p) => p.roles.includes(req.role));
      if (holders.length === 0) {
        if (role.min === 0) continue; // an optional role nobody holds today
        throw new CustosError("ATTEST_NO_HOLDER", `Nobody enrolled holds the role ${role.title}.`, "Record an exception; the script needs this role.");
      }
      let ids: string[];
      if (req.who === "all") ids = holders.map((p) => p.id);
      else {
        const count = req.who === "quorum" ? this.quorumThreshold() : 1;
        if (holders.length < count) throw new CustosError("ATTEST_QUORUM", `${count} ${role.title}(s) must attest but only ${holders.length} are enrolled.`, "The quorum cannot be reached.");
        ids = holders.length === count ? holders.map((p) => p.id) : await this.d.driver.chooseSigners(view, req.role, count, holders);
        const unique = new Set(ids);
        if (unique.size !== count || ids.some((id) => !holders.some((h) => h.id === id))) {
          throw new CustosError("ATTEST_QUORUM", `${count} distinct ${role.title}(s) must attest this step.`, "Choose distinct participants holding the role.");
        }
      }
      for (const id of ids) if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  /** Participant ids meeting attest requirements, starting with those already chosen. */
  async signersFor(view: StepView, reqs: CeremonyScript["exceptions"]["attest"], chosen: string[]): Promise<string[]> {
    const fake: StepView = { ...view, step: { ...view.step, attest: reqs } };
    const ids = await this.requiredSigners(fake, []);
    return [...new Set([...chosen.filter((id) => this.d.participants.some((p) => p.id === id)), ...ids])];
  }

  /** Signers for an exception or abort: the script's roles, each met by one of the people who typed their passphrase. */
  signersFromGiven(reqs: CeremonyScript["exceptions"]["attest"], given: string[], what: string): string[] {
    const out: string[] = [];
    for (const req of reqs) {
      const role = this.d.script.roles.find((r) => r.id === req.role);
      const holders = this.d.participants.filter((p) => p.roles.includes(req.role));
      if (holders.length === 0 && role?.min === 0) continue;
      const count = req.who === "all" ? holders.length : req.who === "quorum" ? this.quorumThreshold() : 1;
      const have = given.filter((id) => holders.some((h) => h.id === id));
      if (have.length < count) {
        throw new CustosError("ATTEST_MISSING", `${what} must be signed by ${count === 1 ? "a" : count} ${role?.title ?? req.role}${count === 1 ? "" : "s"}, with their own passphrase.`, `Choose the ${role?.title ?? req.role} and have them type their passphrase.`);
      }
      for (const id of have) if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  /** The participant's signature of the message, with their unlocked key (asking for it when the window has closed). */
  async attest(view: StepView, participantId: string, message: Uint8Array): Promise<Signature> {
    const p = this.d.participants.find((x) => x.id === participantId);
    strictAssert(p, `participant ${participantId} is enrolled`);
    const key = await this.unlockKey(view, p);
    const sig: Signature = { signer: p.id, kind: "participant", algorithm: p.token ? p.token.algorithm : "Ed25519", publicKey: p.publicKey, signature: key.sign(message) };
    if (this.d.attestWindowMs <= 0) key.dispose();
    return sig;
  }

  /** The participant's unlocked key, asking for the passphrase (three tries) when the window has closed. */
  async unlockKey(view: StepView, p: Participant) {
    let key = this.d.keyring.get(p);
    let error: CustosError | undefined;
    for (let attempt = 0; !key && attempt < 3; attempt++) {
      const pass = await this.d.driver.passphrase(view, p, error);
      key = this.d.keyring.unlock(p, pass);
      if (!key) error = wrongSecret(p, false);
    }
    if (!key) throw error!;
    return key;
  }

  /**
   * Keys opened right now from passphrases typed for this entry (never the unlocked window's):
   * an exception or an abort is signed by the people themselves, not by whoever holds the keyboard.
   */
  freshKeys(given: Array<{ participantId: string; passphrase: string }>): Map<string, AttestationKey> {
    const out = new Map<string, AttestationKey>();
    for (const g of given) {
      const p = this.d.participants.find((x) => x.id === g.participantId);
      if (!p) throw new CustosError("ATTEST_UNKNOWN", "That person is not enrolled in this ceremony.", "Choose an enrolled participant.");
      let key: AttestationKey | undefined;
      try {
        key = p.token ? unlockTokenKey(this.d.personal(), p.token, p.publicKey, g.passphrase) : p.kdf ? deriveAttestationKey(g.passphrase, p.kdf) : undefined;
      } catch (e) {
        // A token that is locked, removed or holds another key says so itself; only a wrong PIN is "type it again".
        if (!(e instanceof CustosError) || (p.token && e.code !== "HSM_PIN_INCORRECT")) {
          for (const k of out.values()) k.dispose();
          throw e;
        }
        key = undefined;
      }
      if (!key || key.publicKey !== p.publicKey) {
        key?.dispose();
        for (const k of out.values()) k.dispose();
        throw wrongSecret(p, true);
      }
      out.set(p.id, key);
    }
    return out;
  }
}

/** A wrong passphrase, or a PIN their own token refused: said with the person's name (and token serial). */
function wrongSecret(p: Participant, nothingRecorded: boolean): CustosError {
  const again = p.token ? "type it again; the token counts wrong tries and locks after too many." : "type it again; the passphrase is case-sensitive.";
  const hint = nothingRecorded ? `Nothing was recorded; ${again}` : again[0]!.toUpperCase() + again.slice(1);
  const message = p.token ? `The PIN was not accepted by ${p.name}'s own token (serial ${p.token.serial}).` : `That is not ${p.name}'s enrolled passphrase.`;
  return new CustosError("ATTEST_WRONG_PASSPHRASE", message, hint);
}
