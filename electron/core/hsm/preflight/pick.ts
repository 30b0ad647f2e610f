import { CustosError } from "../../errors";
import type { Hsm, TokenInfo, TokenRef } from "../hsm";

/**
 * The one token a person named (slot, serial or label); with no name, the only
 * initialised token. Ambiguity is refused, never guessed. `howToName` says how
 * to name a token where the person is (command-line options, form fields).
 */
export function pickToken(hsm: Hsm, ref: TokenRef, howToName: string): TokenInfo {
  if (ref.slotId !== undefined || ref.serial !== undefined || ref.label !== undefined) return hsm.identify(ref);
  const all = hsm.tokens();
  const ready = all.filter((t) => t.initialized);
  if (ready.length === 1) return ready[0]!;
  if (ready.length === 0) throw new CustosError("HSM_NO_TOKEN", "The module shows no initialised token.", "Initialise the token with the vendor's tool (hsm-check checks a provisioned token; it never initialises one), then retry.");
  throw new CustosError("HSM_TOKEN_AMBIGUOUS", `The module shows ${ready.length} tokens: ${ready.map((t) => `"${t.label}" serial ${t.serial}`).join("; ")}.`, howToName);
}
