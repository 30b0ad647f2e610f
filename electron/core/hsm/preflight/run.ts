import crypto from "node:crypto";
import type * as graphene from "graphene-pk11";
import { CustosError } from "../../errors";
import { algorithmSpec, ROOT_KEY_ALGORITHMS, type RootKeyAlgorithm, verifyRootSignature } from "../algorithms";
import type { Hsm, PinRole, TokenInfo, TokenRef } from "../hsm";
import { CKA_NAMES, readAttributes, ROOT_TEMPLATE_EXPECTED, type HsmSession, type WrapMechanism } from "../session";
import { diagnoseRootTemplate, diagnosisText, noAesImport, worthDiagnosing } from "./diagnose";
import { algorithmNeeds, wrapCandidates } from "./mechanisms";
import { softwareUnwrapRfc5649, softwareWrapRfc5649, testKeyPair } from "./software";

export type PreflightSide = "generate" | "restore" | "sign";

/** One check, as a custodian reads it and as the transcript records it. */
export interface PreflightCheck {
  id: string;
  title: string;
  status: "pass" | "fail" | "skip";
  detail: string;
}

/** Everything the preflight found; recorded in the transcript as the hsm-preflight step's outputs. */
export interface PreflightReport {
  fit: boolean;
  side: PreflightSide;
  module: { path: string; manufacturer: string; description: string; libraryVersion: string; initArgs: boolean };
  token: { slotId: string; label: string; serial: string; manufacturer: string; model: string; firmware: string };
  algorithmsChecked: RootKeyAlgorithm[];
  algorithmsPassed: RootKeyAlgorithm[];
  /** The mechanism proved to produce/accept RFC 5649 over PKCS#8 here; null when none did. */
  wrapMechanism: { code: number; name: string } | null;
  checks: PreflightCheck[];
  /** Why the token is not fit, in words a custodian can act on (empty when fit). */
  reasons: string[];
}

export interface PreflightOptions {
  /** The token, as selected (a recorded TokenInfo or a person's --slot/--serial/--label). */
  ref: TokenRef;
  algorithms: RootKeyAlgorithm[];
  /**
   * generate: everything a generation and its backup do. restore: the unwrap side (a recovery target).
   * sign: what a signing ceremony relies on (the root template, signing, refusal of an untrusted wrapping key), user PIN only.
   */
  side: PreflightSide;
  /** Logs the session in with a PIN the caller obtains (the engine's driver, the CLI's prompt). */
  login(s: HsmSession, role: PinRole): Promise<void>;
  /** A profile's extra unwrap attributes (e.g. NSS's CKA_NSS_DB) and vendor wrap mechanisms. */
  extraUnwrapAttributes?: (alg: RootKeyAlgorithm, spki: Buffer) => Record<string, unknown>;
  vendorWrapMechanisms?: WrapMechanism[];
  /** A session to use (the engine's step session); otherwise one is opened and closed here. */
  session?: HsmSession;
}

const PREFIX = "custos:preflight:";
const msg = (e: unknown) => (e instanceof CustosError ? e.message : e instanceof Error ? e.message : String(e));

/**
 * Qualifies a token before any key exists (DESIGN.md invariant 12): mechanisms
 * and key sizes, a throwaway key with the exact root template read back
 * attribute by attribute, sign + software verify, the security officer's
 * trusted KEK, wrap + software unwrap proving RFC 5649 over PKCS#8, refusal of
 * an untrusted wrapping key, unwrap with the restore template. Throwaway
 * objects only; all destroyed before this returns.
 * Throws (cannot run) only when the token cannot be reached or a PIN is refused.
 */
export async function runPreflight(hsm: Hsm, o: PreflightOptions): Promise<PreflightReport> {
  const token = hsm.tokenInfo(o.ref);
  const checks: PreflightCheck[] = [];
  const reasons: string[] = [];
  const algReasons: string[] = [];
  // Token-wide failures make the token unfit; an algorithm's own failure only removes that algorithm.
  const TOKEN_WIDE = /^(mechanisms:wrap|trusted-kek|untrusted-refused)/;
  const add = (id: string, title: string, status: PreflightCheck["status"], detail: string, reason?: string) => {
    checks.push({ id, title, status, detail });
    if (status === "fail") (TOKEN_WIDE.test(id) ? reasons : algReasons).push(reason ?? detail);
  };
  // A fixed label: a preflight cut off by a crash leaves token objects that the next one finds and destroys.
  const label = PREFIX.slice(0, -1);
  const mechs = hsm.mechanisms({ serial: token.serial, slotId: token.slotId, label: token.label });

  // 1. Mechanisms and key sizes.
  let algs: RootKeyAlgorithm[] = [];
  for (const alg of o.algorithms) {
    const needs = algorithmNeeds(mechs, alg);
    const bad = needs.filter((n) => !n.ok);
    add(`mechanisms:${alg}`, `Mechanisms for ${alg}`, bad.length ? "fail" : "pass", (bad.length ? bad : needs).map((n) => n.detail).join(" "));
    if (!bad.length) algs.push(alg);
  }
  const { candidates, needs: wrapNeeds } = wrapCandidates(mechs, o.side === "generate" ? "wrap" : "unwrap", o.vendorWrapMechanisms);
  add(
    "mechanisms:wrap",
    "AES key wrap mechanism (RFC 5649)",
    candidates.length ? "pass" : o.side === "sign" ? "skip" : "fail",
    candidates.length
      ? `${wrapNeeds.filter((n) => n.ok).map((n) => n.detail).join(" ")}${wrapNeeds.some((n) => !n.ok) ? ` Not offered: ${wrapNeeds.filter((n) => !n.ok).map((n) => n.mechanism).join(", ")}.` : ""}`
      : wrapNeeds.map((n) => n.detail).join(" "),
    "The token lists no AES key wrap with padding mechanism (CKM_AES_KEY_WRAP_KWP 0x210B or CKM_AES_KEY_WRAP_PAD 0x210A): the root key could never be backed up or restored.",
  );

  const s = o.session ?? hsm.openSession(token);
  const objects: graphene.SessionObject[] = [];
  let wrapMechanism: WrapMechanism | null = null;
  // The preflight's own throwaway KEK (never a ceremony's): its clear bytes let OpenSSL check the blob format.
  const kekBytes = crypto.randomBytes(32);
  try {
    // 2. The security officer's trusted KEK (generate side): only it may wrap the root key.
    let trustedKek: graphene.SecretKey | undefined;
    if (o.side === "generate") {
      try {
        await o.login(s, "so");
        trustedKek = s.importTrustedKek(kekBytes, `${label}:kek`);
        objects.push(trustedKek);
        const t = readAttributes(trustedKek, ["trusted"]).trusted;
        s.logout();
        if (t === true) add("trusted-kek", "Security officer marks a wrapping key trusted", "pass", "The security officer created a session AES key with CKA_TRUSTED, and it reads back true.");
        else {
          add("trusted-kek", "Security officer marks a wrapping key trusted", "fail", `The key's CKA_TRUSTED reads back ${String(t)}.`, "The security officer could not mark the backup wrapping key trusted (CKA_TRUSTED): dual control of the backup is impossible on this token.");
          trustedKek = undefined;
        }
      } catch (e) {
        if (e instanceof CustosError && /^HSM_PIN_|^HSM_TOKEN_/.test(e.code)) throw e;
        s.logout();
        const noSo = e instanceof CustosError && e.code === "HSM_NO_SO_ROLE";
        // The SO login itself succeeded (a refused PIN is thrown above): the token lets only the user make objects.
        const soMakesNothing = e instanceof CustosError && e.code === "HSM_NOT_LOGGED_IN";
        add(
          "trusted-kek",
          "Security officer marks a wrapping key trusted",
          "fail",
          msg(e),
          noSo
            ? "The token has no security officer role (CKR_USER_TYPE_INVALID): nobody can mark a wrapping key trusted, so the dual control of the backup (SO PIN + user PIN) is impossible."
            : soMakesNothing
              ? "The security officer, once logged in, may not create any key on this token (it answers CKR_USER_NOT_LOGGED_IN: only the user makes objects): nobody can mark a backup wrapping key trusted (CKA_TRUSTED), so the dual control of the backup (SO PIN + user PIN) is impossible."
              : `The security officer could not create a trusted wrapping key (CKA_TRUSTED): ${msg(e)}`,
        );
        trustedKek = undefined;
      }
    }
    await o.login(s, "user");
    for (const l of leftoverLabels(label)) s.destroyByLabel(l);

    // 3. Per algorithm: the root template, read back; sign and verify in software.
    const passed: RootKeyAlgorithm[] = [];
    for (const alg of algs) {
      const ok =
        o.side === "restore"
          ? true
          : generateSide(s, alg, label, trustedKek ? { obj: trustedKek, bytes: kekBytes } : undefined, candidates, add, objects, (m) => (wrapMechanism ??= m), wrapMechanism, o.side === "sign");
      if (ok) passed.push(alg);
    }
    // 4. Unwrap with the restore template (a software-made blob, so it works on either side), and refusal of an untrusted wrapping key.
    const restored: RootKeyAlgorithm[] = o.side === "sign" ? passed : [];
    let aesImport: { why: string | undefined } | undefined;
    const whyNoKek = () => (aesImport ??= { why: noAesImport(s, `${label}:aes-probe`) }).why;
    for (const alg of o.side === "sign" ? [] : o.side === "generate" ? passed : algs) {
      const mech = restoreSide(s, alg, label, candidates, o.side === "generate" ? wrapMechanism : null, o.extraUnwrapAttributes, o.side === "restore", add, objects, whyNoKek);
      if (mech) {
        restored.push(alg);
        if (o.side === "restore") wrapMechanism ??= mech;
      }
    }
    algs = restored;
    if (!algs.length) reasons.push(`None of ${o.algorithms.join(", ")} passed every check on this token.`, ...algReasons);
    return {
      fit: reasons.length === 0 && algs.length > 0,
      side: o.side,
      module: { path: hsm.modulePath, ...pick(hsm.moduleInfo()), initArgs: hsm.initArgs !== undefined },
      token: { slotId: token.slotId, label: token.label, serial: token.serial, manufacturer: token.manufacturer, model: token.model, firmware: token.firmware },
      algorithmsChecked: o.algorithms,
      algorithmsPassed: algs,
      wrapMechanism: wrapMechanism ? { code: (wrapMechanism as WrapMechanism).code, name: (wrapMechanism as WrapMechanism).name } : null,
      checks,
      reasons: [...new Set(reasons)],
    };
  } finally {
    kekBytes.fill(0);
    for (const obj of objects.reverse()) {
      try {
        s.destroyObject(obj);
      } catch {
        // Session objects die with the session below.
      }
    }
    try {
      for (const l of leftoverLabels(label)) s.destroyByLabel(l);
    } catch {
      // Already gone, or the login was lost: the next preflight destroys them.
    }
    s.logout();
    if (!o.session) s.close();
  }
}

/** Labels of the token objects a preflight may make (a crashed one's leftovers are destroyed by the next). */
function leftoverLabels(label: string): string[] {
  return [...ROOT_KEY_ALGORITHMS.flatMap((a) => [`${label}:${a}`, `${label}:restored:${a}`]), `${label}:aes-probe`];
}

function pick(m: { manufacturer: string; description: string; libraryVersion: string }) {
  return { manufacturer: m.manufacturer, description: m.description, libraryVersion: m.libraryVersion };
}

type Add = (id: string, title: string, status: PreflightCheck["status"], detail: string, reason?: string) => void;

/** Reads the root template back attribute by attribute; returns the mismatches in words. */
function templateMismatches(obj: graphene.SessionObject): string[] {
  const got = readAttributes(obj, Object.keys(ROOT_TEMPLATE_EXPECTED));
  const bad: string[] = [];
  for (const [k, want] of Object.entries(ROOT_TEMPLATE_EXPECTED)) {
    const v = got[k];
    if (v !== want) bad.push(`${CKA_NAMES[k] ?? k} reads back ${v === "unsupported" ? "as unsupported" : String(v)}, expected ${String(want)}`);
  }
  return bad;
}

function generateSide(
  s: HsmSession,
  alg: RootKeyAlgorithm,
  label: string,
  trusted: { obj: graphene.SecretKey; bytes: Buffer } | undefined,
  candidates: WrapMechanism[],
  add: Add,
  objects: graphene.SessionObject[],
  chose: (m: WrapMechanism) => void,
  chosen: WrapMechanism | null,
  signOnly = false,
): boolean {
  let pair: ReturnType<HsmSession["generateRootKeyPair"]>;
  const id = Buffer.from(`pf-${alg}`);
  try {
    pair = s.generateRootKeyPair(alg, `${label}:${alg}`, id, true);
    objects.push(pair.privateKey, pair.publicKey);
  } catch (e) {
    // Which attribute? Asked of the token with throwaway keys, so the reason names it.
    const d = worthDiagnosing(e) ? diagnoseRootTemplate(s, alg, `${label}:${alg}`, id, e) : undefined;
    const found = d ? diagnosisText(d) : undefined;
    add(
      `root-template:${alg}`,
      `Throwaway ${alg} key with the root template`,
      "fail",
      found ? `${msg(e)} Asked again with one attribute changed at a time (${d!.probes} attempts, throwaway keys): ${found}.` : msg(e),
      `The token refuses the root key template for ${alg}: ${found ? `${found}.` : msg(e)}`,
    );
    return false;
  }
  const bad = templateMismatches(pair.privateKey);
  if (bad.length) {
    add(`root-template:${alg}`, `Throwaway ${alg} key with the root template`, "fail", bad.join("; "), `The ${alg} key does not keep the root key's protections: ${bad.join("; ")}.`);
    return false;
  }
  add(`root-template:${alg}`, `Throwaway ${alg} key with the root template`, "pass", "Generated inside the token; every attribute of the root template reads back as asked (sensitive, extractable only under a trusted key, sign only).");
  const probe = crypto.randomBytes(32);
  try {
    const sig = s.signWith(pair.privateKey, alg, probe, `Signing with the throwaway ${alg} key`);
    if (!verifyRootSignature(alg, pair.spki, probe, sig)) throw new Error("the signature does not verify in software");
    add(`sign:${alg}`, `Sign in the token, verify in software (${alg})`, "pass", `${algorithmSpec(alg).signature} signature verifies with OpenSSL against the key's public key.`);
  } catch (e) {
    add(`sign:${alg}`, `Sign in the token, verify in software (${alg})`, "fail", msg(e), `Signing with ${alg}: ${msg(e)}`);
    return false;
  }
  if (signOnly) {
    // A signing ceremony makes no backup; what it relies on is that nobody can export the root under a key of their own.
    if (!candidates.length) {
      add(`untrusted-refused:${alg}`, `Untrusted wrapping key refused (${alg})`, "pass", "The token offers no AES key wrap mechanism at all: no key can be exported under one.");
      return true;
    }
    return untrustedRefused(s, pair.privateKey, candidates[0]!, label, alg, add, objects);
  }
  if (!trusted) {
    add(`wrap:${alg}`, `Backup wrap of the ${alg} key`, "skip", "No trusted wrapping key (see the security officer check).");
    return false;
  }
  // Wrap under the trusted KEK; a software unwrap proves the blob is RFC 5649 over PKCS#8 of this very key.
  const tried: string[] = [];
  for (const m of chosen ? [chosen] : candidates) {
    let blob: Buffer;
    try {
      blob = s.wrapKeyObject(pair.privateKey, trusted.obj, m);
    } catch (e) {
      tried.push(`${m.name}: ${msg(e)}`);
      continue;
    }
    const pkcs8 = softwareUnwrapRfc5649(trusted.bytes, blob);
    if (!pkcs8) {
      tried.push(`${m.name} (0x${m.code.toString(16).toUpperCase()}) wrapped, but the blob is not RFC 5649 over PKCS#8 (a software RFC 5649 unwrap fails): this token uses another format under that number`);
      continue;
    }
    const spki = crypto.createPublicKey(crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })).export({ type: "spki", format: "der" });
    pkcs8.fill(0);
    if (!spki.equals(pair.spki)) {
      tried.push(`${m.name}: the unwrapped key is not the throwaway key`);
      continue;
    }
    chose(m);
    add(`wrap:${alg}`, `Backup wrap of the ${alg} key, unwrapped in software`, "pass", `${m.name} (0x${m.code.toString(16).toUpperCase()}) under the trusted key gives RFC 5649 over PKCS#8: unwrapped by OpenSSL to the same key.${tried.length ? ` Not used: ${tried.join("; ")}.` : ""}`);
    return untrustedRefused(s, pair.privateKey, m, label, alg, add, objects);
  }
  add(`wrap:${alg}`, `Backup wrap of the ${alg} key, unwrapped in software`, "fail", tried.join("; ") || "no wrap mechanism to try", `No mechanism produced a portable RFC 5649 backup of the ${alg} key: ${tried.join("; ") || "none listed"}.`);
  return false;
}

/** A key marked wrap-with-trusted must refuse an untrusted wrapping key: else the user PIN alone could export the root key. */
function untrustedRefused(s: HsmSession, key: graphene.PrivateKey, m: WrapMechanism, label: string, alg: RootKeyAlgorithm, add: Add, objects: graphene.SessionObject[]): boolean {
  const rogueBytes = crypto.randomBytes(32);
  let rogue: graphene.SecretKey;
  try {
    rogue = s.importUntrustedWrapKey(rogueBytes, `${label}:rogue`);
    objects.push(rogue);
  } catch (e) {
    add(`untrusted-refused:${alg}`, `Untrusted wrapping key refused (${alg})`, "pass", `The user cannot even create an ordinary wrapping key: ${msg(e)}`);
    return true;
  }
  try {
    s.wrapKeyObject(key, rogue, m);
  } catch (e) {
    add(`untrusted-refused:${alg}`, `Untrusted wrapping key refused (${alg})`, "pass", `A user-made, untrusted AES key cannot wrap the key: ${msg(e)}`);
    return true;
  } finally {
    rogueBytes.fill(0);
  }
  add(
    `untrusted-refused:${alg}`,
    `Untrusted wrapping key refused (${alg})`,
    "fail",
    "An ordinary AES key made with the user PIN alone wrapped the key, although its CKA_WRAP_WITH_TRUSTED reads true.",
    "The token does not enforce CKA_WRAP_WITH_TRUSTED: it let an untrusted key made with the user PIN alone export a key marked wrap-with-trusted. Anyone with the user PIN could export the root key; this token is not fit for production.",
  );
  return false;
}

/** Unwraps a software-made RFC 5649 blob with the restore template; returns the mechanism that worked. */
function restoreSide(
  s: HsmSession,
  alg: RootKeyAlgorithm,
  label: string,
  candidates: WrapMechanism[],
  prefer: WrapMechanism | null,
  extraFor: PreflightOptions["extraUnwrapAttributes"],
  checkUntrusted: boolean,
  add: Add,
  objects: graphene.SessionObject[],
  whyNoKek: () => string | undefined,
): WrapMechanism | null {
  const { pkcs8, spki } = testKeyPair(alg);
  const extra = extraFor?.(alg, spki) ?? {};
  const kekBytes = crypto.randomBytes(32);
  const blob = softwareWrapRfc5649(kekBytes, pkcs8);
  pkcs8.fill(0);
  const tried: string[] = [];
  let kek: graphene.SecretKey;
  try {
    kek = s.importUnwrapKek(kekBytes, `${label}:unwrap-kek`);
    objects.push(kek);
  } catch (e) {
    const why = worthDiagnosing(e) ? whyNoKek() : undefined;
    add(
      `restore:${alg}`,
      `Unwrap with the restore template (${alg})`,
      "fail",
      why ? `${msg(e)} A minimal AES key was tried as well: ${why}.` : msg(e),
      why ? `The user cannot bring the reassembled wrapping key into the token: ${why}. No backup could ever be restored here.` : `The user cannot import an unwrapping key: ${msg(e)}`,
    );
    return null;
  } finally {
    kekBytes.fill(0);
  }
  for (const m of prefer ? [prefer, ...candidates.filter((c) => c.code !== prefer.code)] : candidates) {
    let key: graphene.PrivateKey;
    try {
      key = s.unwrapPrivateKey(blob, kek, alg, `${label}:restored:${alg}`, Buffer.from(`pr-${alg}`), true, m, extra);
      objects.push(key);
    } catch (e) {
      tried.push(`${m.name}: ${msg(e)}`);
      continue;
    }
    const bad = templateMismatches(key).filter((b) => !b.startsWith("CKA_ALWAYS_SENSITIVE"));
    if (bad.length) {
      add(`restore:${alg}`, `Unwrap with the restore template (${alg})`, "fail", bad.join("; "), `A restored ${alg} key would not keep the root key's protections: ${bad.join("; ")}.`);
      return null;
    }
    const probe = crypto.randomBytes(32);
    try {
      const sig = s.signWith(key, alg, probe, "Signing with the restored throwaway key");
      if (!verifyRootSignature(alg, spki, probe, sig)) throw new Error("the restored key's signature does not verify against the original public key");
    } catch (e) {
      add(`restore:${alg}`, `Unwrap with the restore template (${alg})`, "fail", msg(e), `Restoring ${alg}: ${msg(e)}`);
      return null;
    }
    add(`restore:${alg}`, `Unwrap with the restore template (${alg})`, "pass", `A blob made in software (RFC 5649 over PKCS#8) unwraps with ${m.name} (0x${m.code.toString(16).toUpperCase()}) into a sensitive, wrap-with-trusted key that signs correctly.${tried.length ? ` Not used: ${tried.join("; ")}.` : ""}`);
    // A recovery target must also keep the restored key from an untrusted wrapping key.
    if (checkUntrusted && !untrustedRefused(s, key, m, label, alg, add, objects)) return null;
    return m;
  }
  add(`restore:${alg}`, `Unwrap with the restore template (${alg})`, "fail", tried.join("; ") || "no unwrap mechanism to try", `No mechanism unwraps a portable RFC 5649 backup of a ${alg} key on this token: ${tried.join("; ") || "none listed"}.`);
  return null;
}

export type { TokenInfo };
