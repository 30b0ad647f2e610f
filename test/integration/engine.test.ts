import crypto from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { CustosError } from "../../electron/core/errors";
import { rootKeyLabel } from "../../electron/core/hsm";
import type { Driver, StepView } from "../../electron/core/engine/types";
import { verdictOf } from "../helpers/verdict";
import { Ceremony, crashing, makeRoom, type TestRoom } from "../helpers/room";

let room: TestRoom | undefined;
afterEach(() => {
  room?.cleanup();
  room = undefined;
});

function stepsRecorded(r: TestRoom, id: string) {
  const d = r.deps();
  // Script steps only: the opening entry, exceptions and deviations are not steps.
  const ids = d.store.entries(id).filter((e) => !["open-ceremony", "exception", "deviation", "abort"].includes(e.body.action)).map((e) => e.body.stepId);
  d.store.close();
  return ids;
}

function tokenObjects(r: TestRoom, label: string) {
  const hsm = r.deps().openHsm();
  try {
    const t = hsm.tokens().find((x) => x.initialized)!;
    const s = hsm.openSession(t.serial);
    s.login("user", r.userPin);
    const objs = s.listObjects(label);
    s.close();
    return objs;
  } finally {
    hsm.close();
  }
}

describe("ceremony engine on a real token and a real transcript", () => {
  it("runs the generation script step by step; each step is one entry, in script order", async () => {
    room = makeRoom();
    const c = Ceremony.start(room.deps(), room.loaded, { mode: "rehearsal" });
    expect(c.currentStep()?.step.id).toBe("opening");
    await c.runToEnd();
    expect(c.done).toBe(true);
    expect(c.currentStep()).toBeNull();
    c.close();
    expect(stepsRecorded(room, c.id)).toEqual(room.loaded.script.steps.map((s) => s.id));
    const v = await verdictOf(room.dbPath);
    expect(v.complete).toBe(true);
    await expect(c.runNextStep()).rejects.toThrowError(/complete/);
  });

  it("resumes at the first unfinished step after a crash in the middle of the backup; no step lost or repeated", async () => {
    room = makeRoom();
    const first = Ceremony.start(
      room.deps({ wrap: (d) => crashing(d, (m, a) => m === "handOutShare" && (a[1] as { index: number }).index === 3) }),
      room.loaded,
      { mode: "rehearsal" },
    );
    await expect(first.runToEnd()).rejects.toThrowError(/Step 10 of 16.*simulated power cut/);
    first.close();
    expect(stepsRecorded(room, first.id)).toHaveLength(9);

    const again = Ceremony.resume(room.deps(), first.id);
    expect(again.currentStep()?.step.id).toBe("backup");
    await again.runToEnd();
    again.close();
    expect(stepsRecorded(room, first.id)).toEqual(room.loaded.script.steps.map((s) => s.id));
    expect((await verdictOf(room.dbPath)).complete).toBe(true);
    // The KEK of the interrupted run was a session object: nothing is left on the token.
    expect(tokenObjects(room, `custos:${first.id}:kek`)).toHaveLength(0);
    expect(tokenObjects(room, rootKeyLabel(first.id))).toHaveLength(2);
  });

  it("a key generated but not recorded (crash before the entry) is found by its label, destroyed and recorded, not duplicated", async () => {
    room = makeRoom();
    // Crash while the generate step collects attestations: the key exists, the entry does not.
    const first = Ceremony.start(
      room.deps({ wrap: (d) => crashing(d, (m, a) => m === "passphrase" && (a[0] as StepView).step.id === "generate-root-key"), attestWindowMs: 0 }),
      room.loaded,
      { mode: "rehearsal" },
    );
    await expect(first.runToEnd()).rejects.toThrowError(/Step 8 of 16.*simulated power cut/);
    first.close();
    expect(tokenObjects(room, rootKeyLabel(first.id))).toHaveLength(2);

    const again = Ceremony.resume(room.deps(), first.id);
    const gen = await again.runNextStep();
    again.close();
    expect(gen.body.stepId).toBe("generate-root-key");
    expect((gen.body.outputs.orphansDestroyed as unknown[]).length).toBe(2);
    const objs = tokenObjects(room, rootKeyLabel(first.id));
    expect(objs).toHaveLength(2);
    expect(objs.map((o) => o.class).sort()).toEqual(["private", "public"]);
  });

  it("a production ceremony refuses to continue while a non-loopback interface is up; a rehearsal records it", async () => {
    room = makeRoom();
    const eth = [{ name: "eth0", state: "up", loopback: false, addresses: ["192.0.2.10/24"] }];
    const prod = Ceremony.start(room.deps({ networkInterfaces: () => eth }), room.loaded, { mode: "production" });
    await prod.runNextStep();
    await prod.runNextStep();
    const err = (await prod.runNextStep().catch((e: unknown) => e)) as CustosError;
    expect(err).toBeInstanceOf(CustosError);
    expect(err.code).toBe("AIRGAP_VIOLATION");
    expect(err.message).toMatch(/eth0 \(up, 192\.0\.2\.10\/24\)/);
    expect(prod.completedSteps).toBe(2);
    prod.close();

    const reh = Ceremony.start(room.deps({ networkInterfaces: () => eth }), room.loaded, { mode: "rehearsal" });
    await reh.runNextStep();
    await reh.runNextStep();
    const e = await reh.runNextStep();
    expect(e.body.outputs.violations).toEqual(["eth0"]);
    expect(String(e.body.outputs.verdict)).toMatch(/NOT air-gapped/);
    reh.close();
  });

  it("a wrong PIN is reported with the attempts left and the step succeeds with the right one", async () => {
    room = makeRoom();
    const seen: CustosError[] = [];
    let wrongOnce = true;
    const c = Ceremony.start(
      room.deps({
        wrap: (d) => ({
          ...bind(d),
          async pin(v, req) {
            if (req.error) seen.push(req.error);
            if (req.purpose === "login" && req.role === "user" && wrongOnce) {
              wrongOnce = false;
              return "00000000";
            }
            return d.pin(v, { ...req, error: undefined });
          },
        }),
      }),
      room.loaded,
      { mode: "rehearsal" },
    );
    for (let i = 0; i < 7; i++) await c.runNextStep();
    c.close();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.code).toBe("HSM_PIN_INCORRECT");
    expect(seen[0]!.hint).toMatch(/2 more attempts/);
  });

  it("a wrong passphrase at attestation is refused by name and asked again; enrolment breaking separation of duties is refused", async () => {
    room = makeRoom();
    const errors: string[] = [];
    let wrong = 1;
    let badEnrol = true;
    const c = Ceremony.start(
      room.deps({
        attestWindowMs: 0,
        wrap: (d) => ({
          ...bind(d),
          async enrol(v, roles, error) {
            if (error) errors.push(error.code + ": " + error.message);
            const people = await d.enrol(v, roles);
            if (badEnrol) {
              badEnrol = false;
              return people.map((p, i) => (i === 0 ? { ...p, roles: [...p.roles, "custodian"] } : p));
            }
            return people;
          },
          async passphrase(v, p, error) {
            if (error) errors.push(error.code + ": " + error.message);
            if (v.step.id === "air-gap" && wrong-- > 0) return "not the passphrase at all";
            return d.passphrase(v, p);
          },
        }),
      }),
      room.loaded,
      { mode: "rehearsal" },
    );
    for (let i = 0; i < 3; i++) await c.runNextStep();
    c.close();
    expect(errors[0]).toMatch(/^ENROL_SEPARATION: .* cannot be both ceremony-administrator and custodian/);
    expect(errors.some((e) => /^ATTEST_WRONG_PASSPHRASE: That is not .*'s enrolled passphrase/.test(e))).toBe(true);
  });

  it("records an exception as a signed entry of the current step, refuses one not written by a witness, and still verifies", async () => {
    room = makeRoom();
    const c = Ceremony.start(room.deps(), room.loaded, { mode: "rehearsal" });
    await c.runNextStep();
    await c.runNextStep();
    const witness = c.enrolled().find((p) => p.roles.includes("internal-witness"))!;
    const admin = c.enrolled().find((p) => p.roles.includes("ceremony-administrator"))!;
    await expect(c.recordException("the camera stopped", admin.id)).rejects.toThrowError(/internal witness/i);
    const e = await c.recordException("the camera stopped for 2 minutes; restarted at 10:42", witness.id);
    expect(e.body).toMatchObject({ action: "exception", stepId: "air-gap", inputs: { text: "the camera stopped for 2 minutes; restarted at 10:42" }, requiredSigners: [witness.id] });
    expect(c.currentStep()?.step.id).toBe("air-gap");
    await c.runToEnd();
    c.close();
    expect((await verdictOf(room.dbPath)).complete).toBe(true);
  });

  it("refuses settings the script does not allow before anything is recorded", () => {
    room = makeRoom();
    const d = room.deps();
    expect(() => Ceremony.start(d, room!.loaded, { mode: "rehearsal", algorithm: "RSA-1024" })).toThrowError(/not allowed/);
    expect(() => Ceremony.start(d, room!.loaded, { mode: "rehearsal", threshold: 6, shares: 5 })).toThrowError(/not possible/);
    expect(d.store.listCeremonies()).toHaveLength(0);
  });

  it("records an RSA-3072 root when asked, and the seal verifies", async () => {
    room = makeRoom("root-key-generation.yaml", 3);
    const c = Ceremony.start(room.deps(), room.loaded, { mode: "rehearsal", algorithm: "RSA-3072", shares: 3, threshold: 2 });
    await c.runToEnd();
    c.close();
    const v = await verdictOf(room.dbPath);
    expect(v.complete).toBe(true);
    const d = room.deps();
    const gen = d.store.entries(c.id).find((e) => e.body.action === "generate-key-pair")!;
    expect((gen.body.outputs.rootKey as { algorithm: string }).algorithm).toBe("RSA-3072");
    const seal = d.store.entries(c.id).at(-1)!;
    expect(seal.signatures.find((s) => s.kind === "root-key")!.algorithm).toBe("RSA-PKCS1-SHA256");
    expect(crypto.createPublicKey({ key: Buffer.from((gen.body.outputs.rootKey as { spki: string }).spki, "base64"), format: "der", type: "spki" }).asymmetricKeyType).toBe("rsa");
  });
});

/** The driver's methods bound to it, so a test can override a few. */
function bind(d: Driver): Driver {
  const out: Record<string, unknown> = {};
  for (const k of ["checklist", "enrol", "passphrase", "chooseSigners", "chooseToken", "pin", "handOutShare", "reenterShare", "saveArtifact"] as const) {
    out[k] = (d[k] as (...a: unknown[]) => unknown).bind(d);
  }
  return out as unknown as Driver;
}
