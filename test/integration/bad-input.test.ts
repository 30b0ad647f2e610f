import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkedCardPath } from "../../electron/core/app/service";
import { UiDriver } from "../../electron/core/app/ui-driver";
import { FileHandles } from "../../electron/core/app/file-handles";
import { PromptBroker } from "../../electron/core/app/prompts";
import { CustosError } from "../../electron/core/errors";
import { toHsmError } from "../../electron/core/hsm";
import { SimulatedRoom } from "../../electron/core/rehearse/simulated-room";
import { verdictOf } from "../helpers/verdict";
import { Ceremony, makeRoom, type TestRoom } from "../helpers/room";

let room: TestRoom | undefined;
afterEach(() => {
  room?.cleanup();
  room = undefined;
});

describe("bad input gets a clear error and loses nothing", () => {
  it("a token removed between steps stops the next step by name; re-attached, the ceremony resumes and verifies", async () => {
    room = makeRoom();
    const first = Ceremony.start(room.deps(), room.loaded, { mode: "rehearsal" });
    for (let i = 0; i < 6; i++) await first.runNextStep(); // through token initialisation
    first.close();
    const away = `${room.token.tokenDir}.away`;
    fs.renameSync(room.token.tokenDir, away);
    fs.mkdirSync(room.token.tokenDir);
    const second = Ceremony.resume(room.deps(), first.id);
    const err = (await second.runNextStep().catch((e: unknown) => e)) as CustosError;
    second.close();
    expect(err.code).toBe("HSM_TOKEN_REMOVED");
    expect(err.message).toMatch(/Step 7 of 16.*token with serial \S+ is not attached/);
    expect(err.hint).toMatch(/Re-attach the token/);
    fs.rmSync(room.token.tokenDir, { recursive: true });
    fs.renameSync(away, room.token.tokenDir);
    const third = Ceremony.resume(room.deps(), first.id);
    expect(third.completedSteps).toBe(6);
    await third.runToEnd();
    third.close();
    expect((await verdictOf(room.dbPath)).complete).toBe(true);
  });

  it.each([
    ["CKR_MECHANISM_INVALID", "HSM_MECHANISM_UNSUPPORTED", /does not support the mechanism/],
    ["CKR_PIN_LOCKED", "HSM_PIN_LOCKED", /locked this PIN/],
    ["CKR_DEVICE_REMOVED", "HSM_TOKEN_REMOVED", /removed/],
    ["CKR_KEY_UNEXTRACTABLE", "HSM_KEY_NOT_WRAPPABLE", /non-extractable/],
    ["CKR_FUNCTION_FAILED", "HSM_ERROR", /CKR_FUNCTION_FAILED/],
  ])("PKCS#11 %s becomes %s with a plain message", (ckr, code, re) => {
    const e = toHsmError(new Error(`${ckr}:${123}`), "Doing the thing");
    expect(e.code).toBe(code);
    expect(e.message).toMatch(re);
    expect(e.message.startsWith("Doing the thing:")).toBe(true);
    expect(e.hint.length).toBeGreaterThan(10);
  });

  it.each(["../escape.pem", "/etc/passwd", "sub/dir.pem", ".hidden", "..", ""])("an artifact named %j is refused, in rehearsal and in the app", async (name) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-art-"));
    try {
      const sim = new SimulatedRoom({ outDir: dir, people: [], soPin: "1", userPin: "2", renderShareCard: async () => Buffer.alloc(0) });
      await expect(sim.saveArtifact(name, Buffer.from("x"))).rejects.toThrowError(CustosError);
      const ui = new UiDriver(new PromptBroker(() => {}), () => dir, () => [], { files: new FileHandles(), print: async () => "", mode: "rehearsal" });
      await expect(ui.saveArtifact(name, Buffer.from("x"))).rejects.toThrowError(CustosError);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a share card is never saved inside the app's folder, over a file, or to a relative path", () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), "custos-data-"));
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "custos-usb-"));
    try {
      expect(() => checkedCardPath(path.join(data, "card.pdf"), data)).toThrowError(/never stored in Custos's own folders/);
      expect(() => checkedCardPath(path.join(data, "..", path.basename(data), "x", "card.pdf"), data)).toThrowError(/own folders/);
      expect(() => checkedCardPath("card.pdf", data)).toThrowError(/full path/);
      expect(() => checkedCardPath(path.join(elsewhere, "card.txt"), data)).toThrowError(/\.pdf/);
      fs.writeFileSync(path.join(elsewhere, "taken.pdf"), "x");
      expect(() => checkedCardPath(path.join(elsewhere, "taken.pdf"), data)).toThrowError(/does not overwrite/);
      expect(checkedCardPath(path.join(elsewhere, "card.pdf"), data)).toBe(path.join(elsewhere, "card.pdf"));
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe("SoftHSM token files left broken by a kill (rehearsal tokens)", () => {
  it("restores an emptied token.object from its copy, removes a cut-off initialisation, and leaves a token holding objects alone", async () => {
    const { SoftHsmTokenGuard } = await import("../../electron/core/hsm");
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "custos-guard-"));
    try {
      const tokens = path.join(base, "tokens");
      const copies = path.join(base, "copies");
      const mk = (id: string, token: string | null, others: string[] = []) => {
        fs.mkdirSync(path.join(tokens, id), { recursive: true });
        if (token !== null) fs.writeFileSync(path.join(tokens, id, "token.object"), token);
        for (const o of others) fs.writeFileSync(path.join(tokens, id, o), "key");
      };
      mk("good", "TOKEN-good", ["a.object"]);
      const guard = new SoftHsmTokenGuard(tokens, copies);
      guard.snapshot();
      fs.writeFileSync(path.join(tokens, "good", "token.object"), ""); // a kill inside C_Login
      mk("cutoff", ""); // a kill inside C_InitToken
      mk("nofile", null);
      mk("mystery", "", ["b.object"]); // objects but no copy: not ours to touch
      const done = guard.repair();
      expect(done.sort()).toEqual(["cutoff (cut-off initialisation) removed", "good restored", "nofile (cut-off initialisation) removed"]);
      expect(fs.readFileSync(path.join(tokens, "good", "token.object"), "utf8")).toBe("TOKEN-good");
      expect(fs.existsSync(path.join(tokens, "cutoff"))).toBe(false);
      expect(fs.existsSync(path.join(tokens, "mystery", "b.object"))).toBe(true);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
