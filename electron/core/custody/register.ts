/**
 * The custody register of one root (docs/custody-register.md): every
 * transcript verified, every source link followed, and from the intact ones
 * the key's life, each share's holder and checks, each bag's life, and what
 * needs attention (overdue checks, gaps, bad cards, bag mismatches).
 */
import { ceremonyFacts } from "./facts";
import { readTranscripts, transcriptFiles } from "./read";
import type { BagRecord, CeremonyFacts, CustodyRegister, Finding, InputVerdict, LinkState, ShareRecord, When } from "./types";

export interface RegisterOptions {
  /** Months a share may go unchecked (default 12). */
  checkIntervalMonths?: number;
  /** The day overdue checks are judged at, YYYY-MM-DD (default: today, UTC). */
  asOf?: string;
  /** The root to register (SPKI SHA-256, lower-case hex) when the set holds several (an app database). */
  root?: string;
}

const day = (iso: string) => iso.slice(0, 10);
const short = (h: string) => h.slice(0, 16);

/** `iso` plus `months` calendar months (the day clamped to the month's last). */
export function addMonths(iso: string, months: number): string {
  const d = new Date(iso);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), last));
  return day(target.toISOString());
}

/** Builds the register from folders or transcript files. */
export async function buildRegister(paths: string[], o: RegisterOptions = {}): Promise<CustodyRegister> {
  const files = transcriptFiles(paths);
  const { inputs, ceremonies } = await readTranscripts(files);
  return assemble(
    inputs,
    ceremonies.map((c) => ceremonyFacts(c)),
    o,
  );
}

/** The register from verified inputs and the facts of the intact ceremonies. */
export function assemble(inputs: InputVerdict[], all: CeremonyFacts[], o: RegisterOptions = {}): CustodyRegister {
  const months = o.checkIntervalMonths ?? 12;
  const asOf = o.asOf ?? day(new Date().toISOString());
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);

  for (const i of inputs) {
    if (i.state === "unreadable") add({ severity: "broken", code: "UNREADABLE", file: i.file, text: `${i.file} cannot be read as a transcript: ${i.reason ?? ""}` });
    if (i.state === "not-intact") add({ severity: "broken", code: "NOT_INTACT", file: i.file, ...(i.ceremonyId ? { ceremonyId: i.ceremonyId } : {}), text: `${i.file}${i.ceremonyId ? ` (ceremony ${i.ceremonyId})` : ""} is NOT INTACT: ${i.reason ?? ""}` });
  }

  // One copy per ceremony: the same ceremony twice with the same head is one; two heads is a conflict.
  const byId = new Map<string, CeremonyFacts>();
  for (const c of all) {
    const seen = byId.get(c.ceremonyId);
    if (!seen) byId.set(c.ceremonyId, c);
    else if (seen.head !== c.head) add({ severity: "broken", code: "TWO_VERSIONS", ceremonyId: c.ceremonyId, file: c.file, text: `Two different transcripts of ceremony ${c.ceremonyId}: ${seen.file} (head ${short(seen.head)}…) and ${c.file} (head ${short(c.head)}…).` });
  }
  const list = [...byId.values()].sort((a, b) => (a.opened < b.opened ? -1 : a.opened > b.opened ? 1 : 0));

  // The root: the one asked for, else the oldest generation's key, else the one most ceremonies name.
  // Ceremonies of other roots (an app database holds every root's) are named and left out.
  const counts = new Map<string, number>();
  for (const c of list) if (c.rootFingerprint) counts.set(c.rootFingerprint, (counts.get(c.rootFingerprint) ?? 0) + 1);
  const rootFpr = o.root ?? list.find((c) => c.kind === "generation" && c.rootFingerprint)?.rootFingerprint ?? [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const gen = list.find((c) => c.kind === "generation" && c.rootFingerprint === rootFpr);
  if (o.root && !counts.has(o.root)) add({ severity: "broken", code: "ROOT_NOT_FOUND", text: `No ceremony in the set is of the root key ${o.root}.` });
  const others = new Set<string>();
  const ofRoot = list.filter((c) => {
    if (!rootFpr || !c.rootFingerprint || c.rootFingerprint === rootFpr) return true;
    others.add(c.rootFingerprint);
    add({ severity: "note", code: "OTHER_ROOT", ceremonyId: c.ceremonyId, file: c.file, text: `${c.file}: ceremony ${c.ceremonyId} is of another root key (${short(c.rootFingerprint)}…), not of ${short(rootFpr)}…; left out of this register.` });
    return false;
  });
  if (others.size && !o.root) add({ severity: "note", code: "SEVERAL_ROOTS", text: `The set holds ceremonies of ${others.size + 1} root keys; this register is of ${rootFpr}. Choose another with --root.` });

  // Links: each ceremony names its source's id and head (§6.4b); the set must hold exactly that transcript.
  const ceremonies = ofRoot.map((c) => {
    if (!c.source) return { ...c };
    const { ceremonyId, head } = c.source;
    const intact = byId.get(ceremonyId);
    const broken = inputs.find((i) => i.ceremonyId === ceremonyId && i.state !== "intact");
    let state: LinkState;
    let detail: string;
    if (intact && intact.head === head) {
      state = "linked";
      detail = `made from ${ceremonyId} at its head ${short(head)}…, in the set (${intact.file})`;
    } else if (intact) {
      state = "other-head";
      detail = `made from ${ceremonyId} at head ${short(head)}…, but the set's copy (${intact.file}) has head ${short(intact.head)}…: another transcript of that ceremony`;
    } else if (broken) {
      state = "not-intact";
      detail = `made from ${ceremonyId} (head ${short(head)}…), whose transcript in the set (${broken.file}) is not intact`;
    } else {
      state = "missing";
      detail = `made from ${ceremonyId} (head ${short(head)}…), which is NOT in the set: a transcript is missing`;
    }
    if (state !== "linked") add({ severity: "broken", code: state === "missing" ? "MISSING_SOURCE" : "BROKEN_LINK", ceremonyId: c.ceremonyId, file: c.file, text: `Ceremony ${c.ceremonyId} was ${detail}.` });
    return { ...c, link: { state, detail } };
  });
  for (const c of ceremonies) {
    if (c.completeness === "incomplete") add({ severity: "attention", code: "NOT_COMPLETE", ceremonyId: c.ceremonyId, file: c.file, text: `Ceremony ${c.ceremonyId} is intact so far but NOT complete (never sealed).` });
  }
  const modes = new Set(ceremonies.map((c) => c.mode));
  const mode = modes.size === 0 ? "none" : modes.size > 1 ? "mixed" : modes.has("production") ? "production" : "rehearsal";
  if (mode === "mixed") add({ severity: "broken", code: "MIXED_MODES", text: "The set mixes rehearsal and production ceremonies." });

  // Backups and their shares.
  // Only a sealed ceremony's backup counts: one made in a ceremony that was aborted or never finished is named.
  const backups = ceremonies.flatMap((c) => {
    if (!c.backup) return [];
    if (c.completeness === "complete") return [c.backup];
    add({ severity: "attention", code: "BACKUP_UNSEALED", ceremonyId: c.ceremonyId, text: `Ceremony ${c.ceremonyId} made a backup (${c.backup.threshold} of ${c.backup.total}) but was ${c.completeness === "aborted" ? "aborted" : "never sealed"}: its shares are not counted; find out where its cards are.` });
    return [];
  });
  const revokedBy = new Map<string, When>();
  for (const c of ceremonies) if (c.revokes && c.completeness === "complete") revokedBy.set(c.revokes, { ceremonyId: c.ceremonyId, at: c.backup?.at ?? c.lastAt });
  const destruction = ceremonies.find((c) => c.kind === "destruction" && c.completeness === "complete");
  const shares: ShareRecord[] = [];
  for (const b of backups) {
    for (const s of b.shares) {
      const revoked = revokedBy.get(b.ceremonyId);
      const uses = ceremonies.flatMap((c) => c.shareUses.filter((u) => u.setId === b.ceremonyId && u.index === s.index).map((u) => ({ ...u, ceremonyId: c.ceremonyId })));
      const checks = uses.filter((u) => u.verdict !== "absent");
      const lastUse = uses[uses.length - 1];
      shares.push({
        setId: b.ceremonyId,
        index: s.index,
        holder: s.holder,
        holderId: s.holderId,
        fingerprint: s.fingerprint,
        issued: b.at,
        ...(revoked ? { revoked } : {}),
        uses,
        ...(lastUse ? { lastCheck: { at: lastUse.at, ceremonyId: lastUse.ceremonyId, verdict: lastUse.verdict } } : {}),
      });
      // Gaps: consecutive times the card was seen good more than the interval apart; the last stretch ends at revocation, destruction or asOf.
      const good = [b.at, ...checks.filter((u) => u.verdict !== "invalid").map((u) => u.at)];
      for (let i = 1; i < good.length; i++) {
        if (day(good[i]!) > addMonths(good[i - 1]!, months)) {
          add({ severity: "attention", code: "GAP", ceremonyId: b.ceremonyId, text: `Share ${s.index} of ${b.ceremonyId} (${s.holder}) went unchecked from ${day(good[i - 1]!)} to ${day(good[i]!)}, longer than ${months} months.` });
        }
      }
      const lastGood = good[good.length - 1]!;
      const end = revoked?.at ?? destruction?.lastAt;
      if (end) {
        if (day(end) > addMonths(lastGood, months)) add({ severity: "attention", code: "GAP", ceremonyId: b.ceremonyId, text: `Share ${s.index} of ${b.ceremonyId} (${s.holder}) went unchecked from ${day(lastGood)} until its backup was ${revoked ? "revoked" : "retired"} on ${day(end)}.` });
      } else if (asOf > addMonths(lastGood, months)) {
        add({ severity: "attention", code: "OVERDUE", ceremonyId: b.ceremonyId, text: `Share ${s.index} of ${b.ceremonyId} (${s.holder}): last seen good on ${day(lastGood)}; a check was due by ${addMonths(lastGood, months)} (interval ${months} months, as of ${asOf}).` });
      }
      if (!end && lastUse && (lastUse.verdict === "invalid" || lastUse.verdict === "absent")) {
        add({ severity: "attention", code: lastUse.verdict === "invalid" ? "SHARE_INVALID" : "SHARE_ABSENT", ceremonyId: lastUse.ceremonyId, text: `Share ${s.index} of ${b.ceremonyId} (${s.holder}) was ${lastUse.verdict === "invalid" ? "INVALID" : "not brought (absent)"} at its last check, ${lastUse.ceremonyId} on ${day(lastUse.at)}.` });
      }
    }
  }
  const current = backups.filter((b) => !revokedBy.has(b.ceremonyId)).at(-1);
  if (current && !destruction) {
    const good = shares.filter((s) => s.setId === current.ceremonyId && (!s.lastCheck || s.lastCheck.verdict === "valid" || s.lastCheck.verdict === "used")).length;
    if (good < current.threshold) add({ severity: "attention", code: "QUORUM", ceremonyId: current.ceremonyId, text: `Only ${good} share(s) of the current backup ${current.ceremonyId} were good at their last check; ${current.threshold} are needed to restore the key.` });
  }

  const bags = bagLives(ceremonies, shares, add);

  const status: CustodyRegister["status"] = findings.some((f) => f.severity === "broken" && f.code !== "UNREADABLE")
    ? 1
    : findings.some((f) => f.code === "UNREADABLE")
      ? 2
      : findings.some((f) => f.severity === "attention")
        ? 3
        : 0;
  const g = gen ?? ceremonies.find((c) => c.rootFingerprint === rootFpr);
  return {
    asOf,
    checkIntervalMonths: months,
    ...(rootFpr
      ? {
          root: {
            fingerprint: rootFpr,
            ...(g?.rootAlgorithm ? { algorithm: g.rootAlgorithm } : {}),
            ...(gen?.certificateSha256 ? { certificateSha256: gen.certificateSha256 } : {}),
            ...(gen ? { generated: { ceremonyId: gen.ceremonyId, at: gen.opened } } : {}),
          },
        }
      : {}),
    mode,
    inputs,
    ceremonies,
    backups: backups.map((b) => ({ ...b, ...(revokedBy.get(b.ceremonyId) ? { revoked: revokedBy.get(b.ceremonyId)! } : {}), current: b === current })),
    shares,
    bags,
    findings,
    status,
  };
}

/** Each bag's life from the declared events, plus openings inferred from a card being used. */
function bagLives(ceremonies: CeremonyFacts[], shares: ShareRecord[], add: (f: Finding) => void): BagRecord[] {
  const bags = new Map<string, BagRecord>();
  const cardBag = new Map<string, string>(); // "set#index" -> serial of the bag the card was last sealed in
  for (const c of ceremonies) {
    const setOfCards = c.backup?.ceremonyId ?? c.healthCheck?.setId;
    const openedHere = new Set<string>();
    for (const e of c.bags) {
      const at: When = { ceremonyId: c.ceremonyId, at: e.at };
      const key = e.shareIndex && setOfCards ? `${setOfCards}#${e.shareIndex}` : undefined;
      let bag = bags.get(e.serial);
      if (e.event === "sealed") {
        if (bag?.sealed) {
          add({ severity: "attention", code: "BAG_REUSED", ceremonyId: c.ceremonyId, text: `Bag ${e.serial} was recorded sealed twice: in ${bag.sealed.ceremonyId} and in ${c.ceremonyId}.` });
          continue;
        }
        bag = { serial: e.serial, holds: e.holds, seen: [], sealed: at, ...(key ? { share: { setId: setOfCards!, index: e.shareIndex! } } : {}) };
        bags.set(e.serial, bag);
        if (key) cardBag.set(key, e.serial);
        continue;
      }
      const expected = key ? cardBag.get(key) : undefined;
      if (key) {
        if (expected && expected !== e.serial) {
          add({ severity: "attention", code: "BAG_MISMATCH", ceremonyId: c.ceremonyId, text: `At ${c.ceremonyId}, share ${e.shareIndex} of ${setOfCards} came in bag ${e.serial}, but it was sealed in bag ${expected}.` });
        }
        openedHere.add(key);
      }
      if (!bag) {
        bag = { serial: e.serial, holds: e.holds, seen: [], ...(key ? { share: { setId: setOfCards!, index: e.shareIndex! } } : {}) };
        bags.set(e.serial, bag);
        if (e.holds === "share-card" && !expected) add({ severity: "attention", code: "BAG_UNKNOWN", ceremonyId: c.ceremonyId, text: `At ${c.ceremonyId}, bag ${e.serial} (${e.holds}) was shown, but no transcript of the set records it sealed.` });
      }
      if (bag.opened) {
        add({ severity: "attention", code: "BAG_REOPENED", ceremonyId: c.ceremonyId, text: `Bag ${e.serial} was recorded opened at ${c.ceremonyId}, but it had been opened at ${bag.opened.ceremonyId} already.` });
        continue;
      }
      bag.seen.push(at);
      if (e.event === "opened") bag.opened = at;
    }
    // A card entered in this ceremony was out of its bag: that bag was opened here, even if no serial was recorded.
    for (const u of c.shareUses) {
      if (u.verdict === "absent") continue;
      const key = `${u.setId}#${u.index}`;
      const serial = cardBag.get(key);
      const bag = serial ? bags.get(serial) : undefined;
      if (bag && !bag.opened && !openedHere.has(key)) bag.opened = { ceremonyId: c.ceremonyId, at: u.at, inferred: true };
    }
  }
  for (const s of shares) {
    const serial = cardBag.get(`${s.setId}#${s.index}`);
    if (serial) s.bag = serial;
  }
  return [...bags.values()];
}
