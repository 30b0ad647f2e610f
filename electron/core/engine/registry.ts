import { ACTION_PARAMS, type ActionName } from "../script/params";
import { exportPublicArtifacts, printReport } from "./actions/artifacts";
import { verifyShares, wrapAndSplitBackup } from "./actions/backup";
import { generateKeyPair, sealTranscript, selfSignCertificate } from "./actions/keys";
import { airGapCheck, checklist, enrolParticipants } from "./actions/room";
import { initToken, selectToken } from "./actions/token";
import { hsmPreflight } from "./actions/preflight";
import { destroyKey, quorumApproval } from "./actions/destruction";
import { collectSharesAndRestore, resplitBackup, testSignature } from "./actions/recovery";
import { checkShares } from "./actions/health-check";
import { crossCertify, issueCrl, loadInput, proveRootKey, signCertificate } from "./actions/signing";
import { loadSourceCeremony } from "./actions/source";
import type { ActionImpl } from "./types";

/** The fixed action registry: every script action name maps to exactly one implementation. */
export const ACTIONS: { [A in ActionName]: ActionImpl<never> } = {
  checklist,
  "enrol-participants": enrolParticipants,
  "air-gap-check": airGapCheck,
  "select-token": selectToken,
  "init-token": initToken,
  "hsm-preflight": hsmPreflight,
  "generate-key-pair": generateKeyPair,
  "self-sign-certificate": selfSignCertificate,
  "wrap-and-split-backup": wrapAndSplitBackup,
  "verify-shares": verifyShares,
  "export-public-artifacts": exportPublicArtifacts,
  "print-report": printReport,
  "seal-transcript": sealTranscript,
  "load-source-ceremony": loadSourceCeremony,
  "collect-shares-and-restore": collectSharesAndRestore,
  "test-signature": testSignature,
  "resplit-backup": resplitBackup,
  "quorum-approval": quorumApproval,
  "destroy-key": destroyKey,
  "prove-root-key": proveRootKey,
  "check-shares": checkShares,
  "load-input": loadInput,
  "sign-certificate": signCertificate,
  "issue-crl": issueCrl,
  "cross-certify": crossCertify,
};

/** Runs an action after parsing its params with the registry's schema. */
export function runAction(name: ActionName, ctx: Parameters<ActionImpl["run"]>[0], rawParams: unknown) {
  const params = ACTION_PARAMS[name].parse(rawParams);
  return (ACTIONS[name] as ActionImpl<unknown>).run(ctx, params);
}
