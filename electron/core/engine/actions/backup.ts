import crypto from "node:crypto";
import { CustosError } from "../../errors";
import type * as graphene from "graphene-pk11";
import { kekLabel, type HsmSession, type WrapMechanism } from "../../hsm";
import type { ActionParams } from "../../script/params";
import {
  checkShareCommitment,
  combineShares,
  commitShare,
  decodeShare,
  encodeShare,
  kcv,
  mixEntropy,
  shortCommitment,
  splitSecret,
  zeroize,
} from "../../shares";
import type { ActionImpl, Participant, ShareCardView, StepContext } from "../types";
import { provedWrapMechanism } from "./preflight";
import { json, recipients, recordedRootKey } from "./util";

/** Recorded share metadata: commitments only, never share values. */
export interface RecordedShare {
  index: number;
  custodian: string;
  salt: string;
  commitment: string;
}

/** The one backup format Custos writes and reads: RFC 5649 (AES key wrap with padding) over PKCS#8. */
export const BACKUP_FORMAT = "rfc5649-pkcs8";

/** Recorded backup: the wrapped blob is not secret without a quorum of shares. */
export interface RecordedBackup {
  /** The blob's format; absent in backups made before it was recorded (those are RFC 5649 from SoftHSM2's 0x210A). */
  format?: typeof BACKUP_FORMAT;
  /** Name of the PKCS#11 mechanism that wrapped it on the source token. */
  mechanism: string;
  /** Its number: a vendor may give 0x210A another meaning, so the number is only what this token used. */
  mechanismCode?: number;
  /** The module and token model that made it. */
  madeBy?: { module: string; moduleVersion: string; manufacturer: string; model: string };
  blob: string;
  sha256: string;
  kcv: string;
  threshold: number;
  total: number;
  rootKeyFingerprint: string;
}

/**
 * KEK from HSM RNG xor OS CSPRNG, imported as a trusted session key by the
 * SO (dual control), root key wrapped under the user login, KEK object
 * destroyed, KEK split and zeroed. Share cards are handed out one at a time.
 */
export const wrapAndSplitBackup: ActionImpl<ActionParams<"wrap-and-split-backup">> = {
  async run(ctx) {
    const rk = recordedRootKey(ctx);
    const holders = recipients(ctx);
    const { threshold, shares: total } = ctx.settings;
    if (holders.length !== total) {
      throw new CustosError("CEREMONY_CUSTODIANS", `${holders.length} custodians are enrolled but the backup needs ${total} shares.`, "Each custodian holds exactly one share; enrol the right number of custodians.");
    }
    const mech = backupMechanism(ctx);
    const s = ctx.session();
    let kek: Uint8Array | undefined;
    try {
      const made = await newTrustedKek(ctx, s);
      kek = made.kek;
      const kekObject = made.object;
      let blob: Buffer;
      try {
        await ctx.login(s, "user");
        blob = s.wrapPrivateKey(rk.label, kekObject, mech);
      } finally {
        s.destroyObject(kekObject);
      }
      const left = s.listObjects(kekLabel(ctx.ceremonyId)).length;
      if (left !== 0) throw new CustosError("HSM_KEK_NOT_DESTROYED", "The wrapping key could not be destroyed on the token.", "Do not continue; power-cycle the token (session keys do not survive) and record an exception.");
      const { backup, shares: recorded } = await issueBackup(ctx, kek, blob, holders, rk.fingerprint, threshold, total);
      kek = undefined;
      return {
        inputs: {},
        outputs: {
          backup: json(backup),
          shares: json(recorded),
          kek: { source: "HSM RNG xor OS CSPRNG", trustedSessionKey: true, destroyedOnToken: true, zeroedInMemory: true },
        },
      };
    } finally {
      zeroize(kek);
    }
  },
};

/**
 * Splits a KEK M-of-N and hands share i to the i-th holder, one at a time;
 * each share is zeroed right after its card is shown. Returns commitments only.
 */
export async function splitAndHandOut(
  ctx: StepContext,
  kek: Uint8Array,
  holders: Participant[],
  keyFingerprint: string,
  threshold: number,
  total: number,
): Promise<RecordedShare[]> {
  const shares = await splitSecret(kek, total, threshold);
  try {
    const recorded: RecordedShare[] = [];
    const createdAt = ctx.deps.now().toISOString();
    const params = (ctx.view.step.params ?? {}) as { handOut?: ShareCardView["handOut"]; revealSeconds?: number };
    for (let i = 0; i < total; i++) {
      const index = i + 1;
      const share = shares[i]!;
      const custodian = holders[i]!;
      const { salt, commitment } = commitShare(share, ctx.ceremonyId, index);
      const encoded = encodeShare({ ceremonyId: ctx.ceremonyId, index, share });
      // Each card is checked right after its hand-out, while it can still be re-issued: a failed
      // check voids that one card (recorded) and issues it again, never the whole backup.
      let error: CustosError | undefined;
      for (let issue = 1; ; issue++) {
        await ctx.driver.handOutShare(ctx.view, {
          ceremonyId: ctx.ceremonyId,
          mode: ctx.mode,
          scriptTitle: ctx.script.title,
          keyFingerprint,
          index,
          total,
          threshold,
          custodian,
          words: encoded.words,
          hex: encoded.hex,
          commitmentShort: shortCommitment(commitment),
          createdAt,
          issue,
          handOut: params.handOut ?? "choose",
          revealSeconds: params.revealSeconds ?? 60,
        });
        error = checkEntered(await ctx.driver.reenterShare(ctx.view, { custodian, index, total, justHandedOut: true }), ctx.ceremonyId, index, salt, commitment, custodian);
        if (!error) break;
        ctx.deviation("share-check-failed", { share: index, custodian: custodian.id, custodianName: custodian.name, card: issue, reason: error.code });
        ctx.deviation("card-void", { share: index, custodian: custodian.id, custodianName: custodian.name, card: issue, reason: "the card did not match when typed back in; it must be destroyed" });
        if (issue >= MAX_CARD_ISSUES) {
          throw new CustosError("SHARE_CHECK_FAILED", `Share ${index} for ${custodian.name} failed its check ${issue} times.`, "Nothing of this backup is recorded; collect and destroy every card handed out in this step, then run the step again.");
        }
        ctx.deviation("card-reissued", { share: index, custodian: custodian.id, custodianName: custodian.name, card: issue + 1 });
      }
      zeroize(share);
      recorded.push({ index, custodian: custodian.id, salt, commitment });
    }
    return recorded;
  } finally {
    for (const sh of shares) zeroize(sh);
  }
}

const MAX_CARD_ISSUES = 3;

/** Checks a share typed back in against its commitment; the error says what is wrong, never the share. */
function checkEntered(text: string, ceremonyId: string, index: number, salt: string, commitment: string, custodian: Participant): CustosError | undefined {
  try {
    const d = decodeShare(text, { ceremonyId });
    const same = d.index === index && checkShareCommitment(d.share, ceremonyId, index, salt, commitment);
    zeroize(d.share);
    if (d.index !== index) return new CustosError("SHARE_WRONG_CUSTODIAN", `This is share ${d.index}, but ${custodian.name} holds share ${index}.`, "Each custodian enters their own card.");
    if (!same) return new CustosError("SHARE_COMMITMENT", `Share ${index} does not match its recorded commitment.`, "The card was taken down wrongly.");
    return undefined;
  } catch (e) {
    if (e instanceof CustosError) return e;
    throw e;
  }
}

/**
 * A fresh KEK (HSM RNG xor OS CSPRNG) imported by the security officer as a
 * trusted session key, then the SO logs out: dual control starts here. The
 * caller owns (and must zero) the returned bytes and destroy the object.
 */
export async function newTrustedKek(ctx: StepContext, s: HsmSession): Promise<{ kek: Uint8Array; object: graphene.SecretKey }> {
  await ctx.login(s, "so");
  const fromHsm = s.random(32);
  const fromOs = crypto.randomBytes(32);
  // A plain Uint8Array: shamir-secret-sharing refuses Buffer subclasses.
  const kek = mixEntropy(fromHsm, fromOs);
  zeroize(fromHsm, fromOs);
  try {
    const object = s.importTrustedKek(kek, kekLabel(ctx.ceremonyId));
    s.logout();
    return { kek, object };
  } catch (e) {
    zeroize(kek);
    throw e;
  }
}

/**
 * Records a new backup: its KCV, the blob's hash, and the shares handed out
 * one by one. The KEK is zeroed before this returns, whatever happens.
 */
export async function issueBackup(
  ctx: StepContext,
  kek: Uint8Array,
  blob: Buffer,
  holders: Participant[],
  keyFingerprint: string,
  threshold: number,
  total: number,
): Promise<{ backup: RecordedBackup; shares: RecordedShare[] }> {
  try {
    const check = kcv(kek);
    const mech = backupMechanism(ctx);
    const shares = await splitAndHandOut(ctx, kek, holders, keyFingerprint, threshold, total);
    const backup: RecordedBackup = {
      format: BACKUP_FORMAT,
      mechanism: mech.name,
      mechanismCode: mech.code,
      madeBy: madeBy(ctx),
      blob: blob.toString("base64"),
      sha256: crypto.createHash("sha256").update(blob).digest("hex"),
      kcv: check,
      threshold,
      total,
      rootKeyFingerprint: keyFingerprint,
    };
    return { backup, shares };
  } finally {
    zeroize(kek);
  }
}

/** The recorded backup and share commitments of this ceremony (or of a source ceremony). */
export function recordedBackup(ctx: StepContext): { backup: RecordedBackup; shares: RecordedShare[] } {
  for (let i = ctx.history.length - 1; i >= 0; i--) {
    const o = ctx.history[i]!.outputs;
    if (o.backup && o.shares) return { backup: o.backup as unknown as RecordedBackup, shares: o.shares as unknown as RecordedShare[] };
  }
  throw new CustosError("CEREMONY_ORDER", "No backup has been recorded in this ceremony yet.", "The script must make the backup before this step.");
}

/**
 * Each custodian types their share back in; each is checked on its own
 * against its commitment, then a quorum is combined to check the KCV.
 */
export const verifyShares: ActionImpl<ActionParams<"verify-shares">> = {
  async run(ctx) {
    const { backup, shares: recorded } = recordedBackup(ctx);
    const holders = recipients(ctx);
    const entered: Uint8Array[] = [];
    const verdicts: Array<{ index: number; custodian: string; attempts: number; commitment: "match" }> = [];
    try {
      for (const r of recorded) {
        const custodian = holders.find((p) => p.id === r.custodian);
        if (!custodian) throw new CustosError("CEREMONY_CUSTODIANS", `Custodian ${r.custodian} is not enrolled.`, "Record an exception.");
        let error: CustosError | undefined;
        let ok: Uint8Array | undefined;
        let attempts = 0;
        while (!ok && attempts < 3) {
          attempts++;
          const text = await ctx.driver.reenterShare(ctx.view, { custodian, index: r.index, total: backup.total, error });
          try {
            const d = decodeShare(text, { ceremonyId: ctx.ceremonyId });
            if (d.index !== r.index) {
              zeroize(d.share);
              throw new CustosError("SHARE_WRONG_CUSTODIAN", `This is share ${d.index}, but ${custodian.name} holds share ${r.index}.`, "Each custodian enters their own card.");
            }
            if (!checkShareCommitment(d.share, ctx.ceremonyId, r.index, r.salt, r.commitment)) {
              zeroize(d.share);
              throw new CustosError("SHARE_COMMITMENT", `Share ${r.index} does not match its recorded commitment.`, "The card was taken down wrongly; compare it with the screen or record an exception.");
            }
            ok = d.share;
          } catch (e) {
            if (!(e instanceof CustosError)) throw e;
            error = e;
            ctx.deviation("share-reentry-failed", { share: r.index, custodian: custodian.id, custodianName: custodian.name, attempt: attempts, reason: e.code });
          }
        }
        if (!ok) throw error!;
        entered.push(ok);
        verdicts.push({ index: r.index, custodian: r.custodian, attempts, commitment: "match" });
      }
      const kek = await combineShares(entered.slice(0, backup.threshold), backup.threshold);
      const check = kcv(kek);
      zeroize(kek);
      if (check !== backup.kcv) {
        throw new CustosError("SHARE_KCV", "The re-entered shares do not reassemble the recorded wrapping key.", "Record an exception; the backup must be made again.");
      }
      return { inputs: {}, outputs: { verdicts: json(verdicts), kcvCheck: "match" } };
    } finally {
      for (const e of entered) zeroize(e);
    }
  },
};

/**
 * The wrap mechanism for a backup on this token: the one the ceremony's
 * hsm-preflight proved to be RFC 5649 over PKCS#8 here. Without a preflight
 * no backup is made (DESIGN.md invariant 12).
 */
export function backupMechanism(ctx: StepContext): WrapMechanism {
  const m = provedWrapMechanism(ctx);
  if (!m) {
    throw new CustosError(
      "CEREMONY_ORDER",
      "No hsm-preflight step has proved which wrap mechanism gives RFC 5649 on this token.",
      "The script must run hsm-preflight on the token before any backup is made or restored.",
    );
  }
  return m;
}

/** The module and token model that make a backup, for backup.json. */
function madeBy(ctx: StepContext): RecordedBackup["madeBy"] {
  const p = ctx.outputsOf("hsm-preflight")?.preflight as { module?: { description?: string; libraryVersion?: string; path?: string }; token?: { manufacturer?: string; model?: string } } | undefined;
  return {
    module: p?.module?.description ?? ctx.hsm().modulePath,
    moduleVersion: p?.module?.libraryVersion ?? "",
    manufacturer: p?.token?.manufacturer ?? "",
    model: p?.token?.model ?? "",
  };
}
