import { CustosError } from "../../errors";
import type { ActionParams } from "../../script/params";
import type { ActionImpl, ActionResult } from "../types";
import { json } from "./util";

/** Selects the HSM token; records manufacturer, model, serial, firmware. */
export const selectToken: ActionImpl<ActionParams<"select-token">> = {
  async run(ctx, params) {
    const hsm = ctx.hsm();
    let error: CustosError | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const tokens = hsm.tokens();
      if (tokens.length === 0) {
        throw new CustosError("HSM_NO_TOKEN", "No token is attached to the PKCS#11 module.", "Connect the HSM (or check its driver) and retry the step.");
      }
      const slotId = await ctx.driver.chooseToken(ctx.view, tokens, error);
      const t = tokens.find((x) => x.slotId === slotId);
      if (!t) {
        error = new CustosError("HSM_TOKEN_REMOVED", `Slot ${slotId} has no token.`, "Choose one of the listed tokens.");
        continue;
      }
      if (params.requireBlank && t.initialized) {
        error = new CustosError("HSM_TOKEN_NOT_BLANK", `The token "${t.label}" is already initialised; this script needs a blank token.`, "Choose a blank token.");
        continue;
      }
      return { inputs: { slotId }, outputs: { token: json(t), module: hsm.modulePath } };
    }
    throw error!;
  },
};

/** Initialises a blank token with SO and user PINs; an initialised one is recorded and left alone. */
export const initToken: ActionImpl<ActionParams<"init-token">> = {
  async run(ctx, params): Promise<ActionResult> {
    const selected = ctx.outputsOf("select-token")?.token as unknown as { slotId: string; initialized: boolean; serial: string; label: string } | undefined;
    if (!selected) throw new CustosError("CEREMONY_ORDER", "No token was selected.", "The script must select a token first.");
    const hsm = ctx.hsm();
    if (selected.initialized) {
      return { inputs: {}, outputs: { skipped: true, reason: "the token was already initialised", token: json(hsm.tokenInfo(selected)) } };
    }
    // An interrupted earlier run may have initialised the token already: it then
    // shows up initialised under our label rather than blank in its old slot.
    const now = hsm.tokens();
    const stillBlank = now.find((t) => t.slotId === selected.slotId && !t.initialized);
    if (!stillBlank) {
      const done = now.find((t) => t.initialized && t.label === params.label);
      if (done && !done.userPinInitialized) {
        // Interrupted between C_InitToken and C_InitPIN: the SO finishes the job with the same envelopes.
        const s = hsm.openSession(done);
        try {
          await ctx.login(s, "so");
          const userPin = await ctx.driver.pin(ctx.view, { role: "user", purpose: "set", token: done });
          hsm.setUserPin(s, userPin);
        } finally {
          s.logout();
          s.close();
        }
        return { inputs: { label: params.label }, outputs: { skipped: false, resumed: "user PIN set after an interrupted initialisation", token: json(hsm.tokenInfo(done)) } };
      }
      if (done) return { inputs: {}, outputs: { skipped: true, reason: "initialised by an interrupted run of this step", token: json(done) } };
      throw new CustosError("HSM_TOKEN_REMOVED", "The selected blank token is no longer attached.", "Re-attach it and retry this step.");
    }
    const soPin = await ctx.driver.pin(ctx.view, { role: "so", purpose: "set", token: stillBlank });
    const userPin = await ctx.driver.pin(ctx.view, { role: "user", purpose: "set", token: stillBlank });
    if (soPin === userPin) {
      throw new CustosError("PIN_REUSED", "The SO PIN and the user PIN are the same.", "Dual control needs two different PINs held by two people.");
    }
    const info = hsm.initToken(stillBlank.slotId, { label: params.label, soPin, userPin });
    return { inputs: { label: params.label }, outputs: { skipped: false, token: json(info) } };
  },
};
