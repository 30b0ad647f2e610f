import crypto from "node:crypto";
import * as graphene from "graphene-pk11";
import { CustosError } from "../../errors";
import type { RootKeyAlgorithm } from "../algorithms";
import { pkcs11ErrorName } from "../errors";
import { CKA_NAMES, rootPrivateTemplate, rootPublicTemplate, type HsmSession } from "../session";

/**
 * When a token refuses the root key template, which attribute is it? A
 * PKCS#11 error says only "a value" (CKR_ATTRIBUTE_VALUE_INVALID) or "an
 * attribute" (CKR_ATTRIBUTE_TYPE_INVALID); the module's own log may say more,
 * but the preflight cannot read it. So the preflight asks the token: the root
 * template again with one attribute changed at a time (its value flipped, or
 * left out when the token does not know an attribute). An attribute whose
 * change makes the refusal go away is named. Most probes are refused as
 * cheaply as the first attempt; a probe that does make a key destroys it at
 * once (throwaway label). One generation per implicated attribute matters on
 * tokens with little object memory (tpm2-pkcs11 keeps every key it made
 * loaded until the module is closed).
 */

/** CustosError codes that mean the token refused an attribute of the template. */
const TEMPLATE_CODES = new Set(["HSM_TEMPLATE_REFUSED", "HSM_ATTRIBUTE_UNSUPPORTED", "HSM_ATTRIBUTE_READ_ONLY"]);
/** Codes after which asking the token more is pointless (it is gone, or the login is). */
const STOP_CODES = /^(HSM_TOKEN_REMOVED|HSM_NOT_LOGGED_IN|HSM_PIN_|HSM_NOT_INITIALISED|HSM_DEVICE_ERROR)/;

/** Whether a failure to generate with the root template is a template refusal, worth narrowing to an attribute. */
export function worthDiagnosing(e: unknown): boolean {
  return e instanceof CustosError && TEMPLATE_CODES.has(e.code);
}

/** One attribute of the root template, on the private or the public key, as changed by a probe. */
export interface ProbedAttribute {
  key: "private" | "public";
  name: string;
  /** The value the root template asks for. */
  value: unknown;
  /** The probe: "flipped" (the opposite boolean) or "omitted". */
  change: "flipped" | "omitted";
  /** What the token answered to the probe: "made" (a key pair, destroyed) or the CKR_ name. */
  answer: string;
}

export interface TemplateDiagnosis {
  /** The CKR_ name of the refusal being narrowed. */
  refusal: string;
  /** The attributes whose change made that refusal go away. */
  implicated: ProbedAttribute[];
  /** Probes made (template attempts, refused or not). */
  probes: number;
}

/** Attributes a probe does not change: the object's identity, and what a root key is for. */
const FIXED = new Set(["token", "label", "id", "class", "sign", "verify"]);

const caName = (name: string) => CKA_NAMES[name] ?? name;

function answerOf(e: unknown): string {
  const name = pkcs11ErrorName(e) ?? (e instanceof CustosError ? e.details?.pkcs11 : undefined);
  return typeof name === "string" ? name : e instanceof Error ? e.message : String(e);
}

/**
 * Narrows a refusal of the root template for `alg` to the attributes that
 * cause it. Returns undefined when the token stopped answering (removed,
 * logged out) or the refusal carries no PKCS#11 code.
 */
export function diagnoseRootTemplate(s: HsmSession, alg: RootKeyAlgorithm, label: string, id: Buffer, refusedWith: unknown): TemplateDiagnosis | undefined {
  const refusal = pkcs11ErrorName(refusedWith) ?? (refusedWith instanceof CustosError ? refusedWith.details?.pkcs11 : undefined);
  if (typeof refusal !== "string") return undefined;
  // An attribute the token does not know is left out; a value it refuses is flipped.
  const change: ProbedAttribute["change"] = refusal === "CKR_ATTRIBUTE_TYPE_INVALID" ? "omitted" : "flipped";
  const priv = rootPrivateTemplate(label, id, true);
  const pub = rootPublicTemplate(label, id, true);
  const implicated: ProbedAttribute[] = [];
  let probes = 0;
  for (const [key, t] of [["private", priv], ["public", pub]] as const) {
    for (const [name, value] of Object.entries(t)) {
      if (FIXED.has(name) || typeof value !== "boolean") continue;
      const p = { ...priv };
      const q = { ...pub };
      const changed = key === "private" ? p : q;
      if (change === "omitted") delete changed[name];
      else changed[name] = !value;
      probes++;
      let answer: string;
      try {
        const pair = s.generateKeyPairFrom(alg, q, p, `Probing the ${alg} root template`);
        answer = "made";
        for (const o of [pair.privateKey, pair.publicKey]) {
          try {
            s.destroyObject(o);
          } catch {
            // The preflight destroys everything under its label at the end.
          }
        }
      } catch (e) {
        if (e instanceof CustosError && STOP_CODES.test(e.code)) return undefined;
        answer = answerOf(e);
      }
      if (answer !== refusal) implicated.push({ key, name, value, change, answer });
    }
  }
  return { refusal, implicated, probes };
}

const WHY: Record<string, string> = {
  sensitive: "the private key's value would not be protected from being read out",
  extractable: "the root key could never be wrapped for its backup",
  wrapWithTrusted: "the key's export could not be limited to the security officer's trusted wrapping key",
  private: "the key would be usable without a login",
  derive: "the signing key could not be kept from other uses",
  decrypt: "the signing key could not be kept from other uses",
  unwrap: "the signing key could not be kept from other uses",
};

/** The diagnosis as the end of a sentence ("The token refuses the root key template for EC-P256: …"). */
export function diagnosisText(d: TemplateDiagnosis): string {
  const code = `[${d.refusal}]`;
  const asked = (a: ProbedAttribute) => `${caName(a.name)}=${String(a.value)}${a.key === "public" ? " on the public key" : ""}`;
  const probe = (a: ProbedAttribute) => (a.change === "omitted" ? `without ${caName(a.name)}` : `with ${caName(a.name)}=${String(!a.value)}`);
  const outcome = (list: ProbedAttribute[]) => {
    const failed = list.filter((a) => a.answer !== "made");
    if (!failed.length) return " and the key is made";
    if (failed.length === list.length && failed.every((a) => a.answer === failed[0]!.answer)) return ` (the generation then fails otherwise: ${failed[0]!.answer})`;
    return ` (${list.map((a) => `${probe(a)}: ${a.answer === "made" ? "the key is made" : `then ${a.answer}`}`).join("; ")})`;
  };
  const imp = d.implicated;
  const is = (name: string) => imp.some((a) => a.key === "private" && a.name === name);
  if (imp.length === 2 && is("sensitive") && is("extractable") && change(imp) === "flipped") {
    return `it will not make a private key both sensitive and extractable (CKA_SENSITIVE=true with CKA_EXTRACTABLE=true) ${code}, so a root key it keeps secret could never be wrapped for its backup; with either one false that refusal goes away${outcome(imp)}`;
  }
  if (imp.length === 1) {
    const a = imp[0]!;
    const what = a.change === "omitted" ? `it does not know ${caName(a.name)}${a.key === "public" ? " on the public key" : ""}` : `it refuses ${asked(a)}`;
    return `${what} ${code}${a.key === "private" && WHY[a.name] ? `, so ${WHY[a.name]}` : ""}; ${probe(a)} that refusal goes away${outcome(imp)}`;
  }
  if (imp.length > 1) return `it refuses ${imp.map(asked).join(" together with ")} ${code}: changing any one of them makes that refusal go away${outcome(imp)}`;
  return `no single attribute of the template causes the refusal ${code} (each changed alone, it is still refused)`;
}

function change(list: ProbedAttribute[]): ProbedAttribute["change"] | undefined {
  return list.every((a) => a.change === list[0]?.change) ? list[0]?.change : undefined;
}

/**
 * Whether the token accepts any imported AES key (a minimal secret key, as a
 * session object and then as a token object): when a wrapping key is refused,
 * this says whether its attributes or AES keys as such are the problem.
 * Anything made here is destroyed at once. Undefined when a minimal key is accepted.
 */
export function noAesImport(s: HsmSession, label: string): string | undefined {
  const answers: string[] = [];
  for (const token of [false, true]) {
    const value = crypto.randomBytes(32);
    try {
      const o = s.createObjectFrom({ class: graphene.ObjectClass.SECRET_KEY, keyType: graphene.KeyType.AES, token, label, value }, "Probing an AES key import");
      try {
        s.destroyObject(o);
      } catch {
        // Destroyed under its label at the end of the preflight.
      }
      return undefined;
    } catch (e) {
      if (e instanceof CustosError && STOP_CODES.test(e.code)) return undefined;
      answers.push(`${token ? "a token object" : "a session object"}: ${answerOf(e)}`);
    } finally {
      value.fill(0);
    }
  }
  return `the token accepts no imported AES key at all (C_CreateObject refuses even a minimal AES secret key — ${answers.join("; ")})`;
}
