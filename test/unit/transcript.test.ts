import { generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  GENESIS_HASH,
  LATEST_SCHEMA_VERSION,
  TranscriptStore,
  attestationMessage,
  bodyHash,
  canonicalJson,
  decodeBase64Strict,
  deriveAttestationKey,
  entryHash,
  keyFingerprint,
  newKdfParams,
  sha256Hex,
  verifyEd25519,
  verifySignature,
  type Bundle,
  type CeremonyMeta,
  type EntryBody,
  type Signature,
} from "../../electron/core/transcript/index";
import { CUSTOS_APPLICATION_ID } from "../../electron/core/transcript/migrations";
import { assemble, makePerson, planCeremony } from "../vectors/builder";
import { GENERATION_SCRIPT, tempDir } from "./transcript-fixture";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe("canonicalJson", () => {
  it("matches the RFC 8785 example", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts keys by UTF-16 code units and prints -0 as 0", () => {
    expect(canonicalJson({ b: 1, a: [-0, "x"], A: null, "\u00e9": 1, z: { d: 1, c: 2 } })).toBe('{"A":null,"a":[0,"x"],"b":1,"z":{"c":2,"d":1},"é":1}');
  });

  it.each([
    ["undefined property", { a: undefined }],
    ["undefined in array", [1, undefined]],
    ["NaN", { n: Number.NaN }],
    ["Infinity", [Number.POSITIVE_INFINITY]],
    ["function", { f: () => 1 }],
    ["bigint", { b: 10n }],
    ["symbol", { s: Symbol("x") }],
    ["top-level undefined", undefined],
  ])("refuses %s", (_name, value) => {
    expect(codeOf(() => canonicalJson(value))).toBe("CANONICAL_JSON");
  });

  it("refuses cycles but accepts shared references", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(codeOf(() => canonicalJson(a))).toBe("CANONICAL_JSON");
    const shared = { x: 1 };
    expect(canonicalJson({ p: shared, q: shared })).toBe('{"p":{"x":1},"q":{"x":1}}');
  });

  it("hashes with SHA-256", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(new Uint8Array([0x61, 0x62, 0x63]))).toBe(sha256Hex("abc"));
  });
});

describe("attestation identity", () => {
  const kdf = newKdfParams("test");

  it("derives the same key from the same passphrase and salt, a different one from another salt", () => {
    const a = deriveAttestationKey("a long enough passphrase", kdf);
    const b = deriveAttestationKey("a long enough passphrase", { ...kdf });
    const c = deriveAttestationKey("a long enough passphrase", newKdfParams("test"));
    expect(a.publicKey).toBe(b.publicKey);
    expect(c.publicKey).not.toBe(a.publicKey);
    expect(decodeBase64Strict(a.publicKey)).toHaveLength(32);
    expect(a.fingerprint).toMatch(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);
    expect(a.fingerprint).toBe(keyFingerprint(a.publicKey));
  });

  it("treats composed and decomposed accents as the same passphrase", () => {
    const nfc = deriveAttestationKey("café crème brûlée", kdf);
    const nfd = deriveAttestationKey("café crème brûlée".normalize("NFD"), kdf);
    expect(nfd.publicKey).toBe(nfc.publicKey);
  });

  it("refuses passphrases shorter than 12 characters", () => {
    expect(codeOf(() => deriveAttestationKey("elevenchars", kdf))).toBe("PASSPHRASE_TOO_SHORT");
    expect(codeOf(() => deriveAttestationKey("twelve chars", kdf))).toBeUndefined();
  });

  it("refuses damaged KDF parameters", () => {
    expect(codeOf(() => deriveAttestationKey("twelve chars!", { ...kdf, salt: "zz" }))).toBe("KDF_PARAMS_INVALID");
    expect(codeOf(() => deriveAttestationKey("twelve chars!", { ...kdf, N: 1000 }))).toBe("KDF_PARAMS_INVALID");
  });

  it("signs, verifies, and stops signing once disposed", () => {
    const key = deriveAttestationKey("a long enough passphrase", kdf);
    const msg = attestationMessage("ab".repeat(32));
    const sig = key.sign(msg);
    expect(verifyEd25519(key.publicKey, msg, sig)).toBe(true);
    expect(verifyEd25519(key.publicKey, attestationMessage("cd".repeat(32)), sig)).toBe(false);
    const other = deriveAttestationKey("another long passphrase", kdf);
    expect(verifyEd25519(other.publicKey, msg, sig)).toBe(false);
    expect(verifyEd25519(key.publicKey, msg, "not base64!")).toBe(false);
    expect(verifyEd25519("AAAA", msg, sig)).toBe(false);
    key.dispose();
    expect(codeOf(() => key.sign(msg))).toBe("ATTESTATION_KEY_LOCKED");
  });

  it("uses the interactive cost (N=2^17, r=8) without exceeding scrypt's memory cap", () => {
    const params = newKdfParams();
    expect(params).toMatchObject({ algorithm: "scrypt", N: 2 ** 17, r: 8, p: 1 });
    expect(params.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(deriveAttestationKey("an interactive passphrase", params).publicKey).toHaveLength(44);
  });

  it("accepts only the exact base64 encoding", () => {
    expect(decodeBase64Strict("AA==")).toEqual(Buffer.from([0]));
    expect(decodeBase64Strict("AB==")).toBeUndefined();
    expect(decodeBase64Strict("AA=")).toBeUndefined();
    expect(decodeBase64Strict("A A=")).toBeUndefined();
  });
});

describe("hash chain", () => {
  const body: EntryBody = {
    v: 2,
    ceremonyId: "c",
    seq: 1,
    stepId: "s",
    action: "checklist",
    inputs: {},
    outputs: {},
    requiredSigners: [],
    timestamp: "2025-01-01T00:00:00.000Z",
    prevHash: GENESIS_HASH,
  };

  it("binds the attestation message to its context and the body hash (§2.2)", () => {
    expect(Buffer.from(attestationMessage(bodyHash(body))).toString("utf8")).toBe(`custos-attestation-v2\n${bodyHash(body)}`);
    expect(attestationMessage(bodyHash(body)).length).toBe(86);
    expect(bodyHash(body)).toBe(sha256Hex(canonicalJson(body)));
  });

  it("hashes signatures in the one sorted order, and their content", () => {
    const alice = makePerson("p01", "Alice", []);
    const bob = makePerson("p02", "Bob", []);
    const sign = (p: typeof alice): Signature => ({ signer: p.id, kind: "participant", algorithm: "Ed25519", publicKey: p.key.publicKey, signature: p.key.sign(attestationMessage(bodyHash(body))) });
    const sa = sign(alice);
    const sb = sign(bob);
    const h = bodyHash(body);
    expect(entryHash(h, [sa, sb])).toBe(entryHash(h, [sb, sa]));
    expect(entryHash(h, [sa])).not.toBe(entryHash(h, [sa, sb]));
    expect(entryHash(h, [sa, { ...sb, signature: sa.signature }])).not.toBe(entryHash(h, [sa, sb]));
  });

  it("verifies root-key signatures of every supported algorithm", () => {
    const msg = attestationMessage(bodyHash(body));
    const cases: Array<[Signature["algorithm"], ReturnType<typeof generateKeyPairSync>, string | null]> = [
      ["ECDSA-SHA256", generateKeyPairSync("ec", { namedCurve: "P-256" }), "sha256"],
      ["ECDSA-SHA384", generateKeyPairSync("ec", { namedCurve: "P-384" }), "sha384"],
      ["ECDSA-SHA512", generateKeyPairSync("ec", { namedCurve: "P-521" }), "sha512"],
      ["RSA-PKCS1-SHA256", generateKeyPairSync("rsa", { modulusLength: 3072 }), "sha256"],
      ["Ed25519", generateKeyPairSync("ed25519"), null],
    ];
    for (const [algorithm, pair, hash] of cases) {
      const sig = nodeSign(hash, msg, { key: pair.privateKey, dsaEncoding: "ieee-p1363" });
      const s: Signature = {
        signer: "root-key",
        kind: "root-key",
        algorithm,
        publicKey: pair.publicKey.export({ format: "der", type: "spki" }).toString("base64"),
        signature: sig.toString("base64"),
      };
      expect(verifySignature(s, msg), algorithm).toBe(true);
      expect(verifySignature(s, attestationMessage("00".repeat(32))), algorithm).toBe(false);
      const flipped = Buffer.from(sig);
      flipped[flipped.length - 1]! ^= 1;
      expect(verifySignature({ ...s, signature: flipped.toString("base64") }, msg), algorithm).toBe(false);
      // §2.3: a participant signs with Ed25519 (passphrase) or ECDSA-SHA256/384 (own token, §2.4a), never otherwise.
      const participantMayUse = algorithm === "ECDSA-SHA256" || algorithm === "ECDSA-SHA384";
      expect(verifySignature({ ...s, kind: "participant" }, msg), algorithm).toBe(participantMayUse);
    }
    // An algorithm must fit the key: ECDSA-SHA256 over a P-384 key, or RSA under 3072 bits, is refused.
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const p384spki = p384.publicKey.export({ format: "der", type: "spki" }).toString("base64");
    const sha256OverP384 = nodeSign("sha256", msg, { key: p384.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64");
    expect(verifySignature({ signer: "root-key", kind: "root-key", algorithm: "ECDSA-SHA256", publicKey: p384spki, signature: sha256OverP384 }, msg)).toBe(false);
    const rsa2048 = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const rsaSig = nodeSign("sha256", msg, rsa2048.privateKey).toString("base64");
    expect(verifySignature({ signer: "root-key", kind: "root-key", algorithm: "RSA-PKCS1-SHA256", publicKey: rsa2048.publicKey.export({ format: "der", type: "spki" }).toString("base64"), signature: rsaSig }, msg)).toBe(false);
    // A DER-encoded ECDSA signature is not what PKCS#11 returns and is not accepted.
    const ec = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const der = nodeSign("sha384", msg, ec.privateKey);
    const spki = ec.publicKey.export({ format: "der", type: "spki" }).toString("base64");
    expect(verifySignature({ signer: "root-key", kind: "root-key", algorithm: "ECDSA-SHA384", publicKey: spki, signature: der.toString("base64") }, msg)).toBe(false);
    // Wrong hash for the algorithm label.
    const p1363 = nodeSign("sha384", msg, { key: ec.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64");
    expect(verifySignature({ signer: "root-key", kind: "root-key", algorithm: "ECDSA-SHA256", publicKey: spki, signature: p1363 }, msg)).toBe(false);
  });
});

describe("TranscriptStore", () => {
  let bundle: Bundle;
  let meta: Omit<CeremonyMeta, "status" | "createdAt">;
  let opening: EntryBody;
  beforeAll(async () => {
    bundle = assemble(await planCeremony(GENERATION_SCRIPT));
    const { status: _s, createdAt: _c, ...m } = bundle.ceremony;
    meta = m;
    opening = bundle.entries[0]!.body;
  });

  it("creates the schema of §4.1 with the current user_version and durable pragmas", () => {
    const path = join(tempDir(), "t.sqlite");
    const store = TranscriptStore.open(path);
    const db = (store as unknown as { db: Database.Database }).db;
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL
    expect(db.pragma("secure_delete", { simple: true })).toBe(1);
    expect(db.pragma("user_version", { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    expect(LATEST_SCHEMA_VERSION).toBe(2);
    expect(db.pragma("application_id", { simple: true })).toBe(CUSTOS_APPLICATION_ID);
    expect(store.schemaProblem()).toBeUndefined();
    store.close();
  });

  it("writes the header and the opening entry together, the header taken from the entry", () => {
    const path = join(tempDir(), "t.sqlite");
    const s1 = TranscriptStore.open(path);
    s1.createCeremony(meta, opening);
    s1.close();
    const s2 = TranscriptStore.open(path);
    expect(s2.listCeremonies()).toHaveLength(1);
    const row = s2.getCeremony(meta.id)!;
    expect(row.status).toBe("open");
    expect(row.createdAt).toBe(opening.timestamp);
    expect(s2.head(meta.id)).toEqual({ seq: 1, entryHash: bundle.entries[0]!.entryHash });
    expect(codeOf(() => s2.createCeremony(meta, opening))).toBe("CEREMONY_EXISTS");
    // A header never exists without its opening entry: a refused entry leaves no header behind.
    expect(codeOf(() => s2.createCeremony({ ...meta, id: "other" }, opening))).toBe("INTERNAL");
    expect(s2.getCeremony("other")).toBeUndefined();
    s2.close();
  });

  it("refuses a transcript from a newer Custos, the unreleased format 1, a non-SQLite file and another program's database", () => {
    const dir = tempDir();
    const newer = join(dir, "newer.sqlite");
    TranscriptStore.open(newer).close();
    const raw = new Database(newer);
    raw.pragma("user_version = 99");
    raw.close();
    expect(codeOf(() => TranscriptStore.open(newer))).toBe("TRANSCRIPT_TOO_NEW");
    expect(codeOf(() => TranscriptStore.openReadOnly(newer))).toBe("TRANSCRIPT_TOO_NEW");
    const older = join(dir, "older.sqlite");
    TranscriptStore.open(older).close();
    const raw1 = new Database(older);
    raw1.pragma("user_version = 1");
    raw1.close();
    expect(codeOf(() => TranscriptStore.open(older))).toBe("TRANSCRIPT_UNREADABLE");

    const text = join(dir, "notes.sqlite");
    writeFileSync(text, "these are not the droids you are looking for\n".repeat(10));
    expect(codeOf(() => TranscriptStore.open(text))).toBe("TRANSCRIPT_UNREADABLE");

    const other = join(dir, "other.sqlite");
    const o = new Database(other);
    o.exec("CREATE TABLE stuff (x)");
    o.close();
    expect(codeOf(() => TranscriptStore.open(other))).toBe("TRANSCRIPT_UNREADABLE");
    expect(codeOf(() => TranscriptStore.openReadOnly(other))).toBe("TRANSCRIPT_UNREADABLE");
  });

  it("appends entries, refuses a wrong sequence number or previous hash, and keeps the head", () => {
    const store = TranscriptStore.open(join(tempDir(), "t.sqlite"));
    store.createCeremony(meta, opening);
    const second = bundle.entries[1]!;
    expect(codeOf(() => store.appendEntry({ ...second.body, seq: 3 }, second.signatures))).toBe("TRANSCRIPT_CHAIN");
    expect(codeOf(() => store.appendEntry({ ...second.body, seq: 1 }, second.signatures))).toBe("TRANSCRIPT_CHAIN");
    expect(codeOf(() => store.appendEntry({ ...second.body, prevHash: GENESIS_HASH }, second.signatures))).toBe("TRANSCRIPT_CHAIN");
    // A typed text with an unpaired surrogate would make an entry no verifier accepts (§1): refused before anything is written.
    expect(codeOf(() => store.appendEntry({ ...second.body, inputs: { ...second.body.inputs, note: "pasted \ud800" } }, second.signatures))).toBe("TEXT_NOT_STORABLE");
    expect(store.head(meta.id)!.seq).toBe(1);
    const stored = store.appendEntry(second.body, second.signatures);
    expect(stored.entryHash).toBe(second.entryHash);
    expect(store.head(meta.id)).toEqual({ seq: 2, entryHash: second.entryHash });
    expect(store.entries(meta.id)[1]!.bodyJson).toBe(canonicalJson(second.body));
    store.close();
  });

  it("refuses bad signatures, missing required signers, fractions, and anything after the seal; the seal closes the header", () => {
    const store = TranscriptStore.open(join(tempDir(), "t.sqlite"));
    store.createCeremony(meta, opening);
    for (const e of bundle.entries.slice(1, 2)) store.appendEntry(e.body, e.signatures);
    const enrol = bundle.entries[2]!;
    expect(codeOf(() => store.appendEntry(enrol.body, enrol.signatures.slice(1)))).toBe("TRANSCRIPT_SIGNATURE");
    const other = bundle.entries[3]!;
    expect(codeOf(() => store.appendEntry(enrol.body, [{ ...enrol.signatures[0]!, signature: other.signatures[0]!.signature }]))).toBe("TRANSCRIPT_SIGNATURE");
    expect(codeOf(() => store.appendEntry({ ...enrol.body, outputs: { ...enrol.body.outputs, x: 1.5 } }, enrol.signatures))).toBe("TRANSCRIPT_ENTRY_INVALID");
    expect(codeOf(() => store.appendEntry({ ...enrol.body, inputs: { x: undefined as never } }, enrol.signatures))).toBe("TRANSCRIPT_ENTRY_INVALID");
    for (const e of bundle.entries.slice(2)) store.appendEntry(e.body, e.signatures);
    expect(store.getCeremony(meta.id)!.status).toBe("closed");
    const next = { ...opening, seq: bundle.entries.length + 1, prevHash: bundle.head };
    expect(codeOf(() => store.appendEntry(next, []))).toBe("TRANSCRIPT_NOT_OPEN");
    store.close();
  });

  it("keeps a committed entry when the process dies without closing (WAL, synchronous FULL); evidence reads leave nothing behind", () => {
    const dir = tempDir();
    const path = join(dir, "t.sqlite");
    const store = TranscriptStore.open(path);
    store.createCeremony(meta, opening);
    // Not closed: the entry lives in the -wal file, as after a power cut.
    expect(existsSync(`${path}-wal`)).toBe(true);
    const before = readdirSync(dir).sort();
    const reader = TranscriptStore.openReadOnly(path);
    expect(reader.head(meta.id)).toEqual({ seq: 1, entryHash: bundle.entries[0]!.entryHash });
    reader.close();
    expect(readdirSync(dir).sort()).toEqual(before);
    store.close();
    expect(readdirSync(dir).sort()).toEqual(["t.sqlite"]);
  });
});
