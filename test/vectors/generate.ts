/**
 * Writes the test vectors of docs/transcript-format.md §13 into test/vectors/
 * and their expected verdicts into manifest.json. Run it again only when the
 * format changes: `npx tsx test/vectors/generate.ts`. Each invalid vector
 * breaks exactly one rule; everything else in it is signed and chained.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, sign as nodeSign } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { rehearse, rehearseFrom } from "../../electron/core/rehearse/rehearse";
import { attestationMessage, bodyHash, entryHash } from "../../electron/core/transcript/chain";
import type { Bundle, Signature } from "../../electron/core/transcript/types";
import { writeReportVectors } from "./report-vectors";
import * as x509 from "@peculiar/x509";
import { profileExtensionsFor } from "../../electron/core/engine/pki/profile";
import { CertificateProfileSchema } from "../../electron/core/script/profile";
import type { RevocationReason } from "../../electron/core/transcript/verify/revocation-list";
import { inputSubjectAndKey } from "../../electron/core/transcript/verify/x509-der";
import { assemble, bundleText, makePerson, makeRootKey, planCeremony, writeSqlite, type Plan, type Spec } from "./builder";
import { certificateRequest, crlFor, issueFor, rootProof, type CrlOptions, type CrlRecord, type IssueOptions, type IssuedRecord } from "./signing-builder";

const OUT = path.dirname(new URL(import.meta.url).pathname);
const SCRIPTS = path.resolve(OUT, "../../ceremony-scripts");
const script = (name: string) => path.join(SCRIPTS, `${name}.yaml`);

interface Vector {
  needsRendering?: boolean;
  file: string;
  expect: "complete" | "incomplete" | "aborted" | "not-intact" | "unreadable";
  code?: string;
  seq?: number;
  pins?: Record<string, unknown>;
  rule: string;
  description: string;
}
const manifest: Vector[] = [];

function write(dir: "valid" | "invalid", name: string, data: string | Buffer, v: Omit<Vector, "file">): void {
  const rel = `${dir}/${name}`;
  if (manifest.some((v) => v.file === rel)) throw new Error(`two vectors are named ${rel}`);
  fs.mkdirSync(path.join(OUT, dir), { recursive: true });
  fs.writeFileSync(path.join(OUT, rel), data);
  manifest.push({ file: rel, ...v });
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Recomputes entry hashes and the chain from index `from` on, keeping bodies (except prevHash) and signatures. */
function rechainFrom(b: Bundle, from: number): Bundle {
  let prev = from === 0 ? "0".repeat(64) : b.entries[from - 1]!.entryHash;
  for (let i = from; i < b.entries.length; i++) {
    const e = b.entries[i]!;
    if (i > from) e.body = { ...e.body, prevHash: prev };
    e.bodyHash = bodyHash(e.body);
    e.entryHash = entryHash(e.bodyHash, e.signatures);
    prev = e.entryHash;
  }
  b.head = prev;
  return b;
}
const gen = await planCeremony(script("root-key-generation"));
const idx = (p: Plan, stepId: string) => p.specs.findIndex((s) => s.stepId === stepId);
const good = assemble(gen);
const bad = (name: string, b: Bundle | string, code: string, seq: number | undefined, rule: string, description: string, pins?: Vector["pins"]) =>
  write("invalid", `${name}.bundle.json`, typeof b === "string" ? b : bundleText(b), { expect: "not-intact", code, ...(seq ? { seq } : {}), ...(pins ? { pins } : {}), rule, description });
const witness = gen.people.find((p) => p.roles.includes("internal-witness"))!;
const admin = gen.people.find((p) => p.roles.includes("ceremony-administrator"))!;
const withSpecs = (edit: (s: Spec[]) => Spec[]) => assemble(gen, edit(clone(gen.specs).map((s, i) => ({ ...s, extra: gen.specs[i]!.extra }))));

// ---------------------------------------------------------------- valid
write("valid", "generation.bundle.json", bundleText(good), { expect: "complete", rule: "§7.6", description: "a complete generation ceremony" });
for (const kind of ["root-key-recovery", "share-resplit", "key-destruction"]) {
  write("valid", `${kind}.bundle.json`, bundleText(assemble(await planCeremony(script(kind)))), { expect: "complete", rule: "§7.6", description: `a complete ${kind} ceremony` });
}
write("valid", "production.bundle.json", bundleText(assemble(await planCeremony(script("root-key-generation"), { mode: "production", custodians: 5, threshold: 3, id: "root-key-generation-2026-11-30-pr0d" }))), {
  expect: "complete",
  rule: "§7.6",
  description: "a complete production generation, 3 of 5",
});
{
  const at = idx(gen, "air-gap");
  const b = withSpecs((s) => [
    ...s.slice(0, at),
    { stepId: s[at]!.stepId, action: "exception", inputs: { text: "The room's door was opened by a cleaner; the ceremony paused for two minutes." }, outputs: {}, signers: [witness.id] },
    { stepId: s[at]!.stepId, action: "deviation", inputs: { kind: "wrong-pin", role: "user", attempts: 1 }, outputs: {}, signers: [] },
    ...s.slice(at),
  ]);
  write("valid", "with-exception-and-deviation.bundle.json", bundleText(b), { expect: "complete", rule: "§6.6, §6.7", description: "an exception signed by the witness and an unsigned deviation between steps" });
}
{
  const at = idx(gen, "generate-root-key");
  const b = withSpecs((s) => [...s.slice(0, at), { stepId: s[at]!.stepId, action: "abort", inputs: { reason: "The HSM failed its self-test." }, outputs: {}, signers: [admin.id, witness.id] }]);
  write("valid", "aborted.bundle.json", bundleText(b), { expect: "aborted", rule: "§6.8, §7.6", description: "a ceremony closed by a signed abort" });
  const early = withSpecs((s) => [s[0]!, { stepId: s[1]!.stepId, action: "abort", inputs: { reason: "A custodian is missing." }, outputs: {}, signers: [] }]);
  write("valid", "aborted-before-enrolment.bundle.json", bundleText(early), { expect: "aborted", rule: "§6.8", description: "an unsigned abort before anyone is enrolled" });
}
{
  const prefix = clone(good);
  prefix.entries = prefix.entries.slice(0, 7);
  prefix.head = prefix.entries[6]!.entryHash;
  prefix.ceremony.status = "open";
  write("valid", "incomplete.bundle.json", bundleText(prefix), { expect: "incomplete", rule: "§7.6", description: "the first 7 entries: intact so far, not complete" });
  write("invalid", "incomplete-with-final-head-pin.bundle.json", bundleText(prefix), {
    expect: "not-intact",
    code: "PIN_MISMATCH",
    pins: { head: good.head },
    rule: "§10",
    description: "a transcript cut short is caught by the final head from the paper",
  });
  const one = clone(good);
  one.entries = one.entries.slice(0, 1);
  one.head = one.entries[0]!.entryHash;
  one.ceremony.status = "open";
  write("valid", "opening-only.bundle.json", bundleText(one), { expect: "incomplete", rule: "§6.1, §7.6", description: "only the unsigned opening entry: nothing is signed" });
}
{
  const rec = assemble(await planCeremony(script("root-key-recovery"), { id: "root-key-recovery-2026-11-30-v3ct0r" }));
  const sqlite = path.join(OUT, "valid", "two-ceremonies.sqlite");
  writeSqlite(sqlite, [good, rec]);
  manifest.push({ file: "valid/two-ceremonies.sqlite", expect: "complete", rule: "§4.1", description: "a database holding a generation and a recovery" });
}

// ---------------------------------------------------------------- keys on the participants' own tokens (§2.4a)
{
  const plan = await planCeremony(script("root-key-generation"), { tokenHolders: ["p01", "p03"], id: "root-key-generation-2026-11-30-t0ken5" });
  write("valid", "token-held-keys.bundle.json", bundleText(assemble(plan)), { expect: "complete", rule: "§2.4a, §6.3", description: "the administrator and the witness sign with P-256 keys on their own tokens" });
  // The administrator's token replaced by another one after the enrolment: its signatures do not verify with the enrolled key.
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const swapped: Plan = { ...plan, people: plan.people.map((p) => (p.id === "p01" ? { ...p, token: { ...p.token!, privateKey: other } } : p)) };
  const b = assemble(swapped);
  write("invalid", "token-key-swapped.bundle.json", bundleText(b), {
    expect: "not-intact",
    code: "SIGNATURE_INVALID",
    seq: b.entries.find((e) => e.signatures.some((x) => x.signer === "p01"))!.body.seq,
    rule: "§2.4a, §7.2.10",
    description: "the administrator's token key swapped for another: the enrolment's own signature no longer verifies",
  });
  // A token participant's signature labelled with the other curve's algorithm.
  const relabelled = clone(assemble(plan));
  const e = relabelled.entries.find((x) => x.body.action !== "enrol-participants" && x.signatures.some((y) => y.signer === "p03"))!;
  e.signatures = e.signatures.map((x) => (x.signer === "p03" ? { ...x, algorithm: "ECDSA-SHA384" as const } : x));
  write("invalid", "token-signature-wrong-algorithm.bundle.json", bundleText(rechainFrom(relabelled, e.body.seq - 1)), {
    expect: "not-intact",
    code: "SIGNATURE_INVALID",
    seq: e.body.seq,
    rule: "§2.4a, §7.2.10",
    description: "a P-256 token signature labelled ECDSA-SHA384",
  });
}

// ---------------------------------------------------------------- signing ceremonies (§6.10)
for (const kind of ["sign-intermediate", "issue-crl", "cross-certify"]) {
  const plan = await planCeremony(script(kind));
  write("valid", `${kind}.bundle.json`, bundleText(assemble(plan)), { expect: "complete", rule: "§6.10", description: `a complete ${kind} ceremony` });
}
{
  const plan = await planCeremony(script("sign-intermediate"));
  const at = (id: string) => plan.specs.findIndex((s) => s.stepId === id);
  const variant = (name: string, edit: (s: Spec[]) => Spec[], seq: number, rule: string, description: string) =>
    write("invalid", `${name}.bundle.json`, bundleText(assemble(plan, edit(clone(plan.specs)))), { expect: "not-intact", code: "ACTION_MALFORMED", seq, rule, description });
  const req = at("request");
  variant(
    "input-not-the-hashed-file",
    (s) => s.map((x, i) => (i === req ? { ...x, outputs: { input: { ...(x.outputs.input as object), content: Buffer.from("another request").toString("base64") } } } : x)),
    req + 1,
    "§6.10",
    "the recorded input is not the file whose hash was compared aloud",
  );
  const sign = at("sign");
  const stranger = makeRootKey();
  const srcPem = (plan.specs[at("source")]!.outputs.sourceCertificate as { pem: string }).pem;
  const requestBytes = Buffer.from((plan.specs[req]!.outputs.input as { content: string }).content, "base64");
  const request = inputSubjectAndKey(requestBytes, "certificate-request")!;
  const profile = CertificateProfileSchema.parse((plan.script.steps.find((x) => x.id === "sign")!.params as { profile: unknown }).profile);
  const when = new Date("2026-11-30T09:00:00.000Z");
  /** The sign step's outputs with this certificate, recorded consistently (fingerprint, files). */
  const signedWith = (x: Spec, certificate: IssuedRecord): Spec => ({
    ...x,
    outputs: { ...x.outputs, certificate, files: [{ name: "intermediate.pem", sha256: createHash("sha256").update(certificate.pem).digest("hex"), bytes: Buffer.byteLength(certificate.pem) }] },
  });
  const signVariant = async (name: string, o: Partial<IssueOptions> & { subject?: Buffer }, rule: string, description: string) => {
    const cert = await issueFor(plan.root, srcPem, o.subject ?? request.subject, request.spki, when, { profile, ...o });
    variant(name, (s) => s.map((x, i) => (i === sign ? signedWith(x, cert) : x)), sign + 1, rule, description);
  };
  const foreignReq = await certificateRequest("Another Intermediate");
  const foreign = await issueFor(plan.root, srcPem, request.subject, foreignReq.spki, when, { profile });
  variant("issued-certificate-of-another-key", (s) => s.map((x, i) => (i === sign ? signedWith(x, foreign) : x)), sign + 1, "§6.10", "the certificate is not of the key the request names");
  const prove = at("prove-root");
  variant(
    "prove-root-of-another-key",
    (s) => s.map((x, i) => (i === prove ? { ...x, outputs: { ...x.outputs, rootKey: { label: "custos-root-source", algorithm: "EC-P384", spki: stranger.spki, fingerprint: stranger.fingerprint } } } : x)),
    prove + 1,
    "§6.4",
    "the key proved on the token is not the source's root key",
  );
  variant(
    "prove-root-proof-by-another-key",
    (s) => s.map((x, i) => (i === prove ? { ...x, outputs: { ...x.outputs, proof: rootProof(plan.root, plan.meta.id, stranger.privateKey) } } : x)),
    prove + 1,
    "§6.4",
    "the token's proof is signed by another key than the proved root key",
  );
  variant(
    "prove-root-proof-for-another-ceremony",
    (s) => s.map((x, i) => (i === prove ? { ...x, outputs: { ...x.outputs, proof: rootProof(plan.root, "sign-intermediate-2026-10-01-0ld", plan.root.privateKey) } } : x)),
    prove + 1,
    "§6.4",
    "the token's proof is the root's signature over another ceremony's challenge (replayed)",
  );
  await signVariant("certificate-subject-not-the-request", { subject: Buffer.from(new x509.Name("CN=Vector Other Subject").toArrayBuffer()) }, "§6.10", "the certificate names another subject than the request compared aloud");
  await signVariant("certificate-issuer-not-the-root", { issuer: Buffer.from(new x509.Name("CN=Another Root CA").toArrayBuffer()) }, "§6.9, §6.10", "the certificate's issuer is not the root certificate's subject");
  await signVariant(
    "certificate-unconstrained-ca",
    { extensions: profileExtensionsFor({ ...profile, pathLength: undefined }, request.spki, Buffer.from(plan.root.spki, "base64")) },
    "§6.9",
    "a CA certificate without the profile's pathLength 0: an unconstrained CA for the requested key",
  );
  await signVariant(
    "certificate-extra-extension",
    { extensions: [...profileExtensionsFor(profile, request.spki, Buffer.from(plan.root.spki, "base64")), new x509.ExtendedKeyUsageExtension(["1.3.6.1.5.5.7.3.3"], false)] },
    "§6.9",
    "the certificate carries an extended key usage the profile does not give",
  );
  await signVariant("certificate-validity-not-the-profile", { validityDays: profile.validityDays + 1 }, "§6.9", "the certificate is valid one day longer than the profile says");
  await signVariant("certificate-hash-not-paired", { hash: "sha256" }, "§6.9", "the P-384 root signs the certificate with ecdsa-with-SHA256, not the SHA-384 §6.9 pairs with it");
  {
    const good = await issueFor(plan.root, srcPem, request.subject, request.spki, when, { profile });
    variant("certificate-fingerprint-not-recorded", (s) => s.map((x, i) => (i === sign ? signedWith(x, { ...good, sha256: foreign.sha256 }) : x)), sign + 1, "§6.10", "outputs.certificate.sha256, read aloud, is another certificate's fingerprint");
    variant("certificate-serial-not-recorded", (s) => s.map((x, i) => (i === sign ? signedWith(x, { ...good, serialNumber: foreign.serialNumber }) : x)), sign + 1, "§6.10", "outputs.certificate.serialNumber is not the certificate's serial number");
    variant("certificate-spki-hash-not-recorded", (s) => s.map((x, i) => (i === sign ? signedWith(x, { ...good, spkiSha256: foreign.spkiSha256 }) : x)), sign + 1, "§6.10", "outputs.certificate.spkiSha256 is not the hash of the certified key");
    variant(
      "certificate-file-not-the-certificate",
      (s) => s.map((x, i) => (i === sign ? { ...x, outputs: { ...x.outputs, files: [{ name: "intermediate.pem", sha256: foreign.sha256, bytes: 100 }] } } : x)),
      sign + 1,
      "§6.10",
      "the file written is recorded with another hash than the certificate's PEM",
    );
    variant("certificate-input-hash-not-the-input", (s) => s.map((x, i) => (i === sign ? { ...x, inputs: { ...x.inputs, inputSha256: "0".repeat(64) } } : x)), sign + 1, "§6.10", "inputs.inputSha256 is not the hash of the request compared aloud");
  }
  {
    // A request for a P-521 key, which the profile's keyPolicy (P-256, P-384) refuses, compared aloud and certified.
    const weak = await certificateRequest("Vector Intermediate CA", "P-521");
    const bytes = Buffer.from(weak.pem);
    const cert = await issueFor(plan.root, srcPem, inputSubjectAndKey(bytes, "certificate-request")!.subject, weak.spki, when, { profile });
    const sha = createHash("sha256").update(bytes).digest("hex");
    variant(
      "certificate-key-not-in-profile",
      (s) =>
        s.map((x, i) =>
          i === req
            ? { ...x, outputs: { input: { ...(x.outputs.input as object), sha256: sha, bytes: bytes.length, content: bytes.toString("base64") } } }
            : i === sign
              ? { ...signedWith(x, cert), inputs: { ...x.inputs, inputSha256: sha } }
              : x,
        ),
      sign + 1,
      "§6.9",
      "a P-521 subject key, which the script's keyPolicy does not allow",
    );
  }
}
{
  const plan = await planCeremony(script("issue-crl"));
  const crlAt = plan.specs.findIndex((s) => s.stepId === "crl");
  const stranger = makeRootKey();
  const srcPem = (plan.specs.find((s) => s.action === "load-source-ceremony")!.outputs.sourceCertificate as { pem: string }).pem;
  const when = new Date("2026-11-30T09:00:00.000Z");
  const listed: Array<{ serial: string; reason: RevocationReason }> = [
    { serial: "0a1b2c", reason: "keyCompromise" },
    { serial: "1234", reason: "superseded" },
  ];
  const crlVariant = async (name: string, list: typeof listed, o: Partial<CrlOptions>, description: string, record: (c: CrlRecord) => CrlRecord = (c) => c, rule = "§6.10") => {
    const crl = record(await crlFor(plan.root, srcPem, list, when, { nextUpdateDays: 30, ...o }));
    const specs = plan.specs.map((x, i) =>
      i === crlAt ? { ...x, outputs: { crl, files: [{ name: "crl.pem", sha256: createHash("sha256").update(crl.pem).digest("hex"), bytes: Buffer.byteLength(crl.pem) }] } } : x,
    );
    write("invalid", `${name}.bundle.json`, bundleText(assemble(plan, specs)), { expect: "not-intact", code: "ACTION_MALFORMED", seq: crlAt + 1, rule, description });
  };
  await crlVariant("crl-signed-by-another-key", listed, { signerKey: stranger.privateKey }, "a CRL whose signature is not the root key's");
  await crlVariant("crl-revokes-other-serials", [listed[0]!, { serial: "9999", reason: "superseded" }], {}, "the list compared aloud revokes 1234; the CRL the root signed revokes 9999 instead");
  await crlVariant("crl-omits-a-listed-serial", [listed[0]!], {}, "the CRL revokes only one of the two serials of the list compared aloud");
  await crlVariant("crl-reason-not-the-list", [listed[0]!, { serial: "1234", reason: "keyCompromise" }], {}, "the CRL gives serial 1234 another reason than the list");
  await crlVariant("crl-issuer-not-the-root", listed, { issuer: Buffer.from(new x509.Name("CN=Another Root CA").toArrayBuffer()) }, "the CRL's issuer is not the root certificate's subject", (c) => c, "§6.9, §6.10");
  await crlVariant("crl-declared-algorithm-not-paired", listed, { outerAlgorithm: "300a06082a8648ce3d040302" }, "the CRL declares ecdsa-with-SHA256 outside its signed part (the signature is SHA-384's)", (c) => c, "§6.9");
  await crlVariant("crl-next-update-not-the-script", listed, { nextUpdateDays: 31 }, "the CRL's next update is 31 days after this update; the script says 30");
  await crlVariant("crl-fingerprint-not-recorded", listed, {}, "outputs.crl.sha256, read aloud, is not the CRL's", (c) => ({ ...c, sha256: "ab".repeat(32) }));
  await crlVariant("crl-number-not-recorded", listed, {}, "outputs.crl.number, read aloud, is not the CRL's cRLNumber", (c) => ({ ...c, number: "20261130090001" }));
  {
    // The list compared aloud is not of §6.9's form (a third word on a line), although the CRL
    // revokes what a lenient reader would take from it.
    const ld = plan.specs.findIndex((s) => s.action === "load-input");
    const bytes = Buffer.from("0a1b2c keyCompromise\n1234 superseded yesterday\n");
    const sha = createHash("sha256").update(bytes).digest("hex");
    const specs = plan.specs.map((x, i) =>
      i === ld ? { ...x, outputs: { input: { ...(x.outputs.input as object), sha256: sha, bytes: bytes.length, content: bytes.toString("base64") } } } : i === crlAt ? { ...x, inputs: { ...x.inputs, inputSha256: sha } } : x,
    );
    write("invalid", "crl-list-not-a-revocation-list.bundle.json", bundleText(assemble(plan, specs)), {
      expect: "not-intact",
      code: "ACTION_MALFORMED",
      seq: crlAt + 1,
      rule: "§6.9",
      description: "the revocation list compared aloud has a line with a third word (not SERIAL REASON); the CRL revokes what a lenient reader would take from it",
    });
  }
}

// ---------------------------------------------------------------- file form (§4.2)
const goodText = bundleText(good);
bad("pretty-printed", `${JSON.stringify(good, null, 2)}\n`, "BUNDLE_NOT_CANONICAL", undefined, "§4.2", "the right content, pretty-printed");
bad("bom", `\uFEFF${goodText}`, "BUNDLE_NOT_CANONICAL", undefined, "§4.2", "a byte order mark before the JSON");
bad("duplicate-key", goodText.replace('"format":"custos-transcript-bundle"', '"format":"custos-transcript-bundle","format":"custos-transcript-bundle"'), "BUNDLE_NOT_CANONICAL", undefined, "§4.2", "a duplicate key");
bad("number-form", goodText.replace('"version":2', '"version":2.0'), "BUNDLE_NOT_CANONICAL", undefined, "§4.2", "2 written as 2.0");
bad("no-final-newline", goodText.slice(0, -1), "BUNDLE_NOT_CANONICAL", undefined, "§4.2", "no final line feed");
bad("string-escape", goodText.replace('"format":"custos-transcript-bundle"', '"format":"custos-transcript-bundl\\u0065"'), "BUNDLE_NOT_CANONICAL", undefined, "§4.2", "a character written as a \\u escape");
bad("extra-top-member", { ...good, exportedAt: "2026-11-30T10:00:00.000Z" } as unknown as Bundle, "BUNDLE_MALFORMED", undefined, "§4.2", "an unknown top-level member");
{
  const b = clone(good) as unknown as { entries: Array<Record<string, unknown>> };
  b.entries[3]!.note = "checked";
  bad("extra-entry-member", b as unknown as Bundle, "BUNDLE_MALFORMED", undefined, "§4.2", "an unknown member in an entry");
}
write("invalid", "not-json.bundle.json", "this is not a transcript\n", { expect: "unreadable", rule: "§7.6", description: "not JSON" });
write("invalid", "json-nested-too-deep.bundle.json", bundleText(assemble(gen, gen.specs, (b, i) => void (i === 3 && ((b.inputs as Record<string, unknown>).deep = Array.from({ length: 61 }).reduce<unknown>((v) => [v], [1]))))), {
  expect: "unreadable",
  rule: "§1, §4.2",
  description: "an entry's input nests 62 lists deep, so the bundle nests 67 deep (over §1's 64): read as text that is not JSON, although it is signed and chained",
});
write("invalid", "other-json.bundle.json", '{"hello":"world"}\n', { expect: "unreadable", rule: "§7.6", description: "JSON, but not a bundle" });
write("invalid", "version-1.bundle.json", bundleText({ ...good, version: 1 }), { expect: "unreadable", rule: "§15", description: "a bundle of the unreleased format 1" });

// ---------------------------------------------------------------- header (§3, §7.1, §7.5)
{
  const b = clone(good) as unknown as { ceremony: Record<string, unknown> };
  delete b.ceremony.status;
  bad("header-missing-status", b as unknown as Bundle, "HEADER_MALFORMED", undefined, "§7.1.1", "the header has no status");
}
{
  const b = clone(good);
  b.ceremony.scriptSha256 = "0".repeat(64);
  bad("header-script-hash", b, "SCRIPT_HASH_MISMATCH", undefined, "§7.1.2", "the header's script hash is not the text's");
}
{
  const b = clone(good);
  b.ceremony.scriptText = b.ceremony.scriptText.replace("title: Root key generation", "title: Root key generation (edited)");
  bad("script-text-edited", b, "SCRIPT_HASH_MISMATCH", undefined, "§7.1.2", "the stored script text was edited");
}
/** The generation plan with another script text (hash recorded consistently everywhere). */
function withScriptText(text: string, specs: Spec[] = gen.specs): Bundle {
  const sha = createHash("sha256").update(text).digest("hex");
  const plan: Plan = { ...gen, meta: { ...gen.meta, scriptText: text, scriptSha256: sha } };
  return assemble(plan, specs.map((s, i) => (i === 0 ? { ...s, outputs: { ...s.outputs, scriptSha256: sha } } : s)));
}
bad(
  "script-without-seal",
  withScriptText(gen.text.replace(/\n  - id: seal\n[\s\S]*$/, "\n"), gen.specs.filter((s) => s.action !== "seal-transcript")),
  "SCRIPT_UNREADABLE",
  undefined,
  "§5, §7.1.3",
  "a script whose last step is not the seal (so no ending could be required)",
);
bad("script-yaml-1.1-boolean", withScriptText(gen.text.replace("requireBlank: false", "requireBlank: no")), "SCRIPT_UNREADABLE", undefined, "§5", "a plain `no`, which YAML 1.1 reads as false and YAML 1.2 as text");
bad("string-lone-surrogate", assemble(gen, gen.specs, (b, i) => void (i === 3 && ((b.inputs as Record<string, unknown>).note = "a\ud800b"))), "BUNDLE_NOT_CANONICAL", undefined, "§1, §4.2", "an entry's input holds a lone surrogate (\\ud800): no UTF-8 form, no RFC 8785 serialisation, although JavaScript prints it back as the same escape");
bad("script-line-separator", withScriptText(gen.text.replace("requireBlank: false", "requireBlank: false # a note\u2028    attest: []")), "SCRIPT_UNREADABLE", undefined, "§5", "a U+2028 in a comment: a line break to YAML 1.1 (the rest of the line becomes a member), an ordinary character to YAML 1.2");
bad("script-key-twice-by-text", withScriptText(gen.text.replace("    min: 1\n", '    min: 1\n    1: first\n    "1": second\n')), "SCRIPT_UNREADABLE", undefined, "§5", 'a role holding the keys 1 and "1": one key by its text, so it appears twice');
bad("script-attest-unknown-role", withScriptText(gen.text.replace("      - role: internal-witness\n\n  - id: bags-in", "      - role: notary\n\n  - id: bags-in")), "SCRIPT_UNREADABLE", undefined, "§5, §7.1.3", "a step attested by a role the script does not define");
bad("script-separation-unknown-role", withScriptText(gen.text.replace("[auditor, custodian]", "[auditor, cleaner]")), "SCRIPT_UNREADABLE", undefined, "§5", "a separation pair naming a role the script does not define");
{
  const b = clone(good);
  b.entries = [];
  b.head = "0".repeat(64);
  bad("no-entries", b, "NO_ENTRIES", undefined, "§7.1.4", "a header with no entry");
}
for (const [field, value, what] of [
  ["mode", "production", "a rehearsal's header claims production"],
  ["status", "open", "a sealed transcript's header says open"],
  ["createdAt", "2026-01-01T00:00:00.000Z", "the header's creation time is not entry 1's"],
  ["scriptTitle", "Root key generation, approved", "the header's title is not the script's"],
] as const) {
  const b = clone(good);
  (b.ceremony as unknown as Record<string, string>)[field] = value;
  bad(`header-${field}`, b, "HEADER_MISMATCH", undefined, "§7.5.1", what);
}
{
  const b = clone(good);
  b.head = b.entries[5]!.entryHash;
  bad("head-not-last", b, "HEAD_MISMATCH", undefined, "§7.5.2", "the bundle's head is not its last entry's hash");
}

// ---------------------------------------------------------------- entries (§7.2)
{
  const b = clone(good);
  b.entries.splice(4, 1);
  bad("entry-removed", b, "SEQUENCE", 5, "§7.2.1", "entry 5 removed from the middle");
  const d = clone(good);
  d.entries.splice(4, 0, clone(d.entries[3]!));
  bad("entry-duplicated", d, "SEQUENCE", 5, "§7.2.1", "entry 4 stored twice");
}
{
  const s = clone(gen.specs);
  s.push({ stepId: "seal", action: "exception", inputs: { text: "Added after the seal." }, outputs: {}, signers: [witness.id] });
  bad("after-seal", assemble(gen, s), "AFTER_CLOSE", s.length, "§7.2.2", "a signed exception appended after the seal");
}
bad("body-extra-member", assemble(gen, gen.specs, (b, i) => i === 4 && Object.assign(b, { note: "x" })), "BODY_MALFORMED", 5, "§7.2.4", "a body with an unknown member");
bad("body-fraction", assemble(gen, gen.specs, (b, i) => i === 4 && Object.assign(b.outputs, { temperature: 21.5 })), "BODY_MALFORMED", 5, "§1, §7.2.4", "a number with a fraction");
bad("body-version-1", assemble(gen, gen.specs, (b, i) => i === 4 && Object.assign(b, { v: 1 })), "BODY_MALFORMED", 5, "§7.2.4, §15", "an entry of format 1");
bad("body-other-ceremony", assemble(gen, gen.specs, (b, i) => i === 4 && Object.assign(b, { ceremonyId: "another-ceremony" })), "BODY_MISMATCH", 5, "§7.2.5", "an entry of another ceremony");
{
  const b = clone(good);
  (b.entries[11]!.body.inputs as Record<string, unknown>).confirmedItems = ["Edited afterwards."];
  bad("body-edited", b, "BODY_HASH_MISMATCH", 12, "§7.2.6", "an entry's inputs edited, hashes left alone");
}
bad("timestamp-backwards", assemble(gen, gen.specs, (b, i) => i === 5 && Object.assign(b, { timestamp: "2026-11-30T09:00:30.000Z" })), "BODY_MISMATCH", 6, "§2.1, §7.2.5", "an entry dated before the one before it (re-signed)");
bad("opening-with-inputs", assemble(gen, gen.specs, (b, i) => i === 0 && Object.assign(b.inputs, { note: "typed at the start" })), "ACTION_MALFORMED", 1, "§6.1", "the opening entry records inputs");
bad("chain-broken", assemble(gen, gen.specs, (b, i) => i === 6 && Object.assign(b, { prevHash: "1".repeat(64) })), "CHAIN_BROKEN", 7, "§7.2.7", "entry 7 points at another previous hash (re-signed)");
{
  const b = clone(good);
  const e = b.entries.find((x) => x.signatures.length > 1)!;
  e.signatures.reverse();
  bad("signatures-unsorted", b, "SIGNATURES_MALFORMED", e.body.seq, "§2.3, §7.2.8", "signatures out of order");
}
for (const [name, edit, what] of [
  ["signature-participant-ecdsa-p521", (x: Signature) => (x.kind === "participant" ? { ...x, algorithm: "ECDSA-SHA512" as const } : x), "a participant signature labelled ECDSA-SHA512, which no participant key uses"],
  ["signature-root-other-signer", (x: Signature) => (x.kind === "root-key" ? { ...x, signer: "p01" } : x), "a root-key signature whose signer is not root-key"],
] as const) {
  const b = clone(good);
  const e = name.includes("root") ? b.entries[b.entries.length - 1]! : b.entries[3]!;
  e.signatures = e.signatures.map(edit as (x: Signature) => Signature);
  bad(name, b, "SIGNATURES_MALFORMED", e.body.seq, "§2.3, §7.2.8", what);
}
{
  const b = clone(good);
  b.entries[b.entries.length - 1]!.entryHash = "f".repeat(64);
  b.head = "f".repeat(64);
  bad("entry-hash", b, "ENTRY_HASH_MISMATCH", b.entries.length, "§7.2.9", "the last entry hash (and head) replaced");
}
{
  const at = idx(gen, "air-gap");
  const forged: Signature = { signer: admin.id, kind: "participant", algorithm: "Ed25519", publicKey: admin.key.publicKey, signature: Buffer.alloc(64, 7).toString("base64") };
  bad("signature-invalid", withSpecs((s) => s.map((x, i) => (i === at ? { ...x, extra: [forged] } : x))), "SIGNATURE_INVALID", at + 1, "§7.2.10", "a signature that does not verify");
}
{
  const at = idx(gen, "air-gap");
  const stranger = makePerson("p77", "Mallory", ["internal-witness"]);
  const s = clone(gen.specs);
  const b = assemble(gen, s, undefined);
  // A valid signature by a key nobody enrolled, added and chained.
  const b2 = assemble(gen, s.map((x, i) => (i === at ? { ...x, extra: [] } : x)), (body, i) => void [body, i]);
  void b2;
  const e = b.entries[at]!;
  const sig: Signature = { signer: stranger.id, kind: "participant", algorithm: "Ed25519", publicKey: stranger.key.publicKey, signature: stranger.key.sign(attestationMessage(e.bodyHash)) };
  // Rebuild with the stranger's signature in place so the chain after it holds.
  const withStranger = withSpecs((sp) => sp.map((x, i) => (i === at ? { ...x, extra: [sig] } : x)));
  // The stranger's signature was made over the body as first assembled; bodies do not depend on signatures, so it stays valid.
  bad("signer-stranger", withStranger, "SIGNER_NOT_AUTHORISED", at + 1, "§7.2.13", "a valid signature by someone who is not enrolled");
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const spki = publicKey.export({ format: "der", type: "spki" }).toString("base64");
  const rootSig: Signature = { signer: "root-key", kind: "root-key", algorithm: "ECDSA-SHA384", publicKey: gen.root.spki, signature: nodeSign("sha384", attestationMessage(e.bodyHash), { key: gen.root.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64") };
  bad("root-signature-off-seal", withSpecs((sp) => sp.map((x, i) => (i === at ? { ...x, extra: [rootSig] } : x))), "SIGNER_NOT_AUTHORISED", at + 1, "§6.5, §7.2.13", "a root-key signature on an entry that is not the seal");
  const sealAt = idx(gen, "seal");
  const selfRoot = withSpecs((sp) =>
    sp.map((x, i) => {
      if (i !== sealAt) return x;
      return { ...x, rootSign: false, extra: [] };
    }),
  );
  // Re-sign the seal with a root key the file itself would introduce: replace the seal's signature list.
  const sealEntry = selfRoot.entries[sealAt]!;
  const selfSig: Signature = { signer: "root-key", kind: "root-key", algorithm: "ECDSA-SHA384", publicKey: spki, signature: nodeSign("sha384", attestationMessage(sealEntry.bodyHash), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64") };
  sealEntry.signatures = [...sealEntry.signatures, selfSig].sort((a, c) => (a.signer < c.signer ? -1 : a.signer > c.signer ? 1 : 0));
  sealEntry.entryHash = entryHash(sealEntry.bodyHash, sealEntry.signatures);
  selfRoot.head = sealEntry.entryHash;
  bad("seal-by-other-root", selfRoot, "SIGNER_NOT_AUTHORISED", sealAt + 1, "§6.5, §7.2.13", "the seal signed by a root key that is not the ceremony's");
}
bad("first-entry-not-open", withSpecs((s) => s.slice(1)), "OUT_OF_ORDER", 1, "§6.1, §7.2.11", "no opening entry");
{
  const a = idx(gen, "bags-in");
  bad("steps-swapped", withSpecs((s) => { const t = s[a]!; s[a] = s[a + 1]!; s[a + 1] = t; return s; }), "OUT_OF_ORDER", a + 1, "§7.2.11, §7.3", "two steps swapped (re-signed)");
  bad("step-skipped", withSpecs((s) => s.filter((_, i) => i !== a)), "OUT_OF_ORDER", a + 1, "§7.2.11, §7.3", "a step left out (re-signed)");
  bad("step-repeated", withSpecs((s) => [...s.slice(0, a + 1), s[a]!, ...s.slice(a + 1)]), "OUT_OF_ORDER", a + 2, "§7.2.11, §7.3", "a step recorded twice");
  bad("exception-before-enrolment", withSpecs((s) => [s[0]!, { stepId: s[1]!.stepId, action: "exception", inputs: { text: "early" }, outputs: {}, signers: [] }, ...s.slice(1)]), "OUT_OF_ORDER", 2, "§6.6, §7.2.11", "an exception before anyone is enrolled");
  bad("wrong-action", withSpecs((s) => s.map((x, i) => (i === a ? { ...x, action: "air-gap-check" } : x))), "OUT_OF_ORDER", a + 1, "§7.2.11", "a step recorded with another action than the script's");
}
{
  const e = idx(gen, "attendance");
  const custodians = gen.people.filter((p) => p.roles.includes("custodian"));
  bad(
    "enrolment-too-few-custodians",
    withSpecs((s) => s.map((x, i) => (i === e ? { ...x, outputs: { participants: (x.outputs.participants as Array<{ id: string }>).filter((p) => p.id !== custodians[2]!.id) }, signers: x.signers.filter((id) => id !== custodians[2]!.id) } : x))),
    "ACTION_MALFORMED",
    e + 1,
    "§6.3",
    "two custodians enrolled where the script asks for at least three",
  );
  bad(
    "enrolment-separation",
    withSpecs((s) => s.map((x, i) => (i === e ? { ...x, outputs: { participants: (x.outputs.participants as Array<{ id: string; roles: string[] }>).map((p) => (p.id === admin.id ? { ...p, roles: ["ceremony-administrator", "internal-witness"] } : p)) } } : x))),
    "ACTION_MALFORMED",
    e + 1,
    "§6.3",
    "the administrator also enrolled as internal witness",
  );
  const g = idx(gen, "generate-root-key");
  bad("root-fingerprint-wrong", withSpecs((s) => s.map((x, i) => (i === g ? { ...x, outputs: { rootKey: { ...(x.outputs.rootKey as object), fingerprint: "0".repeat(64) } } } : x))), "ACTION_MALFORMED", g + 1, "§6.4", "the root key's fingerprint is not its SPKI's hash");
  const c = idx(gen, "root-certificate");
  const other = await planCeremony(script("root-key-generation"));
  bad("certificate-of-another-key", withSpecs((s) => s.map((x, i) => (i === c ? { ...x, outputs: other.specs[c]!.outputs } : x))), "ACTION_MALFORMED", c + 1, "§6.4a", "a root certificate copied from another ceremony (its key is not this root key)");
  const pf = idx(gen, "hsm-preflight");
  type Pf = { checks: Array<{ id: string; status: string }> };
  bad(
    "preflight-untrusted-wrap-not-refused",
    withSpecs((s) =>
      s.map((x, i) => {
        if (i !== pf) return x;
        const p = x.outputs.preflight as unknown as Pf;
        return { ...x, outputs: { preflight: { ...p, checks: p.checks.map((k) => (k.id.startsWith("untrusted-refused") ? { ...k, status: "fail" } : k)) } } };
      }),
    ),
    "ACTION_MALFORMED",
    pf + 1,
    "§6.4c",
    "a preflight whose token wrapped a wrap-with-trusted key under an untrusted key, recorded as if fit",
  );
  bad(
    "preflight-not-fit",
    withSpecs((s) => s.map((x, i) => (i === pf ? { ...x, outputs: { preflight: { ...(x.outputs.preflight as object), fit: false } } } : x))),
    "ACTION_MALFORMED",
    pf + 1,
    "§6.4c",
    "a key generated after a preflight that found the token unfit",
  );
  bad("algorithm-not-settings", withSpecs((s) => s.map((x, i) => (i === 0 ? { ...x, outputs: { ...x.outputs, settings: { algorithm: "EC-P256", threshold: 2, shares: 3 } } } : x))), "ACTION_MALFORMED", pf + 1, "§6.4c, §6.4", "an EC-P384 ceremony (preflight and root key) where entry 1 fixed EC-P256: the preflight, the first entry to name the algorithm, is the bad one");
  bad(
    "key-without-preflight",
    withScriptText(gen.text.replace(/\n  - id: hsm-preflight\n[\s\S]*?\n(?=  - id: )/, "\n"), gen.specs.filter((_, i) => i !== pf)),
    "ACTION_MALFORMED",
    pf + 1,
    "§6.4c",
    "a script without its hsm-preflight step, so the root key is generated on a token nobody qualified",
  );
  bad("settings-impossible", withSpecs((s) => s.map((x, i) => (i === 0 ? { ...x, outputs: { ...x.outputs, settings: { algorithm: "EC-P384", threshold: 4, shares: 3 } } } : x))), "ACTION_MALFORMED", 1, "§6.1", "a threshold larger than the number of shares");
}
{
  const at = idx(gen, "bags-out");
  bad("witness-missing", withSpecs((s) => s.map((x, i) => (i === at ? { ...x, signers: x.signers.filter((id) => id !== witness.id) } : x))), "ATTESTATION_MISSING", at + 1, "§7.4", "a step the script says the witness attests, without the witness");
  bad(
    "insider-only-signer",
    withSpecs((s) => s.map((x, i) => (i >= at ? { ...x, signers: i === s.length - 1 ? x.signers : [admin.id], inputs: i === at ? { ...x.inputs, "share-bag-serials": ["X1", "X2", "X3"] } : x.inputs } : x))),
    "ATTESTATION_MISSING",
    at + 1,
    "§7.4",
    "the administrator rewrote the bag serials and signed alone",
  );
  const seal = idx(gen, "seal");
  bad("seal-without-root", withSpecs((s) => s.map((x, i) => (i === seal ? { ...x, rootSign: false } : x))), "ATTESTATION_MISSING", seal + 1, "§6.5, §7.2.14", "a seal without the root key's signature");
  const e = idx(gen, "attendance");
  bad("enrolment-unsigned-by-one", withSpecs((s) => s.map((x, i) => (i === e ? { ...x, signers: x.signers.slice(1) } : x))), "ATTESTATION_MISSING", e + 1, "§6.3", "an enrolled participant did not sign the enrolment");
  bad("unsigned-steps", withSpecs((s) => s.map((x, i) => (i > e ? { ...x, signers: [], rootSign: false } : x))), "ATTESTATION_MISSING", e + 2, "§7.4", "every step after the enrolment unsigned");
}
{
  const des = await planCeremony(script("key-destruction"));
  const q = idx(des, "approval");
  const spec = des.specs[q]!;
  const custodianIds = des.people.filter((p) => p.roles.includes("custodian")).map((p) => p.id);
  const one = custodianIds[0]!;
  const specs = des.specs.map((x, i) => (i === q ? { ...spec, signers: spec.signers.filter((id) => !custodianIds.includes(id) || id === one) } : x));
  write("invalid", "destruction-without-quorum.bundle.json", bundleText(assemble(des, specs)), { expect: "not-intact", code: "ATTESTATION_MISSING", seq: q + 1, rule: "§7.4", description: "a destruction approved by one custodian where the quorum is two" });
}
{
  const rec = await planCeremony(script("root-key-recovery"));
  const r = idx(rec, "restore");
  const stranger = (await import("./builder")).makeRootKey();
  const specs = rec.specs.map((x, i) => (i === r ? { ...x, outputs: { rootKey: { ...(x.outputs.rootKey as object), spki: stranger.spki, fingerprint: stranger.fingerprint } } } : x));
  write("invalid", "recovery-restores-another-key.bundle.json", bundleText(assemble({ ...rec, root: stranger }, specs)), {
    expect: "not-intact",
    code: "ACTION_MALFORMED",
    seq: r + 1,
    rule: "§6.4",
    description: "a recovery whose restored key is not the source's root key (sealed by the stranger key)",
  });
  const early = assemble(gen, [gen.specs[0]!, { stepId: gen.specs[1]!.stepId, action: "abort", inputs: { reason: "signed too early" }, outputs: {}, signers: [admin.id] }]);
  write("invalid", "abort-signed-before-enrolment.bundle.json", bundleText(early), { expect: "not-intact", code: "SIGNER_NOT_AUTHORISED", seq: 2, rule: "§6.8, §7.2.13", description: "an abort signed before anyone is enrolled" });
}
{
  // A complete forgery: every key new, every rule kept. Only a pin catches it.
  const forged = assemble(await planCeremony(script("root-key-generation"), { id: gen.meta.id }));
  write("invalid", "rekeyed-forgery.bundle.json", bundleText(forged), {
    expect: "not-intact",
    code: "PIN_MISMATCH",
    pins: { head: good.head, rootFingerprint: gen.root.fingerprint },
    rule: "§10",
    description: "a re-made transcript with new keys: intact by §7, caught by the head and root pins of the genuine one",
  });
  write("valid", "genuine-with-pins.bundle.json", goodText, {
    expect: "complete",
    pins: { head: good.head, rootFingerprint: gen.root.fingerprint, scriptSha256: gen.sha256, entries: [{ seq: 3, hash: good.entries[2]!.entryHash }], participants: [{ id: admin.id, fingerprint: (await import("../../electron/core/transcript/identity")).keyFingerprint(admin.key.publicKey).replace(/ /g, "") }] },
    rule: "§10",
    description: "the genuine transcript with every kind of pin",
  });
}

// ---------------------------------------------------------------- SQLite (§4.1)
const sq = (name: string, extraSql: string, v: Omit<Vector, "file">, bundles: Bundle[] = [good]) => {
  writeSqlite(path.join(OUT, "invalid", `${name}.sqlite`), bundles, extraSql);
  manifest.push({ file: `invalid/${name}.sqlite`, ...v });
};
sq("sqlite-extra-trigger", "CREATE TRIGGER t AFTER INSERT ON entries BEGIN SELECT 1; END;", { expect: "not-intact", code: "SQLITE_SCHEMA", rule: "§4.1", description: "a trigger in the database" });
sq("sqlite-extra-table", "CREATE TABLE notes (x TEXT);", { expect: "not-intact", code: "SQLITE_SCHEMA", rule: "§4.1", description: "an extra table" });
sq("sqlite-extra-view", "CREATE VIEW v AS SELECT * FROM entries;", { expect: "not-intact", code: "SQLITE_SCHEMA", rule: "§4.1", description: "a view" });
{
  // better-sqlite3 runs in defensive mode (sqlite_master cannot be written), so the sqlite3 shell re-declares the column.
  const file = path.join(OUT, "invalid", "sqlite-collate-nocase.sqlite");
  writeSqlite(file, [good], "");
  execFileSync("sqlite3", [file, "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'ceremony_id     TEXT NOT NULL,', 'ceremony_id     TEXT NOT NULL COLLATE NOCASE,') WHERE name = 'entries'; PRAGMA writable_schema = OFF; VACUUM;"]);
  manifest.push({ file: "invalid/sqlite-collate-nocase.sqlite", expect: "not-intact", code: "SQLITE_SCHEMA", rule: "§4.1", description: "entries.ceremony_id re-declared COLLATE NOCASE (PRAGMA table_info unchanged)" });
}
sq("sqlite-invalid-utf8", "UPDATE entries SET ceremony_id = ceremony_id || X'FF'; UPDATE ceremonies SET id = id || X'FF';", {
  expect: "not-intact",
  code: "SQLITE_TYPES",
  rule: "§4.1",
  description: "the ceremony id stored with a byte that is not UTF-8 (0xFF) in both tables",
});
{
  const file = path.join(OUT, "invalid", "sqlite-utf16.sqlite");
  writeSqlite(file, [good], "", "UTF-16le");
  manifest.push({ file: "invalid/sqlite-utf16.sqlite", expect: "not-intact", code: "SQLITE_SCHEMA", rule: "§4.1", description: "the genuine transcript in a database whose text encoding is UTF-16le" });
}
{
  // A row in the entries table that its primary-key index lacks: the index is detached (writable_schema, sqlite3
  // shell) while the row goes in, then put back. SELECTs through the index and table scans then see different rows.
  const file = path.join(OUT, "invalid", "sqlite-index-mismatch.sqlite");
  writeSqlite(file, [good], "");
  const root = execFileSync("sqlite3", [file, "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_entries_1'"], { encoding: "utf8" }).trim();
  const pk = "'        PRIMARY KEY (ceremony_id, seq)'";
  execFileSync("sqlite3", [file, `PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, ',' || char(10) || ${pk}, '') WHERE name = 'entries'; DELETE FROM sqlite_master WHERE name = 'sqlite_autoindex_entries_1';`]);
  execFileSync("sqlite3", [file, `INSERT INTO entries VALUES ('${good.ceremony.id}', 18, 'closing', 'exception', '{"text":"the root key was copied to a USB stick"}', 'x', '[]', 'y');`]);
  execFileSync("sqlite3", [file, `PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'entry_hash      TEXT NOT NULL' || char(10), 'entry_hash      TEXT NOT NULL,' || char(10) || ${pk} || char(10)) WHERE name = 'entries'; INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('index', 'sqlite_autoindex_entries_1', 'entries', ${root}, NULL);`]);
  manifest.push({ file: "invalid/sqlite-index-mismatch.sqlite", expect: "not-intact", code: "SQLITE_INTEGRITY", rule: "§4.1", description: "a forged row 18 (an exception after the seal) in the entries table but not in its primary-key index: a reader through the index sees the genuine 17 entries, a table scan sees 18" });
}
sq("sqlite-seq-as-text", "UPDATE entries SET seq = CAST('3' AS BLOB) WHERE seq = 3;", { expect: "not-intact", code: "SQLITE_TYPES", rule: "§4.1", description: "a seq stored as a blob" });
sq("sqlite-orphan-entries", "INSERT INTO entries SELECT 'ghost', seq, step_id, action, body_json, body_hash, signatures_json, entry_hash FROM entries WHERE seq = 1;", { expect: "not-intact", code: "ORPHAN_ENTRIES", rule: "§4.1", description: "entries of a ceremony with no header row" });
sq("sqlite-body-whitespace", "UPDATE entries SET body_json = replace(body_json, '\"v\":2', '\"v\": 2') WHERE seq = 4;", { expect: "not-intact", code: "BODY_NOT_CANONICAL", seq: 4, rule: "§7.2.3", description: "a stored body with a space added" });
sq("sqlite-step-column", "UPDATE entries SET step_id = 'seal' WHERE seq = 4;", { expect: "not-intact", code: "BODY_MISMATCH", seq: 4, rule: "§7.2.5", description: "the step_id column disagrees with the body" });
sq("sqlite-status-open", "UPDATE ceremonies SET status = 'open';", { expect: "not-intact", code: "HEADER_MISMATCH", rule: "§3, §7.5.1", description: "the unsigned status column says open for a sealed ceremony" });
sq("sqlite-truncated-closed", "DELETE FROM entries WHERE seq > 10;", { expect: "not-intact", code: "HEADER_MISMATCH", rule: "§3, §7.5.1", description: "entries removed from the end while the header still says closed" });
sq("sqlite-truncated-and-reopened", "DELETE FROM entries WHERE seq > 10; UPDATE ceremonies SET status = 'open';", { expect: "incomplete", rule: "§7.6", description: "entries removed from the end and the header reopened: only a pin tells (see the next vector)" });
sq("sqlite-truncated-pinned", "DELETE FROM entries WHERE seq > 10; UPDATE ceremonies SET status = 'open';", { expect: "not-intact", code: "PIN_MISMATCH", pins: { head: good.head }, rule: "§10", description: "the same, caught by the final head pin" });
sq("sqlite-empty", "", { expect: "not-intact", code: "NO_ENTRIES", rule: "§7.1", description: "a transcript database holding no ceremony" }, []);
sq("sqlite-version-1", "PRAGMA user_version = 1;", { expect: "unreadable", rule: "§15", description: "a database of the unreleased format 1" });

// ---------------------------------------------------------------- real rehearsals and a report (§8)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "custos-vectors-"));
try {
  const g = path.join(tmp, "gen");
  await rehearse({ scriptPath: script("root-key-generation"), outDir: g, custodians: 3, threshold: 2 });
  fs.copyFileSync(path.join(g, "bundle.json"), path.join(OUT, "valid", "rehearsal-generation.bundle.json"));
  manifest.push({ file: "valid/rehearsal-generation.bundle.json", expect: "complete", rule: "§7.6", description: "a real rehearsal on SoftHSM2 (EC P-384 root key)" });
  // Signing first: the destruction rehearsal below destroys this root on its token.
  const csrFile = path.join(tmp, "intermediate.csr");
  const q0 = spawnSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", path.join(tmp, "intermediate.key"), "-out", csrFile, "-subj", "/CN=Vector Intermediate"], { encoding: "utf8" });
  if (q0.status !== 0) throw new Error(`openssl req: ${q0.stderr}`);
  const revoked = path.join(tmp, "revoked.txt");
  fs.writeFileSync(revoked, "0a1b2c keyCompromise\n");
  for (const [kind, inputs] of [
    ["sign-intermediate", { csr: csrFile }],
    ["issue-crl", { revoked }],
  ] as const) {
    const d = path.join(tmp, kind);
    await rehearseFrom({ scriptPath: script(kind), fromDir: g, outDir: d, inputs });
    fs.copyFileSync(path.join(d, "bundle.json"), path.join(OUT, "valid", `rehearsal-${kind}.bundle.json`));
    manifest.push({ file: `valid/rehearsal-${kind}.bundle.json`, expect: "complete", rule: "§6.10", description: `a real ${kind} rehearsal with the generation's root on its SoftHSM2 token` });
  }
  for (const kind of ["root-key-recovery", "share-resplit", "key-destruction"]) {
    const d = path.join(tmp, kind);
    await rehearseFrom({ scriptPath: script(kind), fromDir: g, outDir: d });
    fs.copyFileSync(path.join(d, "bundle.json"), path.join(OUT, "valid", `rehearsal-${kind}.bundle.json`));
    manifest.push({ file: `valid/rehearsal-${kind}.bundle.json`, expect: "complete", rule: "§7.6", description: `a real ${kind} rehearsal from the generation above` });
  }
  // §8: the report vectors (report-vectors.ts renders them again alone when only the renderer changes).
  await writeReportVectors(fs.readFileSync(path.join(g, "bundle.json")), write);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

manifest.sort((a, b) => a.file.localeCompare(b.file));
fs.writeFileSync(path.join(OUT, "manifest.json"), `${JSON.stringify({ format: "custos-test-vectors", transcriptFormat: 2, vectors: manifest }, null, 2)}\n`);
console.log(`${manifest.length} vectors written to ${OUT}`);
