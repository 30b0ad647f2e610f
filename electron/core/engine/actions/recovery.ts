import crypto from "node:crypto";
import type * as graphene from "graphene-pk11";
import { CustosError } from "../../errors";
import { kekLabel, rootKeyId, rootKeyLabel, spkiFingerprint, verifyRootSignature, type WrapMechanism } from "../../hsm";
import type { RootKeyAlgorithm } from "../../hsm/algorithms";
import { profileFor } from "../../hsm/profiles";
import type { ActionParams } from "../../script/params";
import { checkShareCommitment, combineShares, decodeShare, kcv, zeroize } from "../../shares";
import type { ActionImpl, Participant, ShareBrief, StepContext } from "../types";
import { BACKUP_FORMAT, backupMechanism, issueBackup, newTrustedKek, type RecordedBackup } from "./backup";
import { recordedSource, type RecordedSource } from "./source";
import { json, pem, recipients, recordedRootKey } from "./util";

/** Custodians present who hold a share of the source, in enrolment order. */
function presentCustodians(ctx: StepContext, src: RecordedSource): Array<{ p: Participant; shareIndex: number }> {
  return ctx.participants
    .filter((p) => p.roles.includes("custodian") && p.sourceId)
    .map((p) => ({ p, shareIndex: src.sourceCustodians.find((c) => c.id === p.sourceId)?.shareIndex ?? 0 }))
    .filter((x) => x.shareIndex > 0);
}

/**
 * Collects shares one custodian at a time until the threshold is reached.
 * Each share is checked on its own (word checksum, ceremony tag, owner,
 * commitment) before the next is asked for, because the Shamir library
 * silently returns a wrong secret for a bad or missing share. Only then is the
 * KEK combined and its KCV compared. Nothing here touches the HSM.
 */
export async function collectQuorum(ctx: StepContext, src: RecordedSource): Promise<{ kek: Uint8Array; used: Array<{ index: number; custodian: string; attempts: number }> }> {
  const { threshold, total } = src.sourceBackup;
  const present = presentCustodians(ctx, src);
  const brief: ShareBrief = {
    sourceCeremonyId: src.source.ceremonyId,
    keyFingerprint: src.sourceRootKey.fingerprint,
    algorithm: src.sourceRootKey.algorithm,
    threshold,
    total,
    expected: present.map((x) => ({ name: x.p.name, participantId: x.p.id, shareIndex: x.shareIndex })),
  };
  if (present.length < threshold) {
    throw new CustosError(
      "SHARE_TOO_FEW",
      `${present.length} custodian(s) holding shares are present; ${threshold} shares are needed to restore key ${src.sourceRootKey.fingerprint.slice(0, 16)}….`,
      "Nothing was entered or unwrapped. Bring a quorum of custodians with their share cards.",
    );
  }
  await ctx.driver.briefing(ctx.view, brief);
  const good = new Map<number, { share: Uint8Array; by: string }>();
  const used: Array<{ index: number; custodian: string; attempts: number }> = [];
  try {
    for (const { p, shareIndex } of present) {
      if (good.size >= threshold) break;
      await ctx.proveIdentity(p);
      let error: CustosError | undefined;
      let attempts = 0;
      let accepted = false;
      while (!accepted && attempts < 3) {
        attempts++;
        const text = await ctx.driver.collectShare(ctx.view, { custodian: p, brief, collected: good.size, needed: threshold, error });
        try {
          const d = decodeShare(text, { ceremonyId: src.source.ceremonyId });
          const label = `Share ${d.index} (entered by ${p.name})`;
          const dup = good.get(d.index);
          if (dup) {
            zeroize(d.share);
            throw new CustosError("SHARE_DUPLICATE", `${label} was already entered by ${dup.by}.`, "Each share counts once; the next custodian enters their own card.");
          }
          if (d.index !== shareIndex) {
            zeroize(d.share);
            throw new CustosError("SHARE_WRONG_CUSTODIAN", `${label} is not ${p.name}'s share: they hold share ${shareIndex}.`, "Each custodian enters the card issued to them.");
          }
          const rec = src.sourceShares.find((s) => s.index === d.index);
          if (!rec || !checkShareCommitment(d.share, src.source.ceremonyId, d.index, rec.salt, rec.commitment)) {
            zeroize(d.share);
            throw new CustosError("SHARE_COMMITMENT", `${label} does not match the commitment recorded at ceremony ${src.source.ceremonyId}.`, "The card was damaged or mistyped; check it word by word.");
          }
          good.set(d.index, { share: d.share, by: p.name });
          used.push({ index: d.index, custodian: p.id, attempts });
          accepted = true;
        } catch (e) {
          if (!(e instanceof CustosError)) throw e;
          error = new CustosError(e.code, `${p.name}'s share: ${e.message}`, e.hint, { details: e.details });
          ctx.deviation("share-entry-failed", { custodian: p.id, custodianName: p.name, attempt: attempts, reason: e.code });
        }
      }
      if (!accepted) throw error!;
    }
    if (good.size < threshold) {
      throw new CustosError("SHARE_TOO_FEW", `${good.size} good share(s); ${threshold} are needed.`, "Nothing was unwrapped. Bring a quorum of custodians.");
    }
    const kek = await combineShares([...good.values()].map((g) => g.share), threshold);
    if (kcv(kek) !== src.sourceBackup.kcv) {
      zeroize(kek);
      throw new CustosError("SHARE_KCV", "The shares combine to a key whose check value differs from the recorded one.", "Nothing was unwrapped. Record an exception.");
    }
    return { kek, used };
  } finally {
    for (const g of good.values()) zeroize(g.share);
  }
}

/**
 * Recovery: the quorum of shares reassembles the KEK, the blob is unwrapped
 * into the target token (sensitive, wrap-with-trusted), a test signature must
 * verify against the recorded public key, and the KEK is destroyed.
 */
export const collectSharesAndRestore: ActionImpl<ActionParams<"collect-shares-and-restore">> = {
  async run(ctx) {
    const src = recordedSource(ctx);
    // Before any share: the blob's format and this token's proven RFC 5649 mechanism.
    const mech = restoreMechanism(ctx, src.sourceBackup);
    const { kek, used } = await collectQuorum(ctx, src);
    const rk = src.sourceRootKey;
    const label = rootKeyLabel(ctx.ceremonyId);
    const id = rootKeyId(ctx.ceremonyId);
    const spki = Buffer.from(rk.spki, "base64");
    let kekObject: graphene.SecretKey | undefined;
    const s = ctx.session();
    try {
      await ctx.login(s, "user");
      const orphans = s.listObjects(label);
      const destroyed = orphans.length ? s.destroyByLabel(label) : [];
      kekObject = s.importUnwrapKek(kek, kekLabel(ctx.ceremonyId));
      zeroize(kek);
      try {
        s.unwrapRootKey(Buffer.from(src.sourceBackup.blob, "base64"), kekObject, rk.algorithm, label, id, spki, mech, extraUnwrap(ctx, rk.algorithm, spki));
      } catch (e) {
        throw formatDiffers(e, src.sourceBackup, mech);
      }
      s.destroyObject(kekObject);
      kekObject = undefined;
      const probe = crypto.randomBytes(32);
      if (!verifyRootSignature(rk.algorithm, spki, probe, s.sign(label, rk.algorithm, probe)) || !s.publicKeySpki(label, rk.algorithm).equals(spki)) {
        s.destroyByLabel(label);
        throw new CustosError("RESTORE_MISMATCH", "The restored key does not match the recorded public key.", "The restored objects were destroyed; record an exception.");
      }
      const priv = s.listObjects(label).find((o) => o.class === "private");
      return {
        inputs: { sharesUsed: used.map((u) => u.index) },
        outputs: {
          rootKey: json({ label, id: id.toString("hex"), algorithm: rk.algorithm, spki: rk.spki, fingerprint: spkiFingerprint(spki), publicKeyPem: pem("PUBLIC KEY", spki) }),
          restore: json({ sourceCeremonyId: src.source.ceremonyId, shares: used, kcvCheck: "match", blobSha256: src.sourceBackup.sha256, publicKeyCheck: "match" }),
          privateKeyAttributes: json({ sensitive: priv?.sensitive, extractable: priv?.extractable, wrapWithTrusted: priv?.wrapWithTrusted }),
          orphansDestroyed: json(destroyed),
          kek: { destroyedOnToken: true, zeroedInMemory: true },
        },
      };
    } finally {
      zeroize(kek);
      if (kekObject) s.destroyObject(kekObject);
    }
  },
};

/** ECDSA r||s to the DER SEQUENCE that openssl and X.509 use. */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const int = (b: Buffer) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.subarray(i);
    if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02]), derLen(v.length), v]);
  };
  const body = Buffer.concat([int(raw.subarray(0, half)), int(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLen(body.length), body]);
}
function derLen(n: number): Buffer {
  return n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
}

/** Signs a test message with the restored key; writes it so anyone can check it with openssl. */
export const testSignature: ActionImpl<ActionParams<"test-signature">> = {
  async run(ctx) {
    const rk = recordedRootKey(ctx);
    const s = ctx.session();
    await ctx.login(s, "user");
    const message = Buffer.from(`Custos test signature\nceremony ${ctx.ceremonyId}\nkey ${rk.fingerprint}\ntime ${ctx.deps.now().toISOString()}\n`);
    const raw = s.sign(rk.label, rk.algorithm, message);
    const spki = Buffer.from(rk.spki, "base64");
    if (!verifyRootSignature(rk.algorithm, spki, message, raw)) {
      throw new CustosError("TEST_SIGNATURE", "The test signature does not verify against the recorded public key.", "Record an exception; do not use this token.");
    }
    const der = rk.algorithm.startsWith("EC") ? ecdsaRawToDer(raw) : raw;
    await ctx.driver.saveArtifact("test-message.txt", message);
    await ctx.driver.saveArtifact("test-signature.der", der);
    return {
      inputs: {},
      outputs: { testSignature: { message: message.toString("utf8"), signatureDer: der.toString("base64"), verifies: true, hash: rk.algorithm === "EC-P256" || rk.algorithm.startsWith("RSA") ? "sha256" : rk.algorithm === "EC-P384" ? "sha384" : "sha512" } },
    };
  },
};

/**
 * Re-split: M old shares reassemble the old KEK; the blob is unwrapped as a
 * session-only key, re-wrapped under a fresh trusted KEK (SO + user PIN),
 * and the fresh KEK is split among the new custodians. The old shares are
 * recorded as revoked. All key objects vanish with the step's session.
 */
export const resplitBackup: ActionImpl<ActionParams<"resplit-backup">> = {
  async run(ctx) {
    const src = recordedSource(ctx);
    const holders = recipients(ctx);
    const { threshold, shares: total } = ctx.settings;
    if (holders.length !== total) {
      throw new CustosError("CEREMONY_CUSTODIANS", `${holders.length} new custodians are enrolled but the new backup needs ${total} shares.`, "Enrol one new custodian per share.");
    }
    const rk = src.sourceRootKey;
    const spki = Buffer.from(rk.spki, "base64");
    const mech = restoreMechanism(ctx, src.sourceBackup);
    const { kek: oldKek, used } = await collectQuorum(ctx, src);
    let newKek: Uint8Array | undefined;
    const objects: graphene.SessionObject[] = [];
    const s = ctx.session();
    try {
      const made = await newTrustedKek(ctx, s);
      newKek = made.kek;
      const newK = made.object;
      objects.push(newK);
      await ctx.login(s, "user");
      const oldK = s.importUnwrapKek(oldKek, `${kekLabel(ctx.ceremonyId)}:old`);
      objects.push(oldK);
      zeroize(oldKek);
      let priv: graphene.PrivateKey;
      try {
        priv = s.unwrapPrivateKey(Buffer.from(src.sourceBackup.blob, "base64"), oldK, rk.algorithm, `${rootKeyLabel(ctx.ceremonyId)}:transit`, rootKeyId(ctx.ceremonyId), false, mech, extraUnwrap(ctx, rk.algorithm, spki));
      } catch (e) {
        throw formatDiffers(e, src.sourceBackup, mech);
      }
      objects.push(priv);
      const probe = crypto.randomBytes(32);
      if (!verifyRootSignature(rk.algorithm, spki, probe, s.signWith(priv, rk.algorithm, probe))) {
        throw new CustosError("RESTORE_MISMATCH", "The old backup does not hold the recorded key.", "Record an exception; nothing new was issued.");
      }
      const blob = s.wrapKeyObject(priv, newK, mech);
      for (const o of objects.splice(0).reverse()) s.destroyObject(o);
      const { backup, shares } = await issueBackup(ctx, newKek, blob, holders, rk.fingerprint, threshold, total);
      return {
        inputs: { oldSharesUsed: used.map((u) => u.index) },
        outputs: {
          rootKey: json({ ...rk, label: "" }),
          backup: json(backup),
          shares: json(shares),
          revokedShares: json(src.sourceShares.map((x) => ({ index: x.index, custodian: x.custodian, commitment: x.commitment, ceremonyId: src.source.ceremonyId }))),
          replacesBackup: { sourceCeremonyId: src.source.ceremonyId, blobSha256: src.sourceBackup.sha256, kcv: src.sourceBackup.kcv },
          kek: { oldDestroyed: true, newDestroyedOnToken: true, zeroedInMemory: true },
        },
      };
    } finally {
      zeroize(oldKek, newKek);
      for (const o of objects) {
        try {
          s.destroyObject(o);
        } catch {
          // Session objects die with the session, which the engine closes next.
        }
      }
    }
  },
};

/**
 * The mechanism that unwraps the source backup on this token: the backup must
 * be RFC 5649 over PKCS#8 (the only format Custos writes), and the mechanism
 * is the one this token's preflight proved to be RFC 5649 — not the number the
 * source token used, which another vendor may read differently.
 */
function restoreMechanism(ctx: StepContext, backup: RecordedBackup): WrapMechanism {
  const format = backup.format ?? BACKUP_FORMAT;
  if (format !== BACKUP_FORMAT) {
    throw new CustosError(
      "BACKUP_FORMAT",
      `The source backup is in the format "${format}", which Custos cannot restore (it restores ${BACKUP_FORMAT}: RFC 5649 over PKCS#8).`,
      "No share was asked for. Use the backup.json of a Custos ceremony.",
    );
  }
  return backupMechanism(ctx);
}

/** A profile's extra unwrap attributes for this module (NSS wants CKA_NSS_DB for EC keys). */
function extraUnwrap(ctx: StepContext, alg: RootKeyAlgorithm, spki: Buffer): Record<string, unknown> {
  return profileFor(ctx.hsm().modulePath)?.extraUnwrapAttributes?.(alg, spki) ?? {};
}

/** After a matching KCV, an unwrap failure is a format difference, never wrong shares. */
function formatDiffers(e: unknown, backup: RecordedBackup, mech: WrapMechanism): CustosError {
  const cause = e instanceof CustosError ? e.message : String(e);
  const made = backup.madeBy ? ` on ${backup.madeBy.module} (${backup.madeBy.model})` : "";
  return new CustosError(
    "BACKUP_FORMAT_DIFFERS",
    `The shares are right — they reassemble the recorded wrapping key (its check value matches) — but this token could not unwrap the blob with ${mech.name} (0x${mech.code.toString(16).toUpperCase()}). The blob was made with ${backup.mechanism}${backup.mechanismCode !== undefined ? ` (0x${backup.mechanismCode.toString(16).toUpperCase()})` : ""}${made}: its format differs from what this token unwraps. (${cause})`,
    "Nothing was restored; the shares are not at fault. Record an exception and restore on a token whose preflight accepts this backup (custos hsm-check --restore), or contact the HSM vendor about RFC 5649 support.",
    { cause: e },
  );
}
