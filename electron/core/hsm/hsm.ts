import crypto from "node:crypto";
import * as graphene from "graphene-pk11";
import { CustosError } from "../errors";
import { hsmCall, pkcs11ErrorName, toHsmError } from "./errors";
import { HsmSession } from "./session";

export { HsmSession } from "./session";

/** What a token says about itself; recorded in the transcript at token selection. */
export interface TokenInfo {
  slotId: string;
  slotDescription: string;
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  firmware: string;
  hardware: string;
  initialized: boolean;
  userPinInitialized: boolean;
  userPinCountLow: boolean;
  userPinFinalTry: boolean;
  userPinLocked: boolean;
  soPinCountLow: boolean;
  soPinFinalTry: boolean;
  soPinLocked: boolean;
  hasRng: boolean;
}

/**
 * How a token is named. Given explicitly (the CLI's --slot/--serial/--label)
 * every field given must match; from a record (a transcript's token) the serial
 * must match and slot id and label only break ties. More than one match is
 * refused: NSS's two slots share one serial.
 */
export interface TokenRef {
  slotId?: string;
  serial?: string;
  label?: string;
}

/** Attributes of a key object, as listed for orphan detection and destruction records. */
export interface KeyObjectInfo {
  handle: string;
  class: "private" | "public" | "secret" | "other";
  label: string;
  id: string;
  token: boolean;
  sensitive?: boolean;
  extractable?: boolean;
  alwaysSensitive?: boolean;
  neverExtractable?: boolean;
  wrapWithTrusted?: boolean;
}

export type PinRole = "user" | "so";

/** A PKCS#11 mechanism as the token reports it (C_GetMechanismInfo). */
export interface MechanismInfo {
  code: number;
  name: string;
  minKeySize: number;
  maxKeySize: number;
  flags: number;
}

const { TokenFlag } = graphene;

const ver = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;
const trim = (s: string) => s.replace(/\0/g, "").trim();

/** Stable CKA_ID for a ceremony's root key: lets an interrupted step find what it made. */
export function rootKeyId(ceremonyId: string): Buffer {
  return crypto.createHash("sha256").update(`custos-root-key-id:${ceremonyId}`).digest().subarray(0, 16);
}
/** Object labels carry the ceremony id so orphaned objects can be found after a crash. */
export const rootKeyLabel = (ceremonyId: string) => `custos:${ceremonyId}:root`;
export const kekLabel = (ceremonyId: string) => `custos:${ceremonyId}:kek`;

/** Describes a token reference for a person: "serial 0000…, label NSS Certificate DB". */
export function describeRef(ref: TokenRef): string {
  const parts = [ref.slotId !== undefined ? `slot ${ref.slotId}` : "", ref.serial ? `serial ${ref.serial}` : "", ref.label ? `label "${ref.label}"` : ""].filter(Boolean);
  return parts.length ? parts.join(", ") : "any token";
}

/** Options for opening a module. */
export interface HsmOpenOptions {
  /** Applied to process.env before the module loads (e.g. SOFTHSM2_CONF). */
  env?: Record<string, string>;
  /** C_Initialize's reserved string (NSS: `configdir='sql:DIR' …`); without it C_Initialize gets NULL. */
  initArgs?: string;
  maxPinAttempts?: number;
}

/**
 * A loaded PKCS#11 module. One per process at a time: SoftHSM reads its
 * configuration (SOFTHSM2_CONF) when the module initialises.
 */
export class Hsm {
  readonly modulePath: string;
  readonly initArgs: string | undefined;
  private mod: graphene.Module;
  private closed = false;
  /** Wrong PINs seen in this process per token serial and role. */
  private readonly pinFailures = new Map<string, number>();
  /** Custos stops asking after this many wrong PINs, so the token's own counter is never exhausted silently. */
  readonly maxPinAttempts: number;

  private constructor(modulePath: string, mod: graphene.Module, maxPinAttempts: number, initArgs: string | undefined) {
    this.modulePath = modulePath;
    this.mod = mod;
    this.maxPinAttempts = maxPinAttempts;
    this.initArgs = initArgs;
  }

  /** Loads and initialises a PKCS#11 module; env (e.g. SOFTHSM2_CONF) is applied first. */
  static open(modulePath: string, opts: HsmOpenOptions = {}): Hsm {
    for (const [k, v] of Object.entries(opts.env ?? {})) process.env[k] = v;
    let mod: graphene.Module;
    try {
      mod = graphene.Module.load(modulePath, "custos");
    } catch (e) {
      throw new CustosError(
        "HSM_MODULE_NOT_FOUND",
        `The PKCS#11 module ${modulePath} could not be loaded.`,
        "Check the module path and that the HSM vendor's client software is installed.",
        { cause: e },
      );
    }
    const initArgs = opts.initArgs?.trim() ? opts.initArgs : undefined;
    try {
      // CKF_OS_LOCKING_OK (2) with the reserved string, as NSS expects it.
      mod.initialize(initArgs ? { libraryParameters: initArgs, flags: 2 } : undefined);
    } catch (e) {
      if (pkcs11ErrorName(e) !== "CKR_CRYPTOKI_ALREADY_INITIALIZED") {
        const err = toHsmError(e, `Initialising the PKCS#11 module ${modulePath}${initArgs ? " with the given initialisation arguments" : " without initialisation arguments"}`);
        try {
          mod.close();
        } catch {
          // Nothing loaded to release.
        }
        throw err;
      }
    }
    return new Hsm(modulePath, mod, opts.maxPinAttempts ?? 3, initArgs);
  }

  /** The module's own description (C_GetInfo): manufacturer, library description and version. */
  moduleInfo(): { manufacturer: string; description: string; libraryVersion: string; cryptokiVersion: string } {
    return hsmCall("Reading the module information", () => ({
      manufacturer: trim(this.mod.manufacturerID),
      description: trim(this.mod.libraryDescription),
      libraryVersion: ver(this.mod.libraryVersion),
      cryptokiVersion: ver(this.mod.cryptokiVersion),
    }));
  }

  /** Finalises the module; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.mod.finalize();
    } catch {
      // Finalising a module whose token vanished can fail; nothing is left to release.
    }
    // The library stays loaded: SoftHSM does not survive being unloaded and loaded again in one process.
  }

  /** Lists the slots with a token present. */
  tokens(): TokenInfo[] {
    return hsmCall("Listing tokens", () => this.slots().map((s) => this.describe(s)));
  }

  private slots(): graphene.Slot[] {
    const slots = this.mod.getSlots(true);
    const out: graphene.Slot[] = [];
    for (let i = 0; i < slots.length; i++) out.push(slots.items(i));
    return out;
  }

  private describe(slot: graphene.Slot): TokenInfo {
    const t = slot.getToken();
    const f = t.flags;
    return {
      slotId: slot.handle.toString("hex"),
      slotDescription: trim(slot.slotDescription),
      label: trim(t.label),
      manufacturer: trim(t.manufacturerID),
      model: trim(t.model),
      serial: trim(t.serialNumber),
      firmware: ver(t.firmwareVersion),
      hardware: ver(t.hardwareVersion),
      initialized: !!(f & TokenFlag.TOKEN_INITIALIZED),
      userPinInitialized: !!(f & TokenFlag.USER_PIN_INITIALIZED),
      userPinCountLow: !!(f & TokenFlag.USER_PIN_COUNT_LOW),
      userPinFinalTry: !!(f & TokenFlag.USER_PIN_FINAL_TRY),
      userPinLocked: !!(f & TokenFlag.USER_PIN_LOCKED),
      soPinCountLow: !!(f & TokenFlag.SO_PIN_COUNT_LOW),
      soPinFinalTry: !!(f & TokenFlag.SO_PIN_FINAL_TRY),
      soPinLocked: !!(f & TokenFlag.SO_PIN_LOCKED),
      hasRng: !!(f & TokenFlag.RNG),
    };
  }

  /**
   * Finds the one slot a reference names. `strict`: every given field must
   * match (a person's choice); otherwise the serial must match and the slot id
   * and label narrow ties (a recorded token). Ambiguity is refused.
   */
  private findSlot(ref: TokenRef, strict = false): graphene.Slot {
    const all = hsmCall("Listing tokens", () => this.slots().map((s) => ({ s, i: this.describe(s) })));
    let c = all;
    if (strict) {
      if (ref.slotId !== undefined) c = c.filter((x) => x.i.slotId === ref.slotId || slotNumber(x.i.slotId) === ref.slotId);
      if (ref.serial !== undefined) c = c.filter((x) => x.i.serial === ref.serial);
      if (ref.label !== undefined) c = c.filter((x) => x.i.label === ref.label);
    } else {
      if (ref.serial !== undefined) c = c.filter((x) => x.i.serial === ref.serial);
      if (c.length > 1 && ref.label !== undefined && c.some((x) => x.i.label === ref.label)) c = c.filter((x) => x.i.label === ref.label);
      if (c.length > 1 && ref.slotId !== undefined && c.some((x) => x.i.slotId === ref.slotId)) c = c.filter((x) => x.i.slotId === ref.slotId);
    }
    if (c.length === 0) {
      throw new CustosError(
        "HSM_TOKEN_REMOVED",
        !strict && ref.serial ? `The token with serial ${ref.serial} is not attached${ref.label ? ` (label "${ref.label}")` : ""}.` : `No attached token matches ${describeRef(ref)}.`,
        "Re-attach the token that was selected for this ceremony (or correct --slot/--serial/--label), then retry.",
      );
    }
    if (c.length > 1) {
      throw new CustosError(
        "HSM_TOKEN_AMBIGUOUS",
        `${c.length} tokens match ${describeRef(ref)}: ${c.map((x) => `slot ${slotNumber(x.i.slotId)} "${x.i.label}" serial ${x.i.serial}`).join("; ")}.`,
        "Custos will not guess which one: name the token by slot, serial and label together so that exactly one matches.",
      );
    }
    return c[0]!.s;
  }

  /** The one token a reference names (strictly, as a person typed it). */
  identify(ref: TokenRef): TokenInfo {
    return this.describe(this.findSlot(ref, true));
  }

  /** Current information for the token a serial or reference names. */
  tokenInfo(ref: string | TokenRef): TokenInfo {
    const r = typeof ref === "string" ? { serial: ref } : ref;
    return hsmCall("Reading token information", () => this.describe(this.findSlot(r)));
  }

  /** The mechanisms the token offers, each with its key sizes and flags. */
  mechanisms(ref: TokenRef): MechanismInfo[] {
    const slot = this.findSlot(ref);
    return hsmCall("Listing the token's mechanisms (C_GetMechanismList)", () => {
      const list = slot.getMechanisms();
      const out: MechanismInfo[] = [];
      for (let i = 0; i < list.length; i++) {
        const m = list.tryGetItem(i);
        if (m) out.push({ code: m.type, name: m.name, minKeySize: m.minKeySize, maxKeySize: m.maxKeySize, flags: m.flags });
      }
      return out;
    });
  }

  /**
   * Initialises a blank token (security officer PIN and label), then sets the
   * user PIN. Uses C_InitToken directly: graphene's slot.initToken throws on
   * SoftHSM even when it succeeds (STACK-NOTES). Returns the token's new info;
   * SoftHSM moves an initialised token to a new slot id.
   */
  initToken(slotId: string, p: { label: string; soPin: string; userPin: string }): TokenInfo {
    const slot = this.findSlot({ slotId }, true);
    const before = new Set(this.tokens().filter((t) => t.initialized).map((t) => `${t.slotId}:${t.serial}`));
    const already = this.describe(slot);
    if (already.initialized) {
      throw new CustosError(
        "HSM_TOKEN_NOT_BLANK",
        `The token in slot ${slotId} (${already.label}) is already initialised.`,
        "Initialising would erase its keys; select a blank token, or skip initialisation if this token is the intended one.",
      );
    }
    try {
      (this.mod as unknown as { lib: { C_InitToken(h: Buffer, pin: string, label: string): unknown } }).lib.C_InitToken(
        slot.handle,
        p.soPin,
        p.label.padEnd(32).slice(0, 32),
      );
    } catch (e) {
      const name = pkcs11ErrorName(e);
      if (name === "CKR_PIN_INCORRECT") {
        throw new CustosError(
          "HSM_INIT_PIN_REFUSED",
          "Initialising the token: the token refused the security officer PIN given for initialisation (CKR_PIN_INCORRECT). Some tokens are initialised with their factory or current SO PIN, not a new one.",
          "Check the token's profile and the vendor's documentation for the SO PIN it expects at initialisation (opencryptoki: its factory SO PIN); this is not a login, no login counter was used.",
          { cause: e, details: { pkcs11: name } },
        );
      }
      throw toHsmError(e, "Initialising the token (C_InitToken)");
    }
    const fresh = this.tokens().find((t) => t.initialized && t.label === p.label && !before.has(`${t.slotId}:${t.serial}`));
    if (!fresh) throw new CustosError("HSM_ERROR", "The token did not appear after initialisation.", "Re-attach the token and retry the step.");
    const ref = { serial: fresh.serial, label: fresh.label, slotId: fresh.slotId };
    const session = this.openSession(ref);
    try {
      session.login("so", p.soPin);
      hsmCall("Setting the user PIN (C_InitPIN)", () => session.raw.initPin(p.userPin));
      session.logout();
    } finally {
      session.close();
    }
    return this.tokenInfo(ref);
  }

  /** Sets the user PIN from an SO-logged-in session (finishing an interrupted initialisation). */
  setUserPin(session: HsmSession, userPin: string): void {
    hsmCall("Setting the user PIN (C_InitPIN)", () => session.raw.initPin(userPin));
  }

  /** Opens a read-write session on the token a serial or reference names. */
  openSession(ref: string | TokenRef): HsmSession {
    const r = typeof ref === "string" ? { serial: ref } : { serial: ref.serial, label: ref.label, slotId: ref.slotId };
    const slot = this.findSlot(r);
    const info = this.describe(slot);
    const raw = hsmCall("Opening a session", () => slot.open(graphene.SessionFlag.RW_SESSION | graphene.SessionFlag.SERIAL_SESSION));
    return new HsmSession(this, { serial: info.serial, label: info.label, slotId: info.slotId }, raw);
  }

  private key(ref: TokenRef, role: PinRole): string {
    return `${ref.slotId ?? ""}:${ref.serial ?? ""}:${role}`;
  }

  /** Records a wrong PIN and builds the error that says how many tries remain. */
  pinFailed(ref: TokenRef, role: PinRole, cause: unknown): CustosError {
    const key = this.key(ref, role);
    const n = (this.pinFailures.get(key) ?? 0) + 1;
    this.pinFailures.set(key, n);
    let info: TokenInfo | undefined;
    try {
      info = this.tokenInfo(ref);
    } catch {
      info = undefined;
    }
    const who = role === "so" ? "security officer" : "user";
    const locked = role === "so" ? info?.soPinLocked : info?.userPinLocked;
    const finalTry = role === "so" ? info?.soPinFinalTry : info?.userPinFinalTry;
    const low = role === "so" ? info?.soPinCountLow : info?.userPinCountLow;
    const left = Math.max(0, this.maxPinAttempts - n);
    if (locked || pkcs11ErrorName(cause) === "CKR_PIN_LOCKED") {
      return new CustosError("HSM_PIN_LOCKED", `The token has locked the ${who} PIN.`, "Stop and follow the vendor's unlock procedure; record an exception.", {
        cause,
        details: { role, triesLeftHere: 0 },
      });
    }
    const tokenSays = finalTry
      ? "The token says the next wrong PIN is its final try before it locks; Custos will not make that try."
      : low
        ? "The token says few tries remain before it locks."
        : "The token does not say how many tries remain.";
    return new CustosError(
      "HSM_PIN_INCORRECT",
      `Logging in as ${who}: the ${who} PIN was not accepted (${n} wrong ${n === 1 ? "attempt" : "attempts"} in this session). ${tokenSays}`,
      finalTry
        ? "Stop: verify the PIN envelope with the witnesses and record an exception before anyone tries again."
        : left > 0
          ? `Custos allows ${left} more ${left === 1 ? "attempt" : "attempts"} before it stops asking, so the token's counter is never exhausted by accident. Check the PIN envelope.`
          : "Custos will not try again in this session: verify the PIN envelope, record an exception, and restart the step.",
      { cause, details: { role, triesLeftHere: finalTry ? 0 : left, tokenFinalTry: !!finalTry, tokenCountLow: !!low } },
    );
  }

  /** True when Custos has already stopped accepting PIN attempts for this token and role. */
  pinAttemptsExhausted(ref: TokenRef, role: PinRole): boolean {
    return (this.pinFailures.get(this.key(ref, role)) ?? 0) >= this.maxPinAttempts;
  }

  /** Resets the wrong-PIN count after a successful login. */
  pinSucceeded(ref: TokenRef, role: PinRole): void {
    this.pinFailures.delete(this.key(ref, role));
  }
}

/** A slot handle (hex, little-endian as pkcs11js gives it) as the decimal slot number people see. */
export function slotNumber(slotIdHex: string): string {
  const b = Buffer.from(slotIdHex, "hex");
  if (b.length === 0 || b.length > 8) return slotIdHex;
  const padded = Buffer.alloc(8);
  b.copy(padded);
  return padded.readBigUInt64LE().toString();
}
