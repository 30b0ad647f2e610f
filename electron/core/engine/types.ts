import type { CustosError } from "../errors";
import type { Hsm, HsmSession, PinRole, TokenInfo } from "../hsm";
import type { RootKeyAlgorithm } from "../hsm/algorithms";
import type { Field } from "../script/params";
import type { CeremonyScript, ScriptStep } from "../script/schema";
import type { KdfParams } from "../transcript/identity";
import type { CeremonyMode, EntryBody, Json } from "../transcript/types";
import type { TranscriptStore } from "../transcript/store";

/** An enrolled participant as recorded in the enrolment entry. Nothing secret. */
export interface Participant {
  id: string;
  name: string;
  roles: string[];
  /** base64 of the raw Ed25519 public key (a passphrase key), or of the SPKI of a key on their own token. */
  publicKey: string;
  /** A passphrase key's derivation parameters (docs/transcript-format.md §2.4). */
  kdf?: KdfParams;
  /** A key on the participant's own token instead (§2.4a). */
  token?: import("./token-keys").TokenRecord;
  /** At a recovery, re-split or destruction: the id this person had in the source ceremony. */
  sourceId?: string;
}

/** What the room sees before anyone enters a share (DESIGN.md: shown first, always). */
export interface ShareBrief {
  sourceCeremonyId: string;
  keyFingerprint: string;
  algorithm: string;
  threshold: number;
  total: number;
  /** Custodians expected to enter a share, with the share number each holds. */
  expected: Array<{ name: string; participantId: string; shareIndex: number }>;
}

/** What a step shows before it runs (UI and CLI alike). */
export interface StepView {
  index: number;
  total: number;
  step: ScriptStep;
}

/** A share card as shown to one custodian. Holds secret words: never log or persist it. */
export interface ShareCardView {
  ceremonyId: string;
  mode: CeremonyMode;
  scriptTitle: string;
  keyFingerprint: string;
  index: number;
  total: number;
  threshold: number;
  custodian: Participant;
  words: string[];
  hex: string;
  commitmentShort: string;
  createdAt: string;
  /** 1 for the first card of this share, 2 and up for a card re-issued after a failed check. */
  issue?: number;
  /** How the card leaves the room (script parameter `handOut`); "choose" lets the operator pick at the step. */
  handOut?: "choose" | "print" | "save" | "reveal";
  /** With "reveal": how long the words may stay on the private view at a time. */
  revealSeconds?: number;
}

/** A field a checklist asks for, with "custodians" counts resolved. */
export type ResolvedField = Omit<Field, "count"> & { count?: number };

/**
 * The people in the room. The desktop app implements this with screens, a
 * rehearsal with simulated participants. Every method may be called again
 * with an error after a wrong answer.
 */
export interface Driver {
  /** Items read aloud and values recorded (serials); returns values by field id. */
  checklist(view: StepView, items: string[], fields: ResolvedField[]): Promise<Record<string, string | string[]>>;
  /** Names, roles and passphrases of everyone present. */
  enrol(
    view: StepView,
    roles: CeremonyScript["roles"],
    error?: CustosError,
    source?: { roles: string[]; participants: Participant[] },
  ): Promise<Array<{ name: string; roles: string[]; passphrase?: string; token?: { serial: string; keyLabel: string; pin: string }; sourceId?: string }>>;
  /** The earlier ceremony's transcript (database, bundle or report PDF) and its backup.json. */
  selectSource(view: StepView, error?: CustosError): Promise<{ transcript: string; backup?: string }>;
  /** Shows the share brief before the first share is entered; resolves when the room has read it. */
  briefing(view: StepView, brief: ShareBrief): Promise<void>;
  /** One custodian enters their share (words or hex). */
  collectShare(view: StepView, req: { custodian: Participant; brief: ShareBrief; collected: number; needed: number; error?: CustosError }): Promise<string>;
  /** A participant types their passphrase to attest (or to prove identity). */
  passphrase(view: StepView, participant: Participant, error?: CustosError): Promise<string>;
  /** Choose the participants who attest for a requirement "one of role X". */
  chooseSigners(view: StepView, role: string, count: number, candidates: Participant[]): Promise<string[]>;
  /** Choose the token (by slot id) from those attached. */
  chooseToken(view: StepView, tokens: TokenInfo[], error?: CustosError): Promise<string>;
  /** A PIN, either to log in or (purpose "set") to set at initialisation. */
  pin(view: StepView, req: { role: PinRole; purpose: "login" | "set"; token: TokenInfo | null; error?: CustosError }): Promise<string>;
  /** Shows one custodian their share; resolves when they confirm they took it down. */
  handOutShare(view: StepView, card: ShareCardView): Promise<void>;
  /** One custodian types their share back in. */
  reenterShare(view: StepView, req: { custodian: Participant; index: number; total: number; error?: CustosError; justHandedOut?: boolean }): Promise<string>;
  /**
   * A file brought into the room on a medium (a certificate request, another root's certificate, a
   * revocation list): never typed. The app asks for it through the operator's Open dialog.
   */
  readInput(view: StepView, req: { name: string; kind: string; description: string; error?: CustosError }): Promise<{ fileName: string; bytes: Buffer }>;
  /**
   * Shows the input's SHA-256 as hex and words; the room compares it with the value the requester
   * sent by a separate channel, and the witness says whether it matches.
   */
  compareInputHash(view: StepView, req: { name: string; fileName: string; sha256: string; words: string[]; summary: string }): Promise<boolean>;
  /** Saves a public artifact (certificate, public key, backup blob, report). */
  saveArtifact(name: string, data: Buffer): Promise<void>;
  /** Prints a public document in the room (the desktop app; rehearsals from the command line print nothing). */
  printDocument?(title: string, pdf: Buffer): Promise<void>;
}

/** Everything a ceremony needs from outside, passed in (no globals). */
export interface EngineDeps {
  store: TranscriptStore;
  driver: Driver;
  /** Loads the PKCS#11 module; called once, lazily. */
  openHsm: () => Hsm;
  /** Network interfaces as the air-gap check sees them. */
  networkInterfaces: () => NetworkInterfaceState[];
  now: () => Date;
  /** Scrypt cost for new participants: "interactive" in the room, "test" for rehearsal speed. */
  kdfCost: "interactive" | "test";
  /** How long an attestation key stays unlocked after a passphrase (ms). */
  attestWindowMs: number;
  /** The PKCS#11 module of the participants' own tokens (smart cards, USB tokens); default: the HSM's. */
  openPersonalTokens?: () => Hsm;
  /** Renders a report PDF for print-report. */
  renderReport: (bundle: import("../transcript/types").Bundle) => Promise<Buffer>;
}

export interface NetworkInterfaceState {
  name: string;
  /** operstate from the kernel ("up", "down", "unknown", …) where known. */
  state: string;
  loopback: boolean;
  addresses: string[];
}

/** Settings fixed at the start and recorded in the first entry, so a resume uses the same ones. */
export interface CeremonySettings {
  algorithm: RootKeyAlgorithm;
  threshold: number;
  shares: number;
}

/** What an action hands back to the engine to record. */
export interface ActionResult {
  inputs: { [key: string]: Json };
  outputs: { [key: string]: Json };
  /** Participants whose signature the entry needs beyond the step's attest list (enrolment). */
  extraSigners?: string[];
  /** The root key signs this entry (the seal). */
  rootSigns?: boolean;
}

/** What an action may use while it runs. */
export interface StepContext {
  ceremonyId: string;
  mode: CeremonyMode;
  script: CeremonyScript;
  scriptSha256: string;
  settings: CeremonySettings;
  view: StepView;
  driver: Driver;
  deps: EngineDeps;
  /** Entries recorded so far (bodies only), oldest first. */
  history: EntryBody[];
  participants: Participant[];
  keyring: import("./keyring").Keyring;
  /** Signatures of recorded entries, by seq (for quorum checks). */
  signaturesOf(seq: number): import("../transcript/types").Signature[];
  /** Asks a participant for their passphrase (unless their key is unlocked) and checks it. */
  proveIdentity(p: Participant): Promise<void>;
  hsm(): Hsm;
  /** Opens a session on the ceremony's token; closed by the engine after the step. */
  session(): HsmSession;
  /** Logs in with a PIN from the driver, asking again after a wrong one. */
  login(session: HsmSession, role: PinRole): Promise<void>;
  /**
   * Records a deviation entry now (§6.7): counts, indexes and names only, never a secret. The
   * step's own entry comes after it, chained to it.
   */
  deviation(kind: string, details?: { [key: string]: Json }): void;
  /** The latest recorded outputs of an action, if any. */
  outputsOf(action: string): { [key: string]: Json } | undefined;
}

/** An entry in the action registry. */
export interface ActionImpl<P = unknown> {
  run(ctx: StepContext, params: P): Promise<ActionResult>;
}
