import { CustosError } from "../../errors";
import { spkiFingerprint } from "../../hsm";
import type { ActionParams } from "../../script/params";
import { attestationMessage, bodyHash, verifySignature } from "../../transcript/chain";
import type { ActionImpl } from "../types";
import { recordedSource } from "./source";

/** A quorum of distinct custodians approves a destructive action; their signatures are the approval. */
export const quorumApproval: ActionImpl<ActionParams<"quorum-approval">> = {
  async run(ctx, params) {
    await ctx.driver.checklist(ctx.view, params.items, []);
    return { inputs: { confirmedItems: params.items }, outputs: { approval: "quorum of custodians", threshold: recordedSource(ctx).sourceBackup.threshold } };
  },
};

/**
 * Destroys the source ceremony's root key objects, but only when the last
 * quorum-approval entry carries valid signatures of at least the threshold of
 * distinct custodians who held shares of this key (invariant 8).
 */
export const destroyKey: ActionImpl<ActionParams<"destroy-key">> = {
  async run(ctx) {
    const src = recordedSource(ctx);
    const threshold = src.sourceBackup.threshold;
    const approval = [...ctx.history].reverse().find((b) => b.action === "quorum-approval");
    if (!approval) throw new CustosError("QUORUM_MISSING", "No quorum approval is recorded before the destruction.", "The script must record a quorum-approval step first.");
    const msg = attestationMessage(bodyHash(approval));
    const custodianIds = new Set(ctx.participants.filter((p) => p.roles.includes("custodian") && src.sourceCustodians.some((c) => c.id === p.sourceId)).map((p) => p.id));
    const approvers = new Set(
      ctx.signaturesOf(approval.seq)
        .filter((s) => s.kind === "participant" && custodianIds.has(s.signer) && ctx.participants.find((p) => p.id === s.signer)?.publicKey === s.publicKey && verifySignature(s, msg))
        .map((s) => s.signer),
    );
    if (approvers.size < threshold) {
      throw new CustosError("QUORUM_MISSING", `Only ${approvers.size} distinct custodian(s) approved; ${threshold} are needed to destroy the key.`, "Nothing was destroyed.");
    }
    const s = ctx.session();
    await ctx.login(s, "user");
    const label = src.sourceRootKey.label;
    const objects = s.listObjects(label);
    if (objects.length === 0) {
      throw new CustosError("HSM_KEY_NOT_FOUND", `The token holds no objects labelled ${label}.`, "Select the token that holds this key; nothing was destroyed.");
    }
    const spki = s.publicKeySpki(label, src.sourceRootKey.algorithm);
    if (spkiFingerprint(spki) !== src.sourceRootKey.fingerprint) {
      throw new CustosError("DESTROY_MISMATCH", "The key on the token is not the recorded root key.", "Nothing was destroyed; check the token.");
    }
    const destroyed = s.destroyByLabel(label);
    const left = s.listObjects(label);
    if (left.length) throw new CustosError("DESTROY_INCOMPLETE", `${left.length} object(s) labelled ${label} survived destruction.`, "Record an exception.");
    return {
      inputs: { approvedBy: [...approvers] },
      outputs: {
        destroyed: destroyed.map((o) => ({ class: o.class, label: o.label, id: o.id, publicKeyFingerprint: src.sourceRootKey.fingerprint })),
        remainingAfter: 0,
      },
    };
  },
};
