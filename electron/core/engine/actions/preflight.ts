import { CustosError } from "../../errors";
import type { RootKeyAlgorithm } from "../../hsm/algorithms";
import { runPreflight, type PreflightReport } from "../../hsm/preflight";
import { profileFor } from "../../hsm/profiles";
import type { ActionParams } from "../../script/params";
import type { ActionImpl, StepContext } from "../types";
import { json, recordedToken } from "./util";

/** The algorithm the ceremony will generate or restore. */
function algorithmFor(ctx: StepContext, side: "generate" | "restore" | "sign"): RootKeyAlgorithm {
  const src = ctx.outputsOf("load-source-ceremony") as { sourceRootKey?: { algorithm?: string } } | undefined;
  if (side !== "generate" || src?.sourceRootKey?.algorithm) {
    const a = src?.sourceRootKey?.algorithm;
    if (a) return a as RootKeyAlgorithm;
  }
  return ctx.settings.algorithm;
}

/**
 * The token's qualification before any key or share (DESIGN.md invariant 12):
 * the checks of `custos hsm-check` on the selected token, for exactly what the
 * ceremony will do. An unfit token stops the ceremony here, with the reasons.
 */
export const hsmPreflight: ActionImpl<ActionParams<"hsm-preflight">> = {
  async run(ctx, params) {
    const hsm = ctx.hsm();
    const token = recordedToken(ctx);
    const side = params.side;
    const algorithm = algorithmFor(ctx, side);
    const profile = profileFor(hsm.modulePath);
    const s = ctx.session();
    const report: PreflightReport = await runPreflight(hsm, {
      ref: token,
      algorithms: [algorithm],
      side,
      session: s,
      login: (sess, role) => ctx.login(sess, role),
      extraUnwrapAttributes: profile?.extraUnwrapAttributes,
      vendorWrapMechanisms: profile?.vendorWrapMechanisms,
    });
    if (!report.fit) {
      throw new CustosError(
        "HSM_NOT_FIT",
        `The token "${report.token.label}" (${report.token.model}, serial ${report.token.serial}) is not fit for this ceremony: ${report.reasons.join(" ")}`,
        "No key was generated and no share was asked for. Use a token that passes `custos hsm-check`; record an exception.",
      );
    }
    return {
      inputs: { side, algorithm },
      outputs: {
        preflight: json({ ...report, profile: profile ? { id: profile.id, status: profile.status } : null }),
      },
    };
  },
};

/** The backup wrap mechanism the preflight proved (RFC 5649) in this ceremony, if it ran. */
export function provedWrapMechanism(ctx: StepContext): { code: number; name: string } | undefined {
  const p = ctx.outputsOf("hsm-preflight")?.preflight as { wrapMechanism?: { code: number; name: string } | null } | undefined;
  return p?.wrapMechanism ?? undefined;
}
