/**
 * Custody between ceremonies (issue 16): each custodian present checks their
 * share card against the commitment the source ceremony recorded, one at a
 * time, in the private view. The wrapping key is never reconstructed and no
 * HSM is involved: a share is compared with its own salted commitment only.
 * A card that fails is a finding recorded for the custody register, not a
 * reason to stop the ceremony.
 */
import { CustosError } from "../../errors";
import type { ActionParams } from "../../script/params";
import { checkShareCommitment, decodeShare, zeroize } from "../../shares";
import type { ActionImpl, ShareBrief } from "../types";
import { recordedSource } from "./source";
import { json } from "./util";

type Verdict = "valid" | "invalid" | "absent";

/** Checks every present custodian's share against its commitment; records who holds a valid share and the quorum still available. */
export const checkShares: ActionImpl<ActionParams<"check-shares">> = {
  async run(ctx) {
    const src = recordedSource(ctx);
    const { threshold, total } = src.sourceBackup;
    const present = ctx.participants.filter((p) => p.sourceId !== undefined);
    const brief: ShareBrief = {
      sourceCeremonyId: src.source.ceremonyId,
      keyFingerprint: src.sourceRootKey.fingerprint,
      algorithm: src.sourceRootKey.algorithm,
      threshold,
      total,
      expected: present.map((p) => ({ name: p.name, participantId: p.id, shareIndex: src.sourceCustodians.find((c) => c.id === p.sourceId)?.shareIndex ?? 0 })),
    };
    await ctx.driver.briefing(ctx.view, brief);
    const results: Array<{ custodian: string; name: string; shareIndex: number; verdict: Verdict; attempts: number; reason?: string }> = [];
    for (const c of src.sourceCustodians) {
      const p = present.find((x) => x.sourceId === c.id);
      if (!p) {
        results.push({ custodian: c.id, name: c.name, shareIndex: c.shareIndex, verdict: "absent", attempts: 0 });
        continue;
      }
      await ctx.proveIdentity(p);
      const rec = src.sourceShares.find((s) => s.index === c.shareIndex);
      let error: CustosError | undefined;
      let attempts = 0;
      let valid = false;
      while (!valid && attempts < 3) {
        attempts++;
        const text = await ctx.driver.collectShare(ctx.view, { custodian: p, brief, collected: results.filter((r) => r.verdict === "valid").length, needed: threshold, error });
        let share: Uint8Array | undefined;
        try {
          const d = decodeShare(text, { ceremonyId: src.source.ceremonyId });
          share = d.share;
          if (d.index !== c.shareIndex) throw new CustosError("SHARE_WRONG_CUSTODIAN", `This is share ${d.index}; ${p.name} holds share ${c.shareIndex}.`, "Each custodian enters the card issued to them.");
          if (!rec || !checkShareCommitment(d.share, src.source.ceremonyId, d.index, rec.salt, rec.commitment)) {
            throw new CustosError("SHARE_COMMITMENT", `${p.name}'s share does not match the commitment recorded at ceremony ${src.source.ceremonyId}.`, "Check the card word by word; a damaged card is recorded as such.");
          }
          valid = true;
        } catch (e) {
          if (!(e instanceof CustosError)) throw e;
          error = e;
        } finally {
          zeroize(share);
        }
      }
      results.push({ custodian: c.id, name: c.name, shareIndex: c.shareIndex, verdict: valid ? "valid" : "invalid", attempts, ...(valid ? {} : { reason: error!.code }) });
    }
    const validCount = results.filter((r) => r.verdict === "valid").length;
    return {
      inputs: {},
      outputs: {
        healthCheck: json({
          sourceCeremonyId: src.source.ceremonyId,
          keyFingerprint: src.sourceRootKey.fingerprint,
          threshold,
          total,
          shares: results,
          valid: validCount,
          quorumAvailable: validCount >= threshold,
        }),
      },
    };
  },
};
