/**
 * Shared by the transcript*.test.ts files: a small but complete generation
 * ceremony (open, enrol two participants, generate a P-384 root key, a
 * checklist, seal signed by the root key) written to a real SQLite file.
 */
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GENESIS_HASH,
  TranscriptStore,
  attestationMessage,
  bodyHash,
  deriveAttestationKey,
  newKdfParams,
  sha256Hex,
  type AttestationKey,
  type CeremonyMeta,
  type EntryBody,
  type Json,
  type KdfParams,
  type Signature,
} from "../../electron/core/transcript/index";

export const SCRIPT_TEXT = `id: root-key-generation
version: "1.0"
title: Root key generation (test)
steps:
  - id: open-ceremony
    action: checklist
  - id: enrol
    action: enrol-participants
  - id: generate-root-key
    action: generate-key-pair
  - id: bag-shares
    action: checklist
  - id: seal
    action: seal-transcript
`;

export const CEREMONY_ID = "c-2025-001";

export interface Participant {
  id: string;
  name: string;
  roles: string[];
  kdf: KdfParams;
  key: AttestationKey;
}

export interface RootKey {
  privateKey: KeyObject;
  spki: string;
}

export function tempDir(prefix = "custos-transcript-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function makeParticipant(id: string, name: string, roles: string[]): Participant {
  const kdf = newKdfParams("test");
  return { id, name, roles, kdf, key: deriveAttestationKey(`${name} correct horse battery staple`, kdf) };
}

export function makeRootKey(): RootKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  return { privateKey, spki: publicKey.export({ format: "der", type: "spki" }).toString("base64") };
}

export function participantSignature(p: Participant, body: EntryBody): Signature {
  return {
    signer: p.id,
    kind: "participant",
    algorithm: "Ed25519",
    publicKey: p.key.publicKey,
    signature: p.key.sign(attestationMessage(bodyHash(body))),
  };
}

export function rootSignature(root: RootKey, body: EntryBody): Signature {
  const sig = nodeSign("sha384", attestationMessage(bodyHash(body)), { key: root.privateKey, dsaEncoding: "ieee-p1363" });
  return { signer: "root-key", kind: "root-key", algorithm: "ECDSA-SHA384", publicKey: root.spki, signature: sig.toString("base64") };
}

export function makeMeta(scriptText = SCRIPT_TEXT, id = CEREMONY_ID): Omit<CeremonyMeta, "status"> {
  return {
    id,
    scriptId: "root-key-generation",
    scriptVersion: "1.0",
    scriptTitle: "Root key generation (test)",
    scriptSha256: sha256Hex(scriptText),
    scriptText,
    mode: "rehearsal",
    createdAt: "2025-03-01T09:00:00.000Z",
  };
}

export interface StepSpec {
  stepId: string;
  action: string;
  inputs?: { [key: string]: Json };
  outputs?: { [key: string]: Json };
  requiredSigners?: string[];
  /** participant ids that sign; defaults to requiredSigners */
  signers?: string[];
  rootSigns?: boolean;
}

/** Appends one step through the real store API, signing as told. */
export function appendStep(store: TranscriptStore, ceremonyId: string, spec: StepSpec, people: Map<string, Participant>, root?: RootKey) {
  const head = store.head(ceremonyId);
  const seq = head ? head.seq + 1 : 1;
  const body: EntryBody = {
    v: 1,
    ceremonyId,
    seq,
    stepId: spec.stepId,
    action: spec.action,
    inputs: spec.inputs ?? {},
    outputs: spec.outputs ?? {},
    requiredSigners: spec.requiredSigners ?? [],
    timestamp: new Date(Date.UTC(2025, 2, 1, 9, seq)).toISOString(),
    prevHash: head ? head.entryHash : GENESIS_HASH,
  };
  const sigs: Signature[] = (spec.signers ?? spec.requiredSigners ?? []).map((id) => participantSignature(people.get(id)!, body));
  if (spec.rootSigns) sigs.push(rootSignature(root!, body));
  return store.appendEntry(body, sigs);
}

export interface Fixture {
  dbPath: string;
  meta: Omit<CeremonyMeta, "status">;
  alice: Participant;
  bob: Participant;
  people: Map<string, Participant>;
  root: RootKey;
  steps: StepSpec[];
}

export function standardSteps(alice: Participant, bob: Participant, root: RootKey, mode = "rehearsal", scriptText = SCRIPT_TEXT): StepSpec[] {
  const enrolled = [alice, bob].map((p) => ({ id: p.id, name: p.name, roles: p.roles, publicKey: p.key.publicKey, kdf: { ...p.kdf } }));
  return [
    { stepId: "open-ceremony", action: "checklist", inputs: { room: "B-12", doorSealSerial: "TE-0042" }, outputs: { scriptSha256: sha256Hex(scriptText), mode } },
    { stepId: "enrol", action: "enrol-participants", outputs: { participants: enrolled }, requiredSigners: ["alice", "bob"] },
    {
      stepId: "generate-root-key",
      action: "generate-key-pair",
      inputs: { algorithm: "EC-P384" },
      outputs: { rootKey: { spki: root.spki, algorithm: "EC-P384", label: `custos-${CEREMONY_ID}` } },
      requiredSigners: ["alice", "bob"],
    },
    { stepId: "bag-shares", action: "checklist", inputs: { bagSerials: ["A-100", "A-101"], ok: true, count: 2 }, requiredSigners: ["alice"], signers: ["alice", "bob"] },
    { stepId: "seal", action: "seal-transcript", requiredSigners: ["alice", "bob"], rootSigns: true },
  ];
}

/** Writes the standard sealed, closed ceremony to dir/transcript.sqlite. */
export function buildFixture(dir = tempDir()): Fixture {
  const alice = makeParticipant("alice", "Alice Adams", ["custodian"]);
  const bob = makeParticipant("bob", "Bob Brown", ["witness"]);
  const root = makeRootKey();
  const people = new Map([alice, bob].map((p) => [p.id, p] as const));
  const meta = makeMeta();
  const dbPath = join(dir, "transcript.sqlite");
  const store = TranscriptStore.open(dbPath);
  store.createCeremony(meta);
  const steps = standardSteps(alice, bob, root);
  for (const s of steps) appendStep(store, meta.id, s, people, root);
  store.setStatus(meta.id, "closed");
  store.close();
  return { dbPath, meta, alice, bob, people, root, steps };
}
