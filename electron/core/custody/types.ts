/**
 * The custody register (issue 16, docs/custody-register.md): what every
 * transcript of one root says about the key, its backups, its shares and its
 * tamper-evident bags, across ceremonies. Plain data, so the CLI, the PDF and
 * the app's screen show the same facts.
 */
import type { Completeness } from "../transcript/types";

/** What a ceremony did to the root key, from the actions it recorded (or its script's kind). */
export type CeremonyKind = "generation" | "health-check" | "re-split" | "recovery" | "destruction" | "signing" | "other";

/** A point in the register: which ceremony, when (an entry's timestamp). */
export interface When {
  ceremonyId: string;
  at: string;
}

/** One participant as the ceremony enrolled them. */
export interface Person {
  id: string;
  name: string;
  roles: string[];
  /** §2.4 fingerprint of the attestation key. */
  fingerprint: string;
  /** The participant id this person had in the source ceremony (custodians). */
  sourceId?: string;
}

/** A bag event declared by the script (checklist field with `bag` and `holds`). */
export interface BagEvent {
  serial: string;
  holds: string;
  event: "sealed" | "opened" | "inspected";
  /** For share-card bags: the share (number) it holds, by the list position rule. */
  shareIndex?: number;
  at: string;
  stepId: string;
}

/** A backup made by a generation or re-split. */
export interface BackupSet {
  ceremonyId: string;
  at: string;
  threshold: number;
  total: number;
  kcv: string;
  blobSha256: string;
  shares: Array<{ index: number; holderId: string; holder: string; fingerprint: string; commitment: string }>;
}

/** One share checked or used in a ceremony. */
export interface ShareUse {
  setId: string;
  index: number;
  verdict: "valid" | "invalid" | "absent" | "used";
  at: string;
  reason?: string;
}

/** The facts of one intact ceremony. */
export interface CeremonyFacts {
  file: string;
  ceremonyId: string;
  kind: CeremonyKind;
  title: string;
  scriptId: string;
  mode: string;
  head: string;
  entries: number;
  completeness: Completeness;
  opened: string;
  lastAt: string;
  abortReason?: string;
  source?: { ceremonyId: string; head: string };
  rootFingerprint?: string;
  rootAlgorithm?: string;
  certificateSha256?: string;
  token?: { serial: string; label: string; model: string };
  people: Person[];
  backup?: BackupSet;
  /** The source backup this ceremony revoked (re-split). */
  revokes?: string;
  shareUses: ShareUse[];
  /** Health check: shares valid, the quorum still available. */
  healthCheck?: { setId: string; valid: number; threshold: number; total: number; quorumAvailable: boolean };
  destroyed?: number;
  signed: string[];
  bags: BagEvent[];
}

/** How a ceremony's source was found in the set. */
export type LinkState = "linked" | "missing" | "not-intact" | "other-head";

/** One input transcript as read and verified. */
export interface InputVerdict {
  file: string;
  ceremonyId?: string;
  head?: string | null;
  /** intact (verified, any completeness), not-intact, unreadable (exit 2 of custos verify). */
  state: "intact" | "not-intact" | "unreadable";
  completeness?: Completeness;
  reason?: string;
}

/** A share's life. */
export interface ShareRecord {
  setId: string;
  index: number;
  holder: string;
  holderId: string;
  fingerprint: string;
  issued: string;
  /** The ceremony that revoked this share's backup (a re-split), if any. */
  revoked?: When;
  /** Every check or use, oldest first. */
  uses: Array<ShareUse & { ceremonyId: string }>;
  lastCheck?: { at: string; ceremonyId: string; verdict: ShareUse["verdict"] };
  /** The bag it was last sealed in (serial), if recorded. */
  bag?: string;
}

/** A bag's life. */
export interface BagRecord {
  serial: string;
  holds: string;
  share?: { setId: string; index: number };
  sealed?: When;
  seen: When[];
  opened?: When & { inferred?: boolean };
}

export type Severity = "broken" | "attention" | "note";

/** Something the register must say: a broken link or tampered transcript, an overdue check, a gap. */
export interface Finding {
  severity: Severity;
  code: string;
  text: string;
  file?: string;
  ceremonyId?: string;
}

/** The register of one root. */
export interface CustodyRegister {
  /** The date overdue checks are judged at (YYYY-MM-DD). */
  asOf: string;
  checkIntervalMonths: number;
  root?: { fingerprint: string; algorithm?: string; certificateSha256?: string; generated?: When };
  mode: "rehearsal" | "production" | "mixed" | "none";
  inputs: InputVerdict[];
  /** Intact ceremonies of the root, oldest first, each with how its source was found. */
  ceremonies: Array<CeremonyFacts & { link?: { state: LinkState; detail: string } }>;
  backups: Array<BackupSet & { revoked?: When; current: boolean }>;
  shares: ShareRecord[];
  bags: BagRecord[];
  findings: Finding[];
  /** 0 intact and linked, 1 something not intact or a broken link, 2 an input unreadable, 3 intact and linked but custody needs attention. */
  status: 0 | 1 | 2 | 3;
}
