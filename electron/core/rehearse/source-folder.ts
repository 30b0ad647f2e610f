/**
 * What a rehearsal driven --from an earlier one reads of that source folder:
 * the verified transcript's participants and share list, and the share text
 * each source custodian holds in its shares/ folder.
 */
import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../errors";
import { readVerifiedSource } from "../source";
import { readRehearsalShare } from "./simulated-room";

/** Lets a test hand a custodian a different (wrong, foreign, damaged) share text. */
export type ShareTextOverride = (shareIndex: number, text: string) => string;

/**
 * Reads the share text a source custodian holds from the earlier rehearsal's
 * shares/ folder, by the share list of the source transcript verified once by
 * the caller (a resume verifies it again, once).
 */
export function sourceShareReader(fromDir: string, transcript: string, override?: ShareTextOverride, known?: Array<{ index: number; custodian: string }>): (sourceId: string) => Promise<string> {
  let shares = known;
  return async (sourceId) => sourceShareText(fromDir, (shares ??= (await sourceFacts(transcript)).shares), sourceId, override);
}

function sourceShareText(fromDir: string, shares: Array<{ index: number; custodian: string }>, sourceId: string, override?: ShareTextOverride): string {
  const index = shares.find((s) => s.custodian === sourceId)?.index;
  if (!index) throw new CustosError("REHEARSAL_SHARE_FILE", `Custodian ${sourceId} holds no share of the source.`, "");
  const dir = path.join(fromDir, "shares");
  const f = fs.readdirSync(dir).find((n) => n.startsWith(`share-${String(index).padStart(2, "0")}-of-`));
  if (!f) throw new CustosError("REHEARSAL_SHARE_FILE", `The source rehearsal has no share ${index} in ${dir}.`, "");
  const text = readRehearsalShare(path.join(dir, f));
  return override ? override(index, text) : text;
}

/** Participants and the latest share list of a verified source transcript. */
export async function sourceFacts(transcript: string) {
  const src = await readVerifiedSource(transcript);
  const bodies = src.entries.map((e) => e.body);
  const enrol = bodies.filter((b) => b.action === "enrol-participants").pop();
  const participants = (enrol?.outputs.participants ?? []) as unknown as Array<{ id: string; name: string }>;
  const withShares = [...bodies].reverse().find((b) => b.outputs.backup && b.outputs.shares);
  const shares = (withShares?.outputs.shares ?? []) as unknown as Array<{ index: number; custodian: string }>;
  const backup = (withShares?.outputs.backup ?? {}) as unknown as { threshold: number; total: number };
  return { src, participants, shares, backup };
}
