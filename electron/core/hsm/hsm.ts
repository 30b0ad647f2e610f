import crypto from "node:crypto";
import * as graphene from "graphene-pk11";
import { CustosError } from "../errors";
import { hsmCall, pkcs11ErrorName, toHsmError } from "./errors";
import {
  algorithmSpec,
  ecPointFromSpki,
  ecSpki,
  rsaPartsFromSpki,
  rsaSpki,
  unwrapEcPoint,
  type RootKeyAlgorithm,
} from "./algorithms";

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

const { TokenFlag, ObjectClass, KeyType, MechanismEnum, SessionFlag, UserType } = graphene;

const ver = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;
const trim = (s: string) => s.replace(/\0/g, "").trim();

/** Stable CKA_ID for a ceremony's root key: lets an interrupted step find what it made. */
export function rootKeyId(ceremonyId: string): Buffer {
  return crypto.createHash("sha256").update(`custos-root-key-id:${ceremonyId}`).digest().subarray(0, 16);
}
/** Object labels carry the ceremony id so orphaned objects can be found after a crash. */
export const rootKeyLabel = (ceremonyId: string) => `custos:${ceremonyId}:root`;
export const kekLabel = (ceremonyId: string) => `custos:${ceremonyId}:kek`;

/**
 * A loaded PKCS#11 module. One per process at a time: SoftHSM reads its
 * configuration (SOFTHSM2_CONF) when the module initialises.
 */
export class Hsm {
  readonly modulePath: string;
  private mod: graphene.Module;
  private closed = false;
  /** Wrong PINs seen in this process per token serial and role. */
  private readonly pinFailures = new Map<string, number>();
  /** Custos stops asking after this many wrong PINs, so the token's own counter is never exhausted silently. */
  readonly maxPinAttempts: number;

  private constructor(modulePath: string, mod: graphene.Module, maxPinAttempts: number) {
    this.modulePath = modulePath;
    this.mod = mod;
    this.maxPinAttempts = maxPinAttempts;
  }

  /** Loads and initialises a PKCS#11 module; env (e.g. SOFTHSM2_CONF) is applied first. */
  static open(modulePath: string, opts: { env?: Record<string, string>; maxPinAttempts?: number } = {}): Hsm {
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
    try {
      mod.initialize();
    } catch (e) {
      if (pkcs11ErrorName(e) !== "CKR_CRYPTOKI_ALREADY_INITIALIZED") throw toHsmError(e, "Initialising the PKCS#11 module");
    }
    return new Hsm(modulePath, mod, opts.maxPinAttempts ?? 3);
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
  }

  /** Lists the slots with a token present. */
  tokens(): TokenInfo[] {
    return hsmCall("Listing tokens", () => {
      const slots = this.mod.getSlots(true);
      const out: TokenInfo[] = [];
      for (let i = 0; i < slots.length; i++) out.push(this.describe(slots.items(i)));
      return out;
    });
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

  private slotBySerial(serial: string): graphene.Slot {
    const slots = hsmCall("Listing tokens", () => this.mod.getSlots(true));
    for (let i = 0; i < slots.length; i++) {
      const s = slots.items(i);
      if (trim(s.getToken().serialNumber) === serial) return s;
    }
    throw new CustosError(
      "HSM_TOKEN_REMOVED",
      `The token with serial ${serial} is not attached.`,
      "Re-attach the token that was selected for this ceremony, then retry the step.",
    );
  }

  private slotById(slotId: string): graphene.Slot {
    const slots = hsmCall("Listing tokens", () => this.mod.getSlots(true));
    for (let i = 0; i < slots.length; i++) {
      const s = slots.items(i);
      if (s.handle.toString("hex") === slotId) return s;
    }
    throw new CustosError("HSM_TOKEN_REMOVED", `Slot ${slotId} has no token.`, "Re-attach the token and select it again.");
  }

  /** Current information for the token with this serial. */
  tokenInfo(serial: string): TokenInfo {
    return hsmCall("Reading token information", () => this.describe(this.slotBySerial(serial)));
  }

  /**
   * Initialises a blank token (security officer PIN and label), then sets the
   * user PIN. Uses C_InitToken directly: graphene's slot.initToken throws on
   * SoftHSM even when it succeeds (STACK-NOTES). Returns the token's new info;
   * SoftHSM moves an initialised token to a new slot id.
   */
  initToken(slotId: string, p: { label: string; soPin: string; userPin: string }): TokenInfo {
    const slot = this.slotById(slotId);
    const before = new Set(this.tokens().filter((t) => t.initialized).map((t) => t.serial));
    const already = this.describe(slot);
    if (already.initialized) {
      throw new CustosError(
        "HSM_TOKEN_NOT_BLANK",
        `The token in slot ${slotId} (${already.label}) is already initialised.`,
        "Initialising would erase its keys; select a blank token, or skip initialisation if this token is the intended one.",
      );
    }
    hsmCall("Initialising the token", () => {
      (this.mod as unknown as { lib: { C_InitToken(h: Buffer, pin: string, label: string): unknown } }).lib.C_InitToken(
        slot.handle,
        p.soPin,
        p.label.padEnd(32).slice(0, 32),
      );
    });
    const fresh = this.tokens().find((t) => t.initialized && t.label === p.label && !before.has(t.serial));
    if (!fresh) throw new CustosError("HSM_ERROR", "The token did not appear after initialisation.", "Re-attach the token and retry the step.");
    const session = this.openSession(fresh.serial);
    try {
      session.login("so", p.soPin);
      hsmCall("Setting the user PIN", () => session.raw.initPin(p.userPin));
      session.logout();
    } finally {
      session.close();
    }
    return this.tokenInfo(fresh.serial);
  }

  /** Sets the user PIN from an SO-logged-in session (finishing an interrupted initialisation). */
  setUserPin(session: HsmSession, userPin: string): void {
    hsmCall("Setting the user PIN", () => session.raw.initPin(userPin));
  }

  /** Opens a read-write session on the token with this serial. */
  openSession(serial: string): HsmSession {
    const slot = this.slotBySerial(serial);
    const raw = hsmCall("Opening a session", () => slot.open(SessionFlag.RW_SESSION | SessionFlag.SERIAL_SESSION));
    return new HsmSession(this, serial, raw);
  }

  /** Records a wrong PIN and builds the error that says how many tries remain. */
  pinFailed(serial: string, role: PinRole, cause: unknown): CustosError {
    const key = `${serial}:${role}`;
    const n = (this.pinFailures.get(key) ?? 0) + 1;
    this.pinFailures.set(key, n);
    let info: TokenInfo | undefined;
    try {
      info = this.tokenInfo(serial);
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
      ? "The token says the next wrong PIN is its final try before it locks."
      : low
        ? "The token says few tries remain before it locks."
        : "The token does not say how many tries remain.";
    return new CustosError(
      "HSM_PIN_INCORRECT",
      `The ${who} PIN was not accepted (${n} wrong ${n === 1 ? "attempt" : "attempts"} in this session). ${tokenSays}`,
      left > 0
        ? `Custos allows ${left} more ${left === 1 ? "attempt" : "attempts"} before it stops asking, so the token's counter is never exhausted by accident. Check the PIN envelope.`
        : "Custos will not try again in this session: verify the PIN envelope, record an exception, and restart the step.",
      { cause, details: { role, triesLeftHere: left, tokenFinalTry: !!finalTry, tokenCountLow: !!low } },
    );
  }

  /** True when Custos has already stopped accepting PIN attempts for this token and role. */
  pinAttemptsExhausted(serial: string, role: PinRole): boolean {
    return (this.pinFailures.get(`${serial}:${role}`) ?? 0) >= this.maxPinAttempts;
  }

  /** Resets the wrong-PIN count after a successful login. */
  pinSucceeded(serial: string, role: PinRole): void {
    this.pinFailures.delete(`${serial}:${role}`);
  }
}

/** A session on one token. All key operations of a ceremony step go through here. */
export class HsmSession {
  constructor(
    private readonly hsm: Hsm,
    readonly serial: string,
    readonly raw: graphene.Session,
  ) {}

  /** Logs in; a wrong PIN yields an error that says how many tries remain. */
  login(role: PinRole, pin: string): void {
    if (this.hsm.pinAttemptsExhausted(this.serial, role)) {
      throw new CustosError(
        "HSM_PIN_ATTEMPTS_EXHAUSTED",
        `Custos has stopped asking for the ${role === "so" ? "security officer" : "user"} PIN after ${this.hsm.maxPinAttempts} wrong attempts.`,
        "Verify the PIN envelope with the witnesses, record an exception, and restart Custos to try again.",
      );
    }
    try {
      this.raw.login(pin, role === "so" ? UserType.SO : UserType.USER);
      this.hsm.pinSucceeded(this.serial, role);
    } catch (e) {
      const name = pkcs11ErrorName(e);
      if (name === "CKR_USER_ALREADY_LOGGED_IN") return;
      if (name === "CKR_PIN_INCORRECT" || name === "CKR_PIN_LOCKED") throw this.hsm.pinFailed(this.serial, role, e);
      throw toHsmError(e, "Logging in to the token");
    }
  }

  /** Logs out; already logged out is fine. */
  logout(): void {
    try {
      this.raw.logout();
    } catch (e) {
      if (pkcs11ErrorName(e) !== "CKR_USER_NOT_LOGGED_IN") throw toHsmError(e, "Logging out of the token");
    }
  }

  /** Closes the session (session objects, such as a KEK, are destroyed by the token). */
  close(): void {
    try {
      this.raw.close();
    } catch {
      // A removed token leaves nothing to close.
    }
  }

  /** Random bytes from the token's RNG. */
  random(n: number): Buffer {
    return hsmCall("Reading random bytes from the token", () => this.raw.generateRandom(n));
  }

  /**
   * Generates the root key pair inside the token: private key sensitive,
   * extractable only under a trusted wrapping key (CKA_WRAP_WITH_TRUSTED), so a
   * user-PIN holder alone cannot export it under a key of their own.
   */
  generateRootKeyPair(alg: RootKeyAlgorithm, label: string, id: Buffer): { spki: Buffer } {
    const spec = algorithmSpec(alg);
    const common = { token: true, label, id };
    const priv = {
      ...common,
      class: ObjectClass.PRIVATE_KEY,
      private: true,
      sensitive: true,
      extractable: true,
      wrapWithTrusted: true,
      sign: true,
      derive: false,
      decrypt: false,
      unwrap: false,
    };
    const pub = { ...common, class: ObjectClass.PUBLIC_KEY, private: false, verify: true, encrypt: false, wrap: false };
    const pair = hsmCall("Generating the root key pair", () =>
      spec.family === "EC"
        ? this.raw.generateKeyPair(
            MechanismEnum.EC_KEY_PAIR_GEN,
            { ...pub, keyType: KeyType.EC, paramsEC: Buffer.from(spec.paramsDer, "hex") },
            { ...priv, keyType: KeyType.EC },
          )
        : this.raw.generateKeyPair(
            MechanismEnum.RSA_PKCS_KEY_PAIR_GEN,
            { ...pub, keyType: KeyType.RSA, modulusBits: spec.bits, publicExponent: Buffer.from([1, 0, 1]) },
            { ...priv, keyType: KeyType.RSA },
          ),
    );
    return { spki: this.spkiOf(pair.publicKey, alg) };
  }

  private spkiOf(obj: graphene.SessionObject, alg: RootKeyAlgorithm): Buffer {
    const spec = algorithmSpec(alg);
    return hsmCall("Reading the public key", () => {
      if (spec.family === "EC") {
        const a = obj.getAttribute({ pointEC: null }) as { pointEC: Buffer };
        return ecSpki(spec.curve, unwrapEcPoint(a.pointEC));
      }
      const a = obj.getAttribute({ modulus: null, publicExponent: null }) as { modulus: Buffer; publicExponent: Buffer };
      return rsaSpki(a.modulus, a.publicExponent);
    });
  }

  /** The SPKI of the public key object with this label. */
  publicKeySpki(label: string, alg: RootKeyAlgorithm): Buffer {
    return this.spkiOf(this.findOne(label, ObjectClass.PUBLIC_KEY, "public key"), alg);
  }

  private findAll(template: Record<string, unknown>): graphene.SessionObject[] {
    return hsmCall("Searching the token", () => {
      const col = this.raw.find(template as graphene.ITemplate);
      const out: graphene.SessionObject[] = [];
      for (let i = 0; i < col.length; i++) out.push(col.items(i));
      return out;
    });
  }

  private findOne(label: string, cls: graphene.ObjectClass, what: string): graphene.SessionObject {
    const found = this.findAll({ label, class: cls });
    if (found.length === 0) {
      throw new CustosError("HSM_KEY_NOT_FOUND", `No ${what} labelled ${label} is on the token.`, "Check that the right token is attached and logged in.");
    }
    if (found.length > 1) {
      throw new CustosError("HSM_KEY_AMBIGUOUS", `${found.length} objects of kind ${what} are labelled ${label}.`, "Resolve the duplicate objects before continuing; record an exception.");
    }
    return found[0]!;
  }

  /** Lists the key objects carrying a label (visible to the current login). */
  listObjects(label: string): KeyObjectInfo[] {
    return this.findAll({ label }).map((o) => this.info(o));
  }

  private info(o: graphene.SessionObject): KeyObjectInfo {
    const base = o.getAttribute({ class: null, label: null, id: null, token: null }) as {
      class: number;
      label: string;
      id: Buffer;
      token: boolean;
    };
    const cls =
      base.class === ObjectClass.PRIVATE_KEY ? "private" : base.class === ObjectClass.PUBLIC_KEY ? "public" : base.class === ObjectClass.SECRET_KEY ? "secret" : "other";
    const out: KeyObjectInfo = { handle: o.handle.toString("hex"), class: cls, label: base.label, id: base.id?.toString("hex") ?? "", token: base.token };
    if (cls === "private" || cls === "secret") {
      const k = o.getAttribute({ sensitive: null, extractable: null, alwaysSensitive: null, neverExtractable: null, wrapWithTrusted: null }) as Record<string, boolean>;
      Object.assign(out, {
        sensitive: k.sensitive,
        extractable: k.extractable,
        alwaysSensitive: k.alwaysSensitive,
        neverExtractable: k.neverExtractable,
        wrapWithTrusted: k.wrapWithTrusted,
      });
    }
    return out;
  }

  /**
   * Signs data with the private key of this label. EC: SoftHSM has no
   * CKM_ECDSA_SHA384, so the hash is computed here and signed raw; the result
   * is r||s. RSA: PKCS#1 v1.5 with SHA-256 inside the token.
   */
  sign(label: string, alg: RootKeyAlgorithm, data: Uint8Array): Buffer {
    const spec = algorithmSpec(alg);
    const key = this.findOne(label, ObjectClass.PRIVATE_KEY, "private key").toType<graphene.PrivateKey>();
    return hsmCall("Signing with the root key", () => {
      if (spec.family === "EC") {
        const digest = crypto.createHash(spec.hash).update(data).digest();
        return this.raw.createSign(MechanismEnum.ECDSA, key).once(digest);
      }
      return this.raw.createSign(MechanismEnum.SHA256_RSA_PKCS, key).once(Buffer.from(data));
    });
  }

  /**
   * Imports the KEK as a session-only, trusted AES key. Only the security
   * officer may set CKA_TRUSTED, so this must run under an SO login: that is the
   * dual control (SO PIN here, user PIN for the wrap).
   */
  importTrustedKek(kek: Uint8Array, label: string): graphene.SecretKey {
    return this.importSessionAesKey(kek, label, true, "Importing the backup wrapping key");
  }

  /** Imports an AES key for unwrapping only (recovery target token, old KEK of a re-split). */
  importUnwrapKek(kek: Uint8Array, label: string): graphene.SecretKey {
    return this.importSessionAesKey(kek, label, false, "Importing the reassembled wrapping key");
  }

  /** A session-only, sensitive, non-extractable AES key; `trusted` makes it a wrapping key for the root key. */
  private importSessionAesKey(kek: Uint8Array, label: string, trusted: boolean, doing: string): graphene.SecretKey {
    return hsmCall(doing, () =>
      this.raw
        .create({
          class: ObjectClass.SECRET_KEY,
          keyType: KeyType.AES,
          token: false,
          private: false,
          ...(trusted ? { trusted: true } : {}),
          sensitive: true,
          extractable: false,
          wrap: trusted,
          unwrap: true,
          encrypt: false,
          decrypt: false,
          label,
          value: viewOf(kek),
        })
        .toType<graphene.SecretKey>(),
    );
  }

  /** Wraps the private key of this label with AES key wrap with padding (RFC 5649). */
  wrapPrivateKey(label: string, kek: graphene.SecretKey): Buffer {
    const key = this.findOne(label, ObjectClass.PRIVATE_KEY, "private key").toType<graphene.PrivateKey>();
    return hsmCall("Wrapping the root key", () => this.raw.wrapKey(MechanismEnum.AES_KEY_WRAP_PAD, kek, key));
  }

  /**
   * Unwraps a backup blob into this token as the root private key (sensitive,
   * wrap-with-trusted, as generated) and creates its public key object from
   * the recorded SPKI.
   */
  unwrapRootKey(blob: Buffer, kek: graphene.SecretKey, alg: RootKeyAlgorithm, label: string, id: Buffer, spki: Buffer): void {
    const spec = algorithmSpec(alg);
    const keyType = spec.family === "EC" ? KeyType.EC : KeyType.RSA;
    this.unwrapPrivateKey(blob, kek, alg, label, id, true);
    const pubTemplate =
      spec.family === "EC"
        ? { paramsEC: Buffer.from(spec.paramsDer, "hex"), pointEC: derOctetString(ecPointFromSpki(spki)) }
        : (() => {
            const { modulus, exponent } = rsaPartsFromSpki(spki);
            return { modulus, publicExponent: exponent };
          })();
    hsmCall("Creating the restored public key object", () =>
      this.raw.create({ class: ObjectClass.PUBLIC_KEY, keyType, token: true, private: false, verify: true, label, id, ...pubTemplate }),
    );
  }

  /**
   * Unwraps a backup blob as a private key with the generation attributes
   * (sensitive, wrap-with-trusted). token=false makes a session object that
   * vanishes with the session: a re-split re-wraps it and never stores it.
   */
  unwrapPrivateKey(blob: Buffer, kek: graphene.SecretKey, alg: RootKeyAlgorithm, label: string, id: Buffer, token: boolean): graphene.PrivateKey {
    const spec = algorithmSpec(alg);
    const keyType = spec.family === "EC" ? KeyType.EC : KeyType.RSA;
    return hsmCall(token ? "Unwrapping the root key into the token" : "Unwrapping the root key as a session object", () =>
      this.raw.unwrapKey(MechanismEnum.AES_KEY_WRAP_PAD, kek, blob, {
        class: ObjectClass.PRIVATE_KEY,
        keyType,
        token,
        private: true,
        sensitive: true,
        extractable: true,
        wrapWithTrusted: true,
        sign: true,
        decrypt: false,
        derive: false,
        unwrap: false,
        label,
        id,
      }).toType<graphene.PrivateKey>(),
    );
  }

  /** Signs with a private key object held by the caller (a session-only key in a re-split). */
  signWith(key: graphene.PrivateKey, alg: RootKeyAlgorithm, data: Uint8Array): Buffer {
    const spec = algorithmSpec(alg);
    return hsmCall("Signing with the unwrapped key", () => {
      if (spec.family === "EC") return this.raw.createSign(MechanismEnum.ECDSA, key).once(crypto.createHash(spec.hash).update(data).digest());
      return this.raw.createSign(MechanismEnum.SHA256_RSA_PKCS, key).once(Buffer.from(data));
    });
  }

  /** Wraps a private key object held by the caller. */
  wrapKeyObject(key: graphene.PrivateKey, kek: graphene.SecretKey): Buffer {
    return hsmCall("Wrapping the root key", () => this.raw.wrapKey(MechanismEnum.AES_KEY_WRAP_PAD, kek, key));
  }

  /** Destroys one object; used for the KEK right after the wrap. */
  destroyObject(obj: graphene.SessionObject): void {
    hsmCall("Destroying a key object", () => this.raw.destroy(obj));
  }

  /** Destroys every object with this label; returns what was destroyed. */
  destroyByLabel(label: string): KeyObjectInfo[] {
    const objs = this.findAll({ label });
    const infos = objs.map((o) => this.info(o));
    for (const o of objs) hsmCall("Destroying a key object", () => this.raw.destroy(o));
    return infos;
  }
}

/** DER OCTET STRING around an EC point, as CKA_EC_POINT expects. */
function derOctetString(content: Buffer): Buffer {
  const len = content.length;
  const hdr = len < 0x80 ? Buffer.from([0x04, len]) : len < 0x100 ? Buffer.from([0x04, 0x81, len]) : Buffer.from([0x04, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([hdr, content]);
}

/** A Buffer over the same memory (no copy), so zeroing the caller's array zeroes what we passed. */
function viewOf(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
