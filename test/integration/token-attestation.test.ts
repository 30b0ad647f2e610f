/**
 * Issue 16, item 3: participants who sign with a key on their own PKCS#11
 * token (docs/transcript-format.md §2.4a). Separate SoftHSM2 tokens stand in
 * for the administrator's and the witness's smart cards: the ceremony
 * verifies with their ECDSA signatures, and a token whose key is swapped after
 * the enrolment cannot attest (and a transcript signed so does not verify:
 * test/vectors/invalid/token-key-swapped.bundle.json).
 */
import { afterEach, describe, expect, it } from "vitest";
import { tool } from "../helpers/files";
import { Ceremony, makeRoom, type TestRoom } from "../helpers/room";
import { verdictOf } from "../helpers/verdict";

let room: TestRoom | undefined;
afterEach(() => {
  room?.cleanup();
  room = undefined;
});

/** Makes a personal token (its own slot in the room's SoftHSM) with an EC P-256 key pair labelled "attest"; returns its serial. */
function personalToken(r: TestRoom, label: string, pin: string): string {
  const env = { SOFTHSM2_CONF: r.token.configPath };
  const mod = ["--module", r.token.modulePath];
  const slots = tool("pkcs11-tool", [...mod, "-L"], env);
  // The free slot is the one whose token is not initialised yet.
  const free = [...slots.matchAll(/Slot (\d+) \(0x[0-9a-f]+\):[\s\S]*?(?=Slot \d+ \(|$)/g)].find((m) => /token state:\s+uninitialized/.test(m[0]));
  expect(free, slots).toBeDefined();
  const index = Number(free![1]);
  tool("pkcs11-tool", [...mod, "--slot-index", String(index), "--init-token", "--label", label, "--so-pin", "87654321"], env);
  tool("pkcs11-tool", [...mod, "--token-label", label, "--login", "--login-type", "so", "--so-pin", "87654321", "--init-pin", "--pin", pin], env);
  keypair(r, label, pin);
  const info = tool("pkcs11-tool", [...mod, "-L"], env);
  const block = info.split(/\n(?=Slot \d+)/).find((b) => new RegExp(`token label\\s*:\\s*${label}\\b`).test(b))!;
  return /serial num\s*:\s*(\S+)/.exec(block)![1]!;
}

function keypair(r: TestRoom, label: string, pin: string): void {
  tool("pkcs11-tool", ["--module", r.token.modulePath, "--token-label", label, "--login", "--pin", pin, "--keypairgen", "--key-type", "EC:prime256v1", "--label", "attest", "--id", "a1"], { SOFTHSM2_CONF: r.token.configPath });
}

function withTokens(r: TestRoom): { admin: string; witness: string } {
  const admin = r.people.find((p) => p.roles.includes("ceremony-administrator"))!;
  const witness = r.people.find((p) => p.roles.includes("internal-witness"))!;
  admin.token = { serial: personalToken(r, "admin-card", "1111"), keyLabel: "attest", pin: "1111" };
  witness.token = { serial: personalToken(r, "witness-card", "2222"), keyLabel: "attest", pin: "2222" };
  return { admin: admin.name, witness: witness.name };
}

describe("attestation keys on the participants' own tokens (§2.4a)", () => {
  it("a generation where the administrator and the witness sign with their own tokens verifies; their keys and tokens are on the record", async () => {
    room = makeRoom("root-key-generation.yaml", 3);
    const names = withTokens(room);
    const c = Ceremony.start(room.deps(), room.loaded, { mode: "rehearsal", shares: 3, threshold: 2 });
    await c.runToEnd();
    c.close();
    const v = await verdictOf(room.dbPath);
    expect(v.status, JSON.stringify(v.ceremony?.failure)).toBe(0);
    const d = room.deps();
    const entries = d.store.entries(c.id);
    d.store.close();
    const enrolled = entries.find((e) => e.body.action === "enrol-participants")!.body.outputs.participants as Array<{ id: string; name: string; token?: { serial: string; algorithm: string }; kdf?: unknown }>;
    for (const name of [names.admin, names.witness]) {
      const p = enrolled.find((x) => x.name === name)!;
      expect(p.token).toMatchObject({ algorithm: "ECDSA-SHA256", label: "attest", model: expect.any(String) });
      expect(p.kdf).toBeUndefined();
      const sigs = entries.flatMap((e) => e.signatures).filter((s) => s.signer === p.id);
      expect(sigs.length).toBeGreaterThan(3);
      expect(new Set(sigs.map((s) => s.algorithm))).toEqual(new Set(["ECDSA-SHA256"]));
    }
    // Everyone else kept a passphrase key.
    expect(enrolled.filter((p) => p.kdf).length).toBe(enrolled.length - 2);
  }, 180_000);

  it("a witness token whose key was swapped after the enrolment cannot attest: the step stops and nothing is recorded", async () => {
    room = makeRoom("root-key-generation.yaml", 3);
    withTokens(room);
    const c = Ceremony.start(room.deps({ attestWindowMs: 0 }), room.loaded, { mode: "rehearsal", shares: 3, threshold: 2 });
    await c.runNextStep(); // opening
    await c.runNextStep(); // attendance: the witness's token key is enrolled
    // The card is replaced by one with another key under the same label.
    const env = { SOFTHSM2_CONF: room.token.configPath };
    for (const type of ["privkey", "pubkey"]) {
      tool("pkcs11-tool", ["--module", room.token.modulePath, "--token-label", "witness-card", "--login", "--pin", "2222", "--delete-object", "--type", type, "--label", "attest"], env);
    }
    keypair(room, "witness-card", "2222");
    const before = c.transcript().length;
    await expect(c.runNextStep()).rejects.toThrowError(/no longer holds the key this participant enrolled with/);
    expect(c.transcript().length).toBe(before);
    c.close();
  }, 180_000);
});
