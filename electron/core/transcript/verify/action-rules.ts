/**
 * §6: the rules of each entry kind that the verifier checks (check 12), and
 * what an accepted entry adds to the ceremony's state: settings, enrolled
 * participants, the root key.
 */
import { X509Certificate, createPublicKey } from "node:crypto";
import { decodeBase64Strict } from "../base64";
import { sha256Hex } from "../canonical";
import { ed25519PublicKeyFromRaw } from "../identity";
import { enrolledParticipantSchema, firstIssue } from "../schema";
import type { EntryBody, SignatureAlgorithm } from "../types";
import type { ScriptRules } from "./script-rules";
import { applySigningRules, checkRootProof } from "./signing-rules";

export interface Enrolled {
  id: string;
  name: string;
  roles: string[];
  publicKey: string;
  /** The algorithm this participant signs with (§6.3): Ed25519 for a passphrase key, the token's for a token key. */
  algorithm: string;
}

export interface RootKey {
  spki: string;
  algorithm: string;
  signatureAlgorithm: SignatureAlgorithm;
  fingerprint: string;
}

export interface Settings {
  algorithm: string;
  threshold: number;
  shares: number;
}

/** What the verified entries established so far. */
export interface WalkState {
  settings?: Settings;
  /** §6.9: the root key the source ceremony recorded (load-source-ceremony outputs.sourceRootKey.spki). */
  sourceRootSpki?: string;
  enrolled?: Map<string, Enrolled>;
  rootKey?: RootKey;
  sourceCustodians?: Map<string, string>;
  /** §7.4: the source backup's threshold, once a source ceremony is loaded. */
  sourceThreshold?: number;
  /** §6.9: the ceremony's root certificate (latest self-sign-certificate or load-source-ceremony sourceCertificate). */
  rootCertificatePem?: string;
  /** §6.10: inputs recorded by load-input, by name. */
  inputs?: Map<string, { kind: string; bytes: Buffer; sha256: string }>;
  /** §6.4c: the sides of the hsm-preflight entries recorded so far. */
  preflight?: Set<string>;
}

/** §6.4c: each action that makes a key or a share, and the preflight sides that qualify the token for it. */
const NEEDS_PREFLIGHT: Record<string, readonly string[]> = {
  "generate-key-pair": ["generate"],
  "wrap-and-split-backup": ["generate"],
  "resplit-backup": ["generate"],
  "collect-shares-and-restore": ["restore", "generate"],
  "prove-root-key": ["sign"],
};

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const ROOT_ALGORITHMS: Record<string, { type: "ec" | "rsa"; curve?: string; bits?: number[]; signature: SignatureAlgorithm }> = {
  "EC-P256": { type: "ec", curve: "prime256v1", signature: "ECDSA-SHA256" },
  "EC-P384": { type: "ec", curve: "secp384r1", signature: "ECDSA-SHA384" },
  "EC-P521": { type: "ec", curve: "secp521r1", signature: "ECDSA-SHA512" },
  "RSA-3072": { type: "rsa", bits: [3072], signature: "RSA-PKCS1-SHA256" },
  "RSA-4096": { type: "rsa", bits: [4096], signature: "RSA-PKCS1-SHA256" },
};

/** §6.4: the root key an entry records, or why it is malformed. */
export function readRootKey(outputs: Record<string, unknown>): RootKey | string {
  const rk = outputs.rootKey;
  if (!isMap(rk)) return "outputs.rootKey is missing.";
  if (typeof rk.spki !== "string" || typeof rk.algorithm !== "string" || typeof rk.fingerprint !== "string") {
    return "outputs.rootKey needs spki, algorithm and fingerprint.";
  }
  const spec = ROOT_ALGORITHMS[rk.algorithm];
  if (!spec) return `outputs.rootKey.algorithm '${rk.algorithm}' is not a root key algorithm of §6.4.`;
  const der = decodeBase64Strict(rk.spki);
  if (!der) return "outputs.rootKey.spki is not strict base64.";
  let ok = false;
  try {
    const key = createPublicKey({ key: der, format: "der", type: "spki" });
    const d = key.asymmetricKeyDetails ?? {};
    ok =
      key.asymmetricKeyType === spec.type &&
      (spec.type === "ec" ? d.namedCurve === spec.curve : spec.bits!.includes(d.modulusLength ?? 0)) &&
      // Only the one DER encoding of the key: re-exporting must give the same bytes.
      key.export({ format: "der", type: "spki" }).equals(der);
  } catch {
    ok = false;
  }
  if (!ok) return `outputs.rootKey.spki is not a ${rk.algorithm} public key in SubjectPublicKeyInfo DER.`;
  const fingerprint = sha256Hex(der);
  if (rk.fingerprint !== fingerprint) return "outputs.rootKey.fingerprint is not the SHA-256 of the key's SPKI.";
  return { spki: rk.spki, algorithm: rk.algorithm, signatureAlgorithm: spec.signature, fingerprint };
}

/** §6.3: the canonical DER SPKI of an EC key on the curve the token algorithm uses. */
function isTokenKey(publicKey: string, algorithm: string): boolean {
  const der = decodeBase64Strict(publicKey);
  if (!der) return false;
  try {
    const key = createPublicKey({ key: der, format: "der", type: "spki" });
    const curve = algorithm === "ECDSA-SHA256" ? "prime256v1" : "secp384r1";
    return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === curve && key.export({ format: "der", type: "spki" }).equals(der);
  } catch {
    return false;
  }
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === "string" && v.length > 0;
}

/**
 * Check 12 of §7.2 for an entry already known to be in its place (check 11).
 * Returns the reason it is malformed, or updates `state` and returns undefined.
 */
export function applyActionRules(body: EntryBody, rules: ScriptRules, state: WalkState, stepIndex: number): string | undefined {
  const o = body.outputs as Record<string, unknown>;
  const inp = body.inputs as Record<string, unknown>;
  switch (body.action) {
    case "open-ceremony": {
      if (Object.keys(inp).length !== 0) return "the opening entry records no inputs (inputs must be {}).";
      if (o.scriptId !== rules.id || o.scriptVersion !== rules.version) return "entry 1 does not name the script's id and version (outputs.scriptId, outputs.scriptVersion).";
      if (o.mode !== "rehearsal" && o.mode !== "production") return "entry 1 does not record the mode as rehearsal or production.";
      const s = o.settings;
      if (!isMap(s) || Object.keys(s).length !== 3 || typeof s.algorithm !== "string" || typeof s.threshold !== "number" || typeof s.shares !== "number") {
        return "entry 1 does not record settings {algorithm, threshold, shares}.";
      }
      if (!(s.threshold >= 2 && s.threshold <= s.shares && s.shares <= 255)) return `entry 1 records a threshold of ${s.threshold} of ${s.shares}, which is impossible.`;
      if (!rules.algorithms.includes(s.algorithm)) return `entry 1 records the algorithm ${s.algorithm}, which the script's policy does not allow.`;
      state.settings = { algorithm: s.algorithm, threshold: s.threshold, shares: s.shares };
      return undefined;
    }
    case "enrol-participants":
      return applyEnrolment(body, rules, state, stepIndex);
    case "load-source-ceremony": {
      const list = o.sourceCustodians;
      if (Array.isArray(list)) {
        const m = new Map<string, string>();
        for (const c of list) if (isMap(c) && typeof c.id === "string" && typeof c.publicKey === "string") m.set(c.id, c.publicKey);
        state.sourceCustodians = m;
      }
      const t = isMap(o.sourceBackup) ? o.sourceBackup.threshold : undefined;
      if (t !== undefined) {
        if (typeof t !== "number" || t < 2 || t > 255) return "outputs.sourceBackup.threshold is not a threshold from 2 to 255.";
        state.sourceThreshold = t;
      }
      const srcCert = isMap(o.sourceCertificate) ? o.sourceCertificate.pem : undefined;
      if (typeof srcCert === "string") state.rootCertificatePem = srcCert;
      const srk = isMap(o.sourceRootKey) ? o.sourceRootKey.spki : undefined;
      if (srk !== undefined) {
        if (typeof srk !== "string") return "outputs.sourceRootKey.spki is not a string.";
        state.sourceRootSpki = srk;
      }
      return undefined;
    }
    case "seal-transcript":
      if (o.sealedEntries !== body.seq - 1) return `the seal says it seals ${String(o.sealedEntries)} entries, but ${body.seq - 1} come before it.`;
      return undefined;
    case "exception":
      return nonEmptyString(inp.text) ? undefined : "an exception needs its text in inputs.text.";
    case "deviation":
      return nonEmptyString(inp.kind) ? undefined : "a deviation needs its kind in inputs.kind.";
    case "abort":
      return nonEmptyString(inp.reason) ? undefined : "an abort needs its reason in inputs.reason.";
    case "generate-key-pair":
    case "collect-shares-and-restore":
    case "prove-root-key": {
      const unqualified = needsPreflight(body.action, state);
      if (unqualified) return unqualified;
      const rk = readRootKey(o);
      if (typeof rk === "string") return rk;
      if (body.action === "generate-key-pair" && state.settings && rk.algorithm !== state.settings.algorithm) {
        return `the root key is ${rk.algorithm}, but entry 1 fixed the algorithm ${state.settings.algorithm}.`;
      }
      if (body.action === "collect-shares-and-restore" && state.sourceRootSpki !== undefined && rk.spki !== state.sourceRootSpki) {
        return "the restored root key is not the root key of the source ceremony (outputs.sourceRootKey of load-source-ceremony).";
      }
      if (body.action === "prove-root-key" && (state.sourceRootSpki === undefined || rk.spki !== state.sourceRootSpki)) {
        return "the proved root key is not the root key of the source ceremony (outputs.sourceRootKey of load-source-ceremony).";
      }
      if (body.action === "prove-root-key") {
        const problem = checkRootProof(body, rk);
        if (problem) return problem;
      }
      state.rootKey = rk;
      return undefined;
    }
    case "self-sign-certificate": {
      const problem = checkCertificate(o, state);
      if (!problem) state.rootCertificatePem = (o.certificate as { pem: string }).pem;
      return problem;
    }
    case "hsm-preflight":
      return checkPreflight(inp, o, state);
    case "wrap-and-split-backup":
    case "resplit-backup":
      return needsPreflight(body.action, state);
    case "load-input":
    case "sign-certificate":
    case "cross-certify":
    case "issue-crl":
      return applySigningRules(body, state, rules.steps[stepIndex]?.params ?? {});
    default:
      return undefined;
  }
}

/** §6.4a: the certificate is of the ceremony's root key and is signed by it. */
function checkCertificate(o: Record<string, unknown>, state: WalkState): string | undefined {
  const c = o.certificate;
  const pem = isMap(c) ? c.pem : undefined;
  if (typeof pem !== "string") return "outputs.certificate.pem is missing.";
  if (!state.rootKey) return "a certificate is recorded before the ceremony has a root key.";
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return "outputs.certificate.pem is not an X.509 certificate.";
  }
  const key = createPublicKey({ key: Buffer.from(state.rootKey.spki, "base64"), format: "der", type: "spki" });
  const certKey = cert.publicKey.export({ format: "der", type: "spki" }).toString("base64");
  if (certKey !== state.rootKey.spki) return "the certificate is not of the ceremony's root key.";
  if (!cert.verify(key)) return "the certificate is not signed by the ceremony's root key.";
  return undefined;
}

function applyEnrolment(body: EntryBody, rules: ScriptRules, state: WalkState, stepIndex: number): string | undefined {
  const list = (body.outputs as Record<string, unknown>).participants;
  if (!Array.isArray(list) || list.length === 0) return "an enrolment must list the enrolled participants in outputs.participants.";
  const enrolled = new Map<string, Enrolled>();
  const keys = new Set<string>();
  const roleIds = new Set(rules.roles.map((r) => r.id));
  for (const [k, p] of list.entries()) {
    const r = enrolledParticipantSchema.safeParse(p);
    if (!r.success) return `enrolled participant ${k + 1} is malformed at ${firstIssue(r.error)}.`;
    const { id, name, roles, publicKey } = r.data;
    const token = "token" in r.data ? r.data.token : undefined;
    if (!token && !ed25519PublicKeyFromRaw(publicKey)) return `participant '${id}' was enrolled with a public key that is not a 32-byte Ed25519 key.`;
    if (token && !isTokenKey(publicKey, token.algorithm)) return `participant '${id}' was enrolled with a token key that is not a ${token.algorithm === "ECDSA-SHA256" ? "P-256" : "P-384"} public key in SubjectPublicKeyInfo DER.`;
    if (enrolled.has(id)) return `participant '${id}' is enrolled twice.`;
    if (keys.has(publicKey)) return `participant '${id}' is enrolled with the same key as another participant.`;
    const unknown = roles.find((x) => !roleIds.has(x));
    if (unknown) return `participant '${id}' holds the role '${unknown}', which the script does not define.`;
    enrolled.set(id, { id, name, roles, publicKey, algorithm: token ? token.algorithm : "Ed25519" });
    keys.add(publicKey);
  }
  const people = [...enrolled.values()];
  for (const role of rules.roles) {
    const n = people.filter((p) => p.roles.includes(role.id)).length;
    if (n < role.min || (role.max !== undefined && n > role.max)) {
      return `${n} participant(s) hold the role '${role.id}', but the script asks for ${role.min}${role.max === undefined ? " or more" : role.max === role.min ? "" : ` to ${role.max}`}.`;
    }
  }
  for (const [a, b] of rules.separation) {
    const both = people.find((p) => p.roles.includes(a) && p.roles.includes(b));
    if (both) return `participant '${both.id}' holds both '${a}' and '${b}', which the script keeps apart.`;
  }
  const sourceRoles = rules.steps[stepIndex]?.sourceRoles ?? [];
  if (sourceRoles.length) {
    const src = state.sourceCustodians;
    if (!src) return "participants must be identified by the source ceremony, but no load-source-ceremony entry lists its custodians.";
    const used = new Set<string>();
    for (const [k, p] of list.entries()) {
      const person = p as { id: string; roles: string[]; publicKey: string; sourceId?: string };
      if (!person.roles.some((r) => sourceRoles.includes(r))) continue;
      const key = person.sourceId === undefined ? undefined : src.get(person.sourceId);
      if (key === undefined) return `participant ${k + 1} ('${person.id}') holds a role identified by the source ceremony but names no custodian of it.`;
      if (key !== person.publicKey) return `participant '${person.id}' is not enrolled with the key custodian '${person.sourceId}' had in the source ceremony.`;
      if (used.has(person.sourceId!)) return `custodian '${person.sourceId}' of the source ceremony is enrolled twice.`;
      used.add(person.sourceId!);
    }
  }
  state.enrolled = enrolled;
  return undefined;
}

/** §6.4c: a key or a share only on a token an earlier preflight of this ceremony found fit. */
function needsPreflight(action: string, state: WalkState): string | undefined {
  const sides = NEEDS_PREFLIGHT[action];
  if (!sides || sides.some((side) => state.preflight?.has(side))) return undefined;
  return `'${action}' makes a key or a share, but no earlier hsm-preflight entry (side ${sides.join(" or ")}) found the token fit.`;
}

/** §6.4c: the token's qualification, recorded before any key or share. */
function checkPreflight(inp: Record<string, unknown>, o: Record<string, unknown>, state: WalkState): string | undefined {
  const side = inp.side;
  const alg = inp.algorithm;
  if ((side !== "generate" && side !== "restore" && side !== "sign") || typeof alg !== "string") return "an hsm-preflight entry records inputs {side: generate|restore|sign, algorithm}.";
  if (!ROOT_ALGORITHMS[alg]) return `inputs.algorithm '${alg}' is not a root key algorithm of §6.4.`;
  if (side === "generate" && state.sourceRootSpki === undefined && state.settings && alg !== state.settings.algorithm) {
    return `the preflight checked ${alg}, but entry 1 fixed the algorithm ${state.settings.algorithm}.`;
  }
  const p = o.preflight;
  if (!isMap(p)) return "outputs.preflight is missing.";
  if (p.fit !== true) return "outputs.preflight.fit is not true: no key or share may follow an unfit preflight.";
  if (p.side !== side) return "outputs.preflight.side differs from inputs.side.";
  if (!Array.isArray(p.algorithmsPassed) || !p.algorithmsPassed.includes(alg)) return `outputs.preflight.algorithmsPassed does not include ${alg}.`;
  const wm = p.wrapMechanism;
  if (side === "sign" && wm === null) {
    // A signing ceremony makes no backup: no wrap mechanism needs to be proved.
  } else if (!isMap(wm) || !Number.isSafeInteger(wm.code) || (wm.code as number) < 0 || typeof wm.name !== "string") return "outputs.preflight.wrapMechanism needs an integer code and a name.";
  if (!Array.isArray(p.checks) || p.checks.length === 0) return "outputs.preflight.checks is missing or empty.";
  const status = new Map<string, unknown>();
  for (const c of p.checks) {
    if (!isMap(c) || typeof c.id !== "string" || !["pass", "fail", "skip"].includes(c.status as string)) return "each outputs.preflight.checks item needs an id and a status of pass, fail or skip.";
    status.set(c.id, c.status);
  }
  const needed =
    side === "generate"
      ? ["mechanisms:wrap", "trusted-kek", `wrap:${alg}`, `untrusted-refused:${alg}`, `restore:${alg}`]
      : side === "restore"
        ? ["mechanisms:wrap", `restore:${alg}`, `untrusted-refused:${alg}`]
        : [`root-template:${alg}`, `sign:${alg}`, `untrusted-refused:${alg}`];
  for (const id of needed) if (status.get(id) !== "pass") return `outputs.preflight.checks has no passing '${id}' check.`;
  (state.preflight ??= new Set()).add(side);
  return undefined;
}
