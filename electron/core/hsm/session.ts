import crypto from "node:crypto";
import * as graphene from "graphene-pk11";
import { CustosError } from "../errors";
import { hsmCall, pkcs11ErrorName, toHsmError } from "./errors";
import { algorithmSpec, ecPointFromSpki, ecSpki, rsaPartsFromSpki, rsaSpki, unwrapEcPoint, type RootKeyAlgorithm } from "./algorithms";
import type { Hsm, KeyObjectInfo, PinRole, TokenRef } from "./hsm";
import { CKM_AES_KEY_WRAP_PAD, readAttributes, rootPrivateTemplate, rootPublicTemplate, type AttributeValue, type WrapMechanism } from "./key-templates";

export { CKA_NAMES, CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD, ROOT_TEMPLATE_EXPECTED, readAttributes, rootPrivateTemplate, rootPublicTemplate, type AttributeValue, type WrapMechanism } from "./key-templates";

const { ObjectClass, KeyType, MechanismEnum, UserType } = graphene;

const bool = (v: AttributeValue | undefined): boolean | undefined => (typeof v === "boolean" ? v : undefined);

/** A session on one token. All key operations of a ceremony step go through here. */
export class HsmSession {
  constructor(
    private readonly hsm: Hsm,
    readonly ref: TokenRef & { serial: string },
    readonly raw: graphene.Session,
  ) {}

  get serial(): string {
    return this.ref.serial;
  }

  /**
   * Logs in. The token's PIN flags are read first: a locked PIN, or a PIN on
   * its final try, stops here before any attempt. A wrong PIN yields an error
   * that says how many tries remain.
   */
  login(role: PinRole, pin: string): void {
    const who = role === "so" ? "security officer" : "user";
    if (this.hsm.pinAttemptsExhausted(this.ref, role)) {
      throw new CustosError(
        "HSM_PIN_ATTEMPTS_EXHAUSTED",
        `Custos has stopped asking for the ${who} PIN after ${this.hsm.maxPinAttempts} wrong attempts.`,
        "Verify the PIN envelope with the witnesses, record an exception, and restart Custos to try again.",
      );
    }
    const info = this.hsm.tokenInfo(this.ref);
    const locked = role === "so" ? info.soPinLocked : info.userPinLocked;
    const finalTry = role === "so" ? info.soPinFinalTry : info.userPinFinalTry;
    if (locked) {
      throw new CustosError("HSM_PIN_LOCKED", `The token says the ${who} PIN is locked (no login was attempted).`, "Stop and follow the vendor's unlock procedure; record an exception.", {
        details: { role },
      });
    }
    if (finalTry) {
      throw new CustosError(
        "HSM_PIN_FINAL_TRY",
        `The token says the next ${who} PIN attempt is its final try before it locks; Custos did not attempt a login.`,
        "Stop: a wrong PIN now would lock the token. Verify the PIN envelope with the witnesses, record an exception, and log in with the vendor's tool only once the PIN is certain.",
        { details: { role } },
      );
    }
    try {
      this.raw.login(pin, role === "so" ? UserType.SO : UserType.USER);
      this.hsm.pinSucceeded(this.ref, role);
    } catch (e) {
      const name = pkcs11ErrorName(e);
      if (name === "CKR_USER_ALREADY_LOGGED_IN") return;
      if (name === "CKR_PIN_INCORRECT" || name === "CKR_PIN_LOCKED") throw this.hsm.pinFailed(this.ref, role, e);
      throw toHsmError(e, `Logging in to the token as ${who}`);
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
   * token=false keeps it a session object (the preflight's throwaway is a token object with a fixed label).
   */
  generateRootKeyPair(alg: RootKeyAlgorithm, label: string, id: Buffer, token = true): { spki: Buffer; privateKey: graphene.PrivateKey; publicKey: graphene.PublicKey } {
    const pair = this.generateKeyPairFrom(alg, rootPublicTemplate(label, id, token), rootPrivateTemplate(label, id, token), `Generating the ${alg} key pair`);
    return { spki: this.spkiOf(pair.publicKey, alg), privateKey: pair.privateKey, publicKey: pair.publicKey };
  }

  /**
   * Generates a key pair of this algorithm from the given public and private
   * templates (the algorithm's key type, curve or modulus are added here). The
   * preflight uses it to find which attribute of the root template a token refuses.
   */
  generateKeyPairFrom(alg: RootKeyAlgorithm, pub: Record<string, unknown>, priv: Record<string, unknown>, doing: string): graphene.IKeyPair {
    const spec = algorithmSpec(alg);
    const mech = spec.family === "EC" ? "CKM_EC_KEY_PAIR_GEN" : "CKM_RSA_PKCS_KEY_PAIR_GEN";
    return hsmCall(
      doing,
      () =>
        spec.family === "EC"
          ? this.raw.generateKeyPair(
              MechanismEnum.EC_KEY_PAIR_GEN,
              { ...pub, keyType: KeyType.EC, paramsEC: Buffer.from(spec.paramsDer, "hex") } as graphene.ITemplate,
              { ...priv, keyType: KeyType.EC } as graphene.ITemplate,
            )
          : this.raw.generateKeyPair(
              MechanismEnum.RSA_PKCS_KEY_PAIR_GEN,
              { ...pub, keyType: KeyType.RSA, modulusBits: spec.bits, publicExponent: Buffer.from([1, 0, 1]) } as graphene.ITemplate,
              { ...priv, keyType: KeyType.RSA } as graphene.ITemplate,
            ),
      { mechanism: mech },
    );
  }

  /** Creates an object from a template (the preflight's probes: what kind of key may be imported at all). */
  createObjectFrom(template: Record<string, unknown>, doing: string): graphene.SessionObject {
    return hsmCall(doing, () => this.raw.create(template as graphene.ITemplate));
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

  /** Attributes of one object, each read on its own (an optional attribute a token lacks is left out). */
  info(o: graphene.SessionObject): KeyObjectInfo {
    const base = readAttributes(o, ["class", "label", "id", "token"]);
    const c = base.class;
    const cls = c === ObjectClass.PRIVATE_KEY ? "private" : c === ObjectClass.PUBLIC_KEY ? "public" : c === ObjectClass.SECRET_KEY ? "secret" : "other";
    const out: KeyObjectInfo = {
      handle: o.handle.toString("hex"),
      class: cls,
      label: typeof base.label === "string" ? base.label : "",
      id: Buffer.isBuffer(base.id) ? base.id.toString("hex") : "",
      token: base.token === true,
    };
    if (cls === "private" || cls === "secret") {
      const k = readAttributes(o, ["sensitive", "extractable", "alwaysSensitive", "neverExtractable", "wrapWithTrusted"]);
      for (const n of Object.keys(k) as Array<keyof KeyObjectInfo>) {
        const v = bool(k[n]);
        if (v !== undefined) (out as unknown as Record<string, boolean>)[n] = v;
      }
    }
    return out;
  }

  /**
   * Signs data with the private key of this label. EC: SoftHSM has no
   * CKM_ECDSA_SHA384, so the hash is computed here and signed raw; the result
   * is r||s. RSA: PKCS#1 v1.5 with SHA-256 inside the token.
   */
  sign(label: string, alg: RootKeyAlgorithm, data: Uint8Array): Buffer {
    const key = this.findOne(label, ObjectClass.PRIVATE_KEY, "private key").toType<graphene.PrivateKey>();
    return this.signWith(key, alg, data, "Signing with the root key");
  }

  /**
   * Imports the KEK as a session-only, trusted AES key. Only the security
   * officer may set CKA_TRUSTED, so this must run under an SO login: that is the
   * dual control (SO PIN here, user PIN for the wrap).
   */
  importTrustedKek(kek: Uint8Array, label: string): graphene.SecretKey {
    return this.importSessionAesKey(kek, label, true, "Importing the backup wrapping key as a trusted key (CKA_TRUSTED, security officer)");
  }

  /** Imports an AES key for unwrapping only (recovery target token, old KEK of a re-split). */
  importUnwrapKek(kek: Uint8Array, label: string): graphene.SecretKey {
    return this.importSessionAesKey(kek, label, false, "Importing the reassembled wrapping key");
  }

  /** An ordinary (untrusted) session AES key that may wrap: the preflight's rogue key. */
  importUntrustedWrapKey(key: Uint8Array, label: string): graphene.SecretKey {
    return hsmCall("Importing an untrusted wrapping key", () =>
      this.raw
        .create({ class: ObjectClass.SECRET_KEY, keyType: KeyType.AES, token: false, private: false, sensitive: true, extractable: false, wrap: true, unwrap: true, label, value: viewOf(key) })
        .toType<graphene.SecretKey>(),
    );
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

  /** Wraps the private key of this label (RFC 5649 with the negotiated mechanism). */
  wrapPrivateKey(label: string, kek: graphene.SecretKey, mech: WrapMechanism = CKM_AES_KEY_WRAP_PAD): Buffer {
    const key = this.findOne(label, ObjectClass.PRIVATE_KEY, "private key").toType<graphene.PrivateKey>();
    return this.wrapKeyObject(key, kek, mech);
  }

  /**
   * Unwraps a backup blob into this token as the root private key (sensitive,
   * wrap-with-trusted, as generated) and creates its public key object from
   * the recorded SPKI.
   */
  unwrapRootKey(blob: Buffer, kek: graphene.SecretKey, alg: RootKeyAlgorithm, label: string, id: Buffer, spki: Buffer, mech: WrapMechanism = CKM_AES_KEY_WRAP_PAD, extra: Record<string, unknown> = {}): void {
    const spec = algorithmSpec(alg);
    const keyType = spec.family === "EC" ? KeyType.EC : KeyType.RSA;
    this.unwrapPrivateKey(blob, kek, alg, label, id, true, mech, extra);
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
   * `extra`: a profile's additional unwrap attributes (NSS wants CKA_NSS_DB for EC).
   */
  unwrapPrivateKey(
    blob: Buffer,
    kek: graphene.SecretKey,
    alg: RootKeyAlgorithm,
    label: string,
    id: Buffer,
    token: boolean,
    mech: WrapMechanism = CKM_AES_KEY_WRAP_PAD,
    extra: Record<string, unknown> = {},
  ): graphene.PrivateKey {
    const spec = algorithmSpec(alg);
    const keyType = spec.family === "EC" ? KeyType.EC : KeyType.RSA;
    return hsmCall(
      token ? "Unwrapping the root key into the token" : "Unwrapping the root key as a session object",
      () => this.raw.unwrapKey({ name: mech.code, params: null } as unknown as graphene.MechanismType, kek, blob, { ...rootPrivateTemplate(label, id, token), keyType, ...extra } as graphene.ITemplate).toType<graphene.PrivateKey>(),
      { mechanism: mech.name },
    );
  }

  /** Signs with a private key object held by the caller (a session-only key in a re-split). */
  signWith(key: graphene.PrivateKey, alg: RootKeyAlgorithm, data: Uint8Array, doing = "Signing with the unwrapped key"): Buffer {
    const spec = algorithmSpec(alg);
    return hsmCall(
      doing,
      () => {
        if (spec.family === "EC") return this.raw.createSign(MechanismEnum.ECDSA, key).once(crypto.createHash(spec.hash).update(data).digest());
        return this.raw.createSign(MechanismEnum.SHA256_RSA_PKCS, key).once(Buffer.from(data));
      },
      { mechanism: spec.family === "EC" ? "CKM_ECDSA" : "CKM_SHA256_RSA_PKCS" },
    );
  }

  /** Wraps a private key object held by the caller. */
  wrapKeyObject(key: graphene.PrivateKey, kek: graphene.SecretKey, mech: WrapMechanism = CKM_AES_KEY_WRAP_PAD): Buffer {
    return hsmCall("Wrapping the root key", () => this.raw.wrapKey({ name: mech.code, params: null } as unknown as graphene.MechanismType, kek, key), { mechanism: mech.name });
  }

  /** Destroys one object; used for the KEK right after the wrap. */
  destroyObject(obj: graphene.SessionObject): void {
    hsmCall("Destroying a key object", () => this.raw.destroy(obj));
  }

  /**
   * Destroys every object that has neither a label nor an id, and returns a
   * word for each ("private key", "public key", "secret key", "object without
   * a class"). Custos gives every object it makes both, so such an object is
   * one a module left half-made when its process was killed inside
   * C_GenerateKeyPair / C_UnwrapKey: SoftHSM creates the object file, then
   * writes its defaults one attribute at a time, then the template, so a
   * SIGKILL leaves an object with no attributes at all (its CKA_CLASS is
   * unreadable) or an empty key of defaults. Each attribute is read on its
   * own and an unreadable one counts as absent. Only for a token Custos made
   * and owns whole (a rehearsal's throwaway token): on anyone else's token an
   * unnamed object may be theirs.
   */
  destroyUnnamedObjects(): string[] {
    const loose = (o: graphene.SessionObject, n: string): unknown => {
      try {
        return (o.getAttribute({ [n]: null }) as Record<string, unknown>)[n];
      } catch {
        return undefined;
      }
    };
    const empty = (v: unknown) => v === undefined || v === null || v === "" || (Buffer.isBuffer(v) && v.length === 0);
    const done: string[] = [];
    for (const o of this.findAll({})) {
      if (!empty(loose(o, "label")) || !empty(loose(o, "id"))) continue;
      const c = loose(o, "class");
      const what = c === ObjectClass.PRIVATE_KEY ? "private key" : c === ObjectClass.PUBLIC_KEY ? "public key" : c === ObjectClass.SECRET_KEY ? "secret key" : c === undefined ? "object without a class" : `object of class ${String(c)}`;
      hsmCall("Destroying a half-made object", () => this.raw.destroy(o));
      done.push(what);
    }
    return done;
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