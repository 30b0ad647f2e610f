/**
 * Builds transcripts of the shipped ceremony scripts from scratch, with
 * software keys (Ed25519 participants, an EC P-384 root key), so test
 * vectors can break exactly one rule of docs/transcript-format.md while every
 * other rule still holds (everything re-signed and re-chained). Not used by
 * the product: real ceremonies come from the engine and a real HSM.
 */
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from "node:crypto";
import fs from "node:fs";
import Database from "better-sqlite3";
import { loadScriptFile } from "../../electron/core/script/load";
import type { CeremonyScript } from "../../electron/core/script/schema";
import { canonicalJson, sha256Hex } from "../../electron/core/transcript/canonical";
import { attestationMessage, bodyHash, entryHash, sortSignatures } from "../../electron/core/transcript/chain";
import { deriveAttestationKey, newKdfParams, type AttestationKey, type KdfParams } from "../../electron/core/transcript/identity";
import { certificateRequest, crlFor, issueFor, otherRoot, rootCertificate, rootProof } from "./signing-builder";
import { CertificateProfileSchema } from "../../electron/core/script/profile";
import { readRevocationList } from "../../electron/core/transcript/verify/revocation-list";
import { inputSubjectAndKey } from "../../electron/core/transcript/verify/x509-der";
import { CUSTOS_APPLICATION_ID, MIGRATIONS } from "../../electron/core/transcript/migrations";
import { GENESIS_HASH, TRANSCRIPT_FORMAT_VERSION, type Bundle, type CeremonyMeta, type EntryBody, type Json, type Signature } from "../../electron/core/transcript/types";

export interface Person {
  id: string;
  name: string;
  roles: string[];
  kdf: KdfParams;
  key: AttestationKey;
  passphrase: string;
  sourceId?: string;
  /** §2.4a: this person signs with a P-256 key on their own token instead of a passphrase key. */
  token?: { privateKey: KeyObject; spki: string; serial: string };
}

/** Gives a person a key on their "own token" (a software P-256 key standing in for one). */
export function withTokenKey(p: Person, serial: string): Person {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...p, token: { privateKey, spki: publicKey.export({ format: "der", type: "spki" }).toString("base64"), serial } };
}

export interface Spec {
  stepId: string;
  action: string;
  inputs: { [k: string]: Json };
  outputs: { [k: string]: Json };
  /** Participant ids that sign (and are listed in requiredSigners unless `required` says otherwise). */
  signers: string[];
  required?: string[];
  rootSign?: boolean;
  /** Signatures added as they are (already made), e.g. by a stranger. */
  extra?: Signature[];
}

export interface Plan {
  script: CeremonyScript;
  text: string;
  sha256: string;
  meta: CeremonyMeta;
  people: Person[];
  root: { privateKey: KeyObject; spki: string; fingerprint: string };
  specs: Spec[];
  settings: { algorithm: string; threshold: number; shares: number };
}

const BASE_TIME = Date.parse("2026-11-30T09:00:00.000Z");
export const timeOf = (i: number) => new Date(BASE_TIME + i * 61_000).toISOString();

const NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Emmy Noether", "Kurt Goedel", "Hedy Lamarr", "Claude Shannon", "Joan Clarke", "John Nash", "Rosalind Franklin", "Carl Gauss", "Sofia Kovalevskaya"];

/** A person with a cheap (test-cost) scrypt key. */
export function makePerson(id: string, name: string, roles: string[]): Person {
  const kdf = newKdfParams("test");
  const passphrase = `${name} walks the quiet harbour`;
  return { id, name, roles, kdf, key: deriveAttestationKey(passphrase, kdf), passphrase };
}

export function makeRootKey() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const der = publicKey.export({ format: "der", type: "spki" });
  return { privateKey, spki: der.toString("base64"), fingerprint: sha256Hex(der) };
}

function holdersFor(script: CeremonyScript, custodians: number): Array<{ role: string; count: number }> {
  return script.roles.map((r) => ({ role: r.id, count: r.id === "custodian" || r.id === "new-custodian" ? custodians : Math.max(r.min, r.id === "auditor" ? 1 : 0) }));
}

/** Signers of one attest list: the first holder (one), all, or the first `threshold` (quorum). */
export function signersOf(attest: CeremonyScript["steps"][number]["attest"], people: Person[], threshold: number): string[] {
  const out: string[] = [];
  for (const a of attest) {
    const h = people.filter((p) => p.roles.includes(a.role));
    const pick = a.who === "all" ? h : a.who === "quorum" ? h.slice(0, threshold) : h.slice(0, 1);
    for (const p of pick) if (!out.includes(p.id)) out.push(p.id);
  }
  return out;
}

/** A complete, valid plan for a shipped script: every step, every signature the script asks for. */
export async function planCeremony(scriptPath: string, o: { mode?: "rehearsal" | "production"; custodians?: number; threshold?: number; id?: string; tokenHolders?: string[] } = {}): Promise<Plan> {
  const loaded = loadScriptFile(scriptPath);
  const script = loaded.script;
  const custodians = o.custodians ?? 3;
  const settings = { algorithm: "EC-P384", threshold: o.threshold ?? 2, shares: custodians };
  const people: Person[] = [];
  for (const { role, count } of holdersFor(script, custodians)) {
    for (let k = 0; k < count; k++) {
      const id = `p${String(people.length + 1).padStart(2, "0")}`;
      const person = makePerson(id, NAMES[people.length % NAMES.length]!, [role]);
      people.push(o.tokenHolders?.includes(id) ? withTokenKey(person, `serial-${id}`) : person);
    }
  }
  const root = makeRootKey();
  const rootCert = await rootCertificate(root, "Vector Root CA", new Date(BASE_TIME));
  const inputsMade = new Map<string, { pem: string; spki: Buffer; bytes: Buffer }>();
  const id = o.id ?? `${script.id}-2026-11-30-v3ct0r`;
  const meta: CeremonyMeta = {
    id,
    scriptId: script.id,
    scriptVersion: script.version,
    scriptTitle: script.title,
    scriptSha256: loaded.sha256,
    scriptText: loaded.text,
    mode: o.mode ?? "rehearsal",
    status: "closed",
    createdAt: timeOf(0),
  };
  const enrolIdx = script.steps.findIndex((s) => s.action === "enrol-participants");
  const sourceRoles = ((script.steps[enrolIdx]!.params as { sourceRoles?: string[] }).sourceRoles ?? []) as string[];
  const sourced = people.filter((p) => p.roles.some((r) => sourceRoles.includes(r)));
  sourced.forEach((p, k) => (p.sourceId = `p${String(k + 10).padStart(2, "0")}`));
  const specs: Spec[] = [
    {
      stepId: script.steps[0]!.id,
      action: "open-ceremony",
      inputs: {},
      outputs: { scriptId: script.id, scriptVersion: script.version, scriptSha256: loaded.sha256, mode: meta.mode, settings, software: { name: "custos-vectors", version: "2" } },
      signers: [],
    },
  ];
  for (const step of script.steps) {
    const spec: Spec = { stepId: step.id, action: step.action, inputs: {}, outputs: {}, signers: signersOf(step.attest, people, settings.threshold) };
    switch (step.action) {
      case "enrol-participants":
        spec.outputs = {
          participants: people.map((p) => ({
            id: p.id,
            name: p.name,
            roles: p.roles,
            ...(p.token
              ? { publicKey: p.token.spki, token: { serial: p.token.serial, label: `${p.name}'s token`, model: "SoftHSM v2", algorithm: "ECDSA-SHA256" } }
              : { publicKey: p.key.publicKey, kdf: { ...p.kdf } }),
            ...(p.sourceId ? { sourceId: p.sourceId } : {}),
          })),
        };
        spec.signers = [...new Set([...people.map((p) => p.id), ...spec.signers])];
        break;
      case "load-source-ceremony":
        spec.outputs = {
          source: { ceremonyId: "root-key-generation-2026-11-01-50urce", head: "a".repeat(64), sealed: true },
          sourceRootKey: { algorithm: "EC-P384", spki: root.spki, fingerprint: root.fingerprint, label: "custos-root-source" },
          sourceCertificate: { pem: rootCert.pem, sha256: rootCert.sha256 },
          sourceBackup: { threshold: settings.threshold, total: custodians },
          sourceCustodians: sourced.map((p, k) => ({ id: p.sourceId!, name: p.name, publicKey: p.key.publicKey, kdf: { ...p.kdf }, shareIndex: k + 1 })),
        };
        break;
      case "generate-key-pair":
      case "collect-shares-and-restore":
        spec.outputs = { rootKey: { label: `custos-root-${id}`, algorithm: "EC-P384", spki: root.spki, fingerprint: root.fingerprint } };
        break;
      case "checklist":
        spec.inputs = { confirmedItems: ["The room is secured."] };
        break;
      case "hsm-preflight": {
        const side = (step.params as { side?: string }).side ?? "generate";
        const ids =
          side === "generate"
            ? ["mechanisms:wrap", "trusted-kek", "wrap:EC-P384", "untrusted-refused:EC-P384", "restore:EC-P384"]
            : side === "restore"
              ? ["mechanisms:wrap", "restore:EC-P384", "untrusted-refused:EC-P384"]
              : ["root-template:EC-P384", "sign:EC-P384", "untrusted-refused:EC-P384"];
        spec.inputs = { side, algorithm: "EC-P384" };
        spec.outputs = {
          preflight: {
            fit: true,
            side,
            algorithmsChecked: ["EC-P384"],
            algorithmsPassed: ["EC-P384"],
            wrapMechanism: side === "sign" ? null : { code: 0x210a, name: "CKM_AES_KEY_WRAP_PAD" },
            checks: ids.map((cid) => ({ id: cid, title: cid, status: "pass", detail: "vector" })),
            reasons: [],
          },
        };
        break;
      }
      case "self-sign-certificate":
        spec.outputs = { certificate: { pem: rootCert.pem, sha256: rootCert.sha256 } };
        break;
      case "prove-root-key":
        spec.outputs = { rootKey: { label: `custos-root-source`, algorithm: "EC-P384", spki: root.spki, fingerprint: root.fingerprint }, proof: rootProof(root, id, root.privateKey) };
        break;
      case "load-input": {
        const p = step.params as { name: string; kind: string };
        const made =
          p.kind === "certificate-request"
            ? await certificateRequest("Vector Intermediate CA")
            : p.kind === "certificate"
              ? await otherRoot("Vector Other Root CA", new Date(BASE_TIME))
              : { pem: "0a1b2c keyCompromise\n1234 superseded\n", spki: Buffer.alloc(0) };
        const bytes = Buffer.from(made.pem);
        inputsMade.set(p.name, { ...made, bytes });
        spec.outputs = { input: { name: p.name, kind: p.kind, sha256: sha256Hex(bytes), bytes: bytes.length, content: bytes.toString("base64") } };
        break;
      }
      case "sign-certificate":
      case "cross-certify": {
        const p = step.params as { input: string; output: string; profile: unknown };
        const made = inputsMade.get(p.input)!;
        const subject = inputSubjectAndKey(made.bytes, step.action === "sign-certificate" ? "certificate-request" : "certificate")!.subject;
        const certificate = await issueFor(root, rootCert.pem, subject, made.spki, new Date(BASE_TIME), { profile: CertificateProfileSchema.parse(p.profile) });
        spec.inputs = { input: p.input, inputSha256: sha256Hex(made.bytes) };
        spec.outputs = { certificate, files: [{ name: p.output, sha256: sha256Hex(Buffer.from(certificate.pem)), bytes: Buffer.byteLength(certificate.pem) }] };
        break;
      }
      case "issue-crl": {
        const p = step.params as { input: string; output: string; nextUpdateDays: number };
        const made = inputsMade.get(p.input)!;
        const read = readRevocationList(made.bytes);
        if ("problem" in read) throw new Error(read.problem);
        const crl = await crlFor(root, rootCert.pem, read.list, new Date(BASE_TIME), { nextUpdateDays: p.nextUpdateDays });
        spec.inputs = { input: p.input, inputSha256: sha256Hex(made.bytes) };
        spec.outputs = { crl, files: [{ name: p.output, sha256: sha256Hex(Buffer.from(crl.pem)), bytes: Buffer.byteLength(crl.pem) }] };
        break;
      }
    }
    specs.push(spec);
  }
  return { script, text: loaded.text, sha256: loaded.sha256, meta, people, root, specs, settings };
}

/** Marks the seal for the root key's signature where the plan has one on the token; fills sealedEntries. */
function finalise(plan: Plan, specs: Spec[]): Spec[] {
  const hasRoot = (upTo: number) => specs.slice(0, upTo).some((s) => ["generate-key-pair", "collect-shares-and-restore", "prove-root-key"].includes(s.action));
  return specs.map((s, i) => (s.action === "seal-transcript" ? { ...s, outputs: { sealedEntries: i, ...s.outputs }, rootSign: s.rootSign ?? hasRoot(i) } : s));
}

/** Signs, chains and packs a plan's specs into a bundle; `tweak` may edit each body before it is signed. */
export function assemble(plan: Plan, specs: Spec[] = plan.specs, tweak?: (body: EntryBody, i: number) => void): Bundle {
  const people = new Map(plan.people.map((p) => [p.id, p]));
  const entries: Bundle["entries"] = [];
  let prev = GENESIS_HASH;
  finalise(plan, specs).forEach((s, i) => {
    const body: EntryBody = {
      v: TRANSCRIPT_FORMAT_VERSION,
      ceremonyId: plan.meta.id,
      seq: i + 1,
      stepId: s.stepId,
      action: s.action,
      // Copies: a tweak must never reach the plan shared by other vectors.
      inputs: structuredClone(s.inputs),
      outputs: structuredClone(s.outputs),
      requiredSigners: s.required ?? s.signers,
      timestamp: timeOf(i),
      prevHash: prev,
    };
    tweak?.(body, i);
    const bh = bodyHash(body);
    const msg = attestationMessage(bh);
    const sigs: Signature[] = s.signers.map((id) => {
      const p = people.get(id)!;
      if (p.token) {
        return { signer: p.id, kind: "participant", algorithm: "ECDSA-SHA256", publicKey: p.token.spki, signature: nodeSign("sha256", msg, { key: p.token.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64") };
      }
      return { signer: p.id, kind: "participant", algorithm: "Ed25519", publicKey: p.key.publicKey, signature: p.key.sign(msg) };
    });
    if (s.rootSign) {
      sigs.push({ signer: "root-key", kind: "root-key", algorithm: "ECDSA-SHA384", publicKey: plan.root.spki, signature: nodeSign("sha384", msg, { key: plan.root.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64") });
    }
    sigs.push(...(s.extra ?? []));
    const sorted = sortSignatures(sigs);
    const eh = entryHash(bh, sorted);
    entries.push({ body, bodyHash: bh, signatures: sorted, entryHash: eh });
    prev = eh;
  });
  const last = entries[entries.length - 1];
  const status = last?.body.action === "seal-transcript" ? "closed" : last?.body.action === "abort" ? "aborted" : "open";
  return { format: "custos-transcript-bundle", version: TRANSCRIPT_FORMAT_VERSION, ceremony: { ...plan.meta, status }, entries, head: last ? last.entryHash : GENESIS_HASH };
}

/** §4.2 file text. */
export function bundleText(b: unknown): string {
  return `${canonicalJson(b)}\n`;
}

/** Writes bundles into a new SQLite transcript exactly as §4.1 stores them (rows written directly, no checks). */
export function writeSqlite(path: string, bundles: Bundle[], extraSql = "", encoding: "UTF-8" | "UTF-16le" = "UTF-8"): void {
  if (fs.existsSync(path)) fs.rmSync(path);
  const db = new Database(path);
  try {
    // Only before the first table: SQLite fixes a database's text encoding then.
    db.pragma(`encoding = '${encoding}'`);
    db.pragma("journal_mode = DELETE");
    db.exec(MIGRATIONS[MIGRATIONS.length - 1]!.sql);
    db.pragma(`user_version = ${MIGRATIONS[MIGRATIONS.length - 1]!.version}`);
    db.pragma(`application_id = ${CUSTOS_APPLICATION_ID}`);
    const ic = db.prepare("INSERT INTO ceremonies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const ie = db.prepare("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const b of bundles) {
      const c = b.ceremony;
      ic.run(c.id, c.scriptId, c.scriptVersion, c.scriptTitle, c.scriptSha256, c.scriptText, c.mode, c.status, c.createdAt);
      for (const e of b.entries) ie.run(c.id, e.body.seq, e.body.stepId, e.body.action, canonicalJson(e.body), e.bodyHash, canonicalJson(e.signatures), e.entryHash);
    }
    if (extraSql) db.exec(extraSql);
  } finally {
    db.close();
  }
}
