/** What tests ask of custos verify: the exit status of §7.6 and the first ceremony's verdict. */
import { verifyAnyFile } from "../../electron/core/source";
import { exitStatus } from "../../electron/core/transcript/verify/index";
import type { CeremonyVerdict } from "../../electron/core/transcript/types";

export async function verdictOf(file: string): Promise<{ status: 0 | 1 | 3 | 4; ceremony: CeremonyVerdict | undefined; complete: boolean }> {
  const r = await verifyAnyFile(file);
  const status = exitStatus(r);
  return { status, ceremony: r.ceremonies[0], complete: status === 0 };
}
