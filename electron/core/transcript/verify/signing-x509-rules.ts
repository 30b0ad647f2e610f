/**
 * §6.9–§6.10: the certificates and CRLs a root signs in a signing ceremony,
 * held to what was compared aloud (the input), the script (profile, next
 * update), the root (issuer, paired algorithm) and the values read aloud.
 */
import "reflect-metadata";
import { createHash, createPublicKey, verify } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { CertificateProfileSchema, type CertificateProfile } from "../../script/profile";
import { profileExtensionsFor } from "../../engine/pki/profile";
import type { EntryBody } from "../types";
import type { RootKey } from "./action-rules";
import { readRevocationList, REVOCATION_REASONS, type Revocation } from "./revocation-list";
import { PAIRED_ALGORITHM_ID, certificateParts, crlParts, inputSubjectAndKey, pemBody, tlv } from "./x509-der";

export interface SigningContext {
  body: EntryBody;
  rootKey: RootKey;
  /** The root certificate's DER (§6.9). */
  rootDer: Buffer;
  /** The script step's params. */
  params: Record<string, unknown>;
  inputs: Map<string, { kind: string; bytes: Buffer; sha256: string }>;
}

const HASH: Record<string, string> = { "EC-P256": "sha256", "EC-P384": "sha384", "EC-P521": "sha512", "RSA-3072": "sha256", "RSA-4096": "sha256" };
const DAY_MS = 86_400_000;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The signature over `tbs` verifies with the root key and the paired hash; both AlgorithmIdentifiers are the paired one. */
function signedByRoot(rk: RootKey, parts: { tbs: Buffer; outerAlg: Buffer; innerAlg: Buffer; signature: Buffer }, what: string): string | undefined {
  const paired = PAIRED_ALGORITHM_ID[rk.algorithm]!;
  if (parts.outerAlg.toString("hex") !== paired || parts.innerAlg.toString("hex") !== paired) return `${what} does not declare the signature algorithm §6.9 pairs with the root key (${rk.algorithm}).`;
  let ok = false;
  try {
    const key = createPublicKey({ key: Buffer.from(rk.spki, "base64"), format: "der", type: "spki" });
    ok = verify(HASH[rk.algorithm]!, parts.tbs, rk.algorithm.startsWith("EC") ? { key, dsaEncoding: "der" } : key, parts.signature);
  } catch {
    ok = false;
  }
  return ok ? undefined : `${what} is not signed by the ceremony's root key.`;
}

/** inputs.input names an input loaded before, of one of `kinds`, and inputs.inputSha256 is its hash. */
function namedInput(ctx: SigningContext, kinds: string[]): { kind: string; bytes: Buffer } | string {
  const inp = ctx.body.inputs as Record<string, unknown>;
  const input = typeof inp.input === "string" ? ctx.inputs.get(inp.input) : undefined;
  if (!input) return "inputs.input names no input loaded before it.";
  if (!kinds.includes(input.kind)) return `inputs.input '${String(inp.input)}' is a ${input.kind}, not a ${kinds.join(" or ")}.`;
  if (inp.inputSha256 !== input.sha256) return "inputs.inputSha256 is not the SHA-256 of the input compared aloud.";
  return input;
}

/** The recorded file named params.output holds exactly `pem`. */
function fileRule(o: Record<string, unknown>, params: Record<string, unknown>, pem: string): string | undefined {
  const files = o.files;
  if (!Array.isArray(files) || !files.every(isMap)) return "outputs.files is not an array of objects.";
  const named = files.filter((f) => f.name === params.output);
  if (named.length !== 1) return `outputs.files does not list the file ${String(params.output)} once.`;
  return named[0]!.sha256 === sha256(Buffer.from(pem, "utf8")) ? undefined : `the SHA-256 recorded for ${String(params.output)} is not that of the PEM recorded.`;
}

/** A key the profile's keyPolicy allows. */
function keyAllowed(spki: Buffer, policy: CertificateProfile["keyPolicy"]): boolean {
  try {
    const key = createPublicKey({ key: spki, format: "der", type: "spki" });
    const d = key.asymmetricKeyDetails ?? {};
    if (key.asymmetricKeyType === "rsa") return (d.modulusLength ?? 0) >= policy.rsaMinBits;
    if (key.asymmetricKeyType === "ec") {
      const curve = ({ prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" } as Record<string, "P-256" | "P-384" | "P-521">)[d.namedCurve ?? ""];
      return curve !== undefined && policy.ecCurves.includes(curve);
    }
    return key.asymmetricKeyType === "ed25519" && policy.ed25519;
  } catch {
    return false;
  }
}

/** §6.9: the certificate follows the profile (extensions, validity, key). */
function followsProfile(cert: x509.X509Certificate, spki: Buffer, profile: CertificateProfile, ctx: SigningContext): string | undefined {
  const expected = profileExtensionsFor(profile, spki, Buffer.from(ctx.rootKey.spki, "base64"));
  const key = (e: { type: string; critical: boolean; value: ArrayBuffer }) => `${e.type} ${e.critical} ${Buffer.from(e.value).toString("hex")}`;
  const want = expected.map(key).sort();
  const got = cert.extensions.map(key).sort();
  if (want.join("\n") !== got.join("\n")) {
    const wrong = cert.extensions.find((e) => !want.includes(key(e)))?.type ?? expected.find((e) => !got.includes(key(e)))?.type;
    return `the certificate's extensions are not those the script's profile gives (first difference: ${wrong ?? "an extension twice"}).`;
  }
  if (cert.notAfter.getTime() - cert.notBefore.getTime() !== profile.validityDays * DAY_MS) return `the certificate is not valid for exactly the profile's ${profile.validityDays} days.`;
  if (cert.notAfter.getTime() > new x509.X509Certificate(new Uint8Array(ctx.rootDer)).notAfter.getTime()) return "the certificate outlives the root certificate.";
  if (!keyAllowed(spki, profile.keyPolicy)) return "the certificate's key is not one the profile's keyPolicy allows.";
  return undefined;
}

/** §6.10 sign-certificate and cross-certify. */
export function certificateRule(ctx: SigningContext): string | undefined {
  const o = ctx.body.outputs as Record<string, unknown>;
  const c: Record<string, unknown> = isMap(o.certificate) ? o.certificate : {};
  const pem = c.pem;
  if (typeof pem !== "string") return "outputs.certificate.pem is missing.";
  const der = pemBody(pem, "CERTIFICATE");
  let cert: x509.X509Certificate;
  let parts: ReturnType<typeof certificateParts>;
  try {
    if (!der) throw new Error("no PEM");
    cert = new x509.X509Certificate(new Uint8Array(der));
    parts = certificateParts(der);
  } catch {
    return "outputs.certificate.pem is not an X.509 certificate.";
  }
  const bad = signedByRoot(ctx.rootKey, parts, "the certificate");
  if (bad) return bad;
  const input = namedInput(ctx, ["certificate-request", "certificate"]);
  if (typeof input === "string") return input;
  const named = inputSubjectAndKey(input.bytes, input.kind);
  const name = String((ctx.body.inputs as Record<string, unknown>).input);
  if (!named || !parts.spki.equals(named.spki)) return `the certificate is not of the key the input "${name}" names.`;
  if (!parts.subject.equals(named.subject)) return `the certificate's subject is not the subject the input "${name}" names.`;
  if (!parts.issuer.equals(certificateParts(ctx.rootDer).subject)) return "the certificate's issuer is not the root certificate's subject.";
  const profile = CertificateProfileSchema.safeParse(ctx.params.profile);
  if (!profile.success) return "the script step's params.profile is not a profile of §6.9.";
  const off = followsProfile(cert, parts.spki, profile.data, ctx);
  if (off) return off;
  if (c.sha256 !== sha256(der!)) return "outputs.certificate.sha256 (the fingerprint read aloud) is not the SHA-256 of the certificate recorded.";
  const spkiHash = sha256(parts.spki);
  if (c.spkiSha256 !== spkiHash) return "outputs.certificate.spkiSha256 is not the SHA-256 of the certificate's key.";
  for (const m of ["request", "otherRoot"]) {
    const v = isMap(o[m]) ? (o[m] as Record<string, unknown>).spkiSha256 : undefined;
    if (v !== undefined && v !== spkiHash) return `outputs.${m}.spkiSha256 is not the SHA-256 of the certified key.`;
  }
  if (c.serialNumber !== parts.serial.toString("hex")) return "outputs.certificate.serialNumber is not the certificate's serial number.";
  return fileRule(o, ctx.params, pem);
}

/** An INTEGER's content octets as a signed value. */
function integerValue(content: Buffer): bigint {
  if (content.length === 0) return 0n;
  const v = BigInt(`0x${content.toString("hex")}`);
  return content[0]! & 0x80 ? v - (1n << BigInt(8 * content.length)) : v;
}

/** §6.10 issue-crl. */
export function crlRule(ctx: SigningContext): string | undefined {
  const o = ctx.body.outputs as Record<string, unknown>;
  const c: Record<string, unknown> = isMap(o.crl) ? o.crl : {};
  const pem = c.pem;
  const der = typeof pem === "string" ? pemBody(pem, "X509 CRL") : undefined;
  if (!der) return "outputs.crl.pem is not a PEM CRL.";
  let crl: x509.X509Crl;
  let parts: ReturnType<typeof crlParts>;
  try {
    crl = new x509.X509Crl(new Uint8Array(der));
    parts = crlParts(der);
  } catch {
    return "outputs.crl.pem is not a CRL this verifier can read.";
  }
  const bad = signedByRoot(ctx.rootKey, parts, "the CRL");
  if (bad) return bad;
  if (!parts.issuer.equals(certificateParts(ctx.rootDer).subject)) return "the CRL's issuer is not the root certificate's subject.";
  let list: Revocation[] = [];
  if ((ctx.body.inputs as Record<string, unknown>).input !== undefined) {
    const input = namedInput(ctx, ["revocation-list"]);
    if (typeof input === "string") return input;
    const read = readRevocationList(input.bytes);
    if ("problem" in read) return `the revocation list compared aloud is not one of §6.9 (line ${read.line}: ${read.problem}).`;
    list = read.list;
  }
  const entries = crl.entries;
  if (entries.length !== list.length) return `the CRL revokes ${entries.length} certificate(s), but the list compared aloud names ${list.length}.`;
  for (const e of entries) {
    const value = integerValue(Buffer.from(e.serialNumber, "hex"));
    const listed = list.find((r) => r.value === value);
    if (!listed) return `the CRL revokes serial ${e.serialNumber}, which the list compared aloud does not name.`;
    const code = REVOCATION_REASONS[listed.reason];
    const exts = e.extensions;
    const reasonOk = code === 0 ? exts.length === 0 : exts.length === 1 && exts[0]!.type === "2.5.29.21" && e.reason === code;
    if (!reasonOk) return `the CRL's entry for serial ${e.serialNumber} does not carry the reason ${listed.reason} alone.`;
  }
  if (new Set(entries.map((e) => integerValue(Buffer.from(e.serialNumber, "hex")))).size !== entries.length) return "the CRL revokes a serial twice.";
  const days = ctx.params.nextUpdateDays;
  if (typeof days !== "number" || !Number.isInteger(days) || days < 1) return "the script step's params.nextUpdateDays is not a positive integer.";
  if (!crl.nextUpdate || crl.nextUpdate.getTime() - crl.thisUpdate.getTime() !== days * DAY_MS) return `the CRL's next update is not ${days} days after its this update, as the script says.`;
  const numbers = crl.extensions.filter((e) => e.type === "2.5.29.20");
  if (numbers.length !== 1) return "the CRL has no cRLNumber.";
  const n = Buffer.from(numbers[0]!.value);
  const el = tlv(n, 0);
  if (el.tag !== 0x02 || el.end !== n.length) return "the CRL's cRLNumber is not an INTEGER.";
  if (c.sha256 !== sha256(der)) return "outputs.crl.sha256 (read aloud) is not the SHA-256 of the CRL recorded.";
  if (c.number !== integerValue(n.subarray(el.start, el.end)).toString()) return "outputs.crl.number (read aloud) is not the CRL's cRLNumber.";
  return fileRule(o, ctx.params, pem as string);
}
