// Issue 11 through the app service, as the private view drives it: a wrong PIN, a card copied wrongly
// at its check right after the hand-out (that one card void and re-issued, not the whole backup), an
// exception written while a step waits for its attestation (the step's entry is chained after it),
// leaving and resuming: every one an entry, and the bundle intact and complete. The room display's
// state never carries a share.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dispatch } from "../../electron/core/app/dispatch";
import { createAppService } from "../../electron/core/app/service";
import type { SessionState } from "../../electron/core/app/service";
import { bundleToJson, exportBundle } from "../../electron/core/transcript/bundle";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { verifyAnyFile } from "../../electron/core/source";
import { exitStatus } from "../../electron/core/transcript/verify/index";
import { ROOT } from "../helpers/files";
import { StateRoom, value } from "../helpers/state-room";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("deviations and exceptions from the room", () => {
  it("records a wrong PIN, a void and re-issued card, an exception during an attestation, leaving and resuming; the room's state has no share", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-room-dev-"));
    dirs.push(dataDir);
    const svc = createAppService({ dataDir, resourcesDir: ROOT, kdfCost: "test", attestWindowMs: 0, networkInterfaces: () => [{ name: "lo", state: "unknown", loopback: true, addresses: ["127.0.0.1/8"] }] });
    const call = (c: string, p: unknown) => dispatch(svc.handlers, c, p);
    try {
      const started = await value<SessionState>(call("ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal", custodians: 3, threshold: 2 }));
      const id = started.ceremony!.id;
      const room = new StateRoom(call, { custodians: 3, soPin: "87654321", userPin: "12345678" });
      const once = { pin: true, miscopy: true, exception: true, leave: true };
      const roomStates: string[] = [];
      room.beforeAnswer = async (p, s) => {
        roomStates.push(JSON.stringify(await value<SessionState>(call("session:state", { surface: "room" }))));
        if (p.kind === "pin" && p.purpose === "login" && p.role === "user" && once.pin) {
          once.pin = false;
          await value(call("session:answer", { promptId: p.id, value: { pin: "99999999" } }));
          return "skip";
        }
        if (p.kind === "reenter-share" && p.justHandedOut && once.miscopy) {
          // Another custodian's card: refused, so this card is void and the same share is handed out again.
          const other = [...room.shares.entries()].find(([n]) => n !== p.custodian.name);
          if (!other) return "answer";
          once.miscopy = false;
          const words = other[1];
          await value(call("session:answer", { promptId: p.id, value: { share: words.join(" ") } }));
          return "skip";
        }
        if (p.kind === "passphrase" && s.step?.id === "air-gap" && once.exception) {
          once.exception = false;
          const witness = s.ceremony!.participants.find((x) => x.roles.includes("Internal witness"))!;
          // Wrong passphrase first: refused, nothing recorded.
          const bad = await call("session:exception", { text: "The camera lost focus for a minute.", witnessId: witness.id, passphrase: "not the passphrase at all" });
          expect(bad).toMatchObject({ ok: false, code: "ATTEST_WRONG_PASSPHRASE" });
          const after = await value<SessionState>(call("session:exception", { text: "The camera lost focus for a minute.", witnessId: witness.id, passphrase: "internal-witness 1 passphrase 2026" }));
          expect(after.lastEntry!.signedBy).toEqual([{ name: witness.name, roles: ["Internal witness"] }]);
          return "answer";
        }
        if (p.kind === "hand-out-share" && p.card.index === 2 && once.leave) {
          once.leave = false;
          expect(await call("session:close", {})).toMatchObject({ ok: false, code: "LEAVE_CARDS_OUT" });
          await value(call("session:close", { confirmed: true }));
          await value(call("ceremony:resume", { ceremonyId: id }));
          return "skip";
        }
        return "answer";
      };
      for (let i = 0; i < 40; i++) {
        const s = await room.runStep();
        if (s.ceremony?.done) break;
      }
      const store = TranscriptStore.openReadOnly(path.join(dataDir, "transcript.sqlite"));
      let entries;
      try {
        entries = store.entries(id);
        const bundle = exportBundle(store, id);
        const f = path.join(dataDir, "b.json");
        fs.writeFileSync(f, bundleToJson(bundle));
        const verdict = await verifyAnyFile(f);
        expect(JSON.stringify(verdict.fileFailure ?? verdict.ceremonies[0]?.failure ?? null).slice(0, 600)).toBe("null");
        expect(exitStatus(verdict)).toBe(0);
      } finally {
        store.close();
      }
      const kinds = entries.filter((e) => e.body.action === "deviation").map((e) => e.body.inputs.kind);
      for (const k of ["wrong-pin", "share-check-failed", "card-void", "card-reissued", "left", "resumed"]) expect(kinds).toContain(k);
      const wrongPin = entries.find((e) => e.body.inputs.kind === "wrong-pin")!;
      expect(wrongPin.body.inputs).toMatchObject({ pinRole: "user", wrongAttempts: 1 });
      expect(JSON.stringify(entries)).not.toContain("99999999");
      const voided = entries.find((e) => e.body.inputs.kind === "card-void")!;
      expect(voided.body.inputs).toMatchObject({ card: 1, reason: expect.stringContaining("did not match") });
      // The exception was appended while the air-gap step waited for the witness; its entry comes right after.
      const exc = entries.findIndex((e) => e.body.action === "exception");
      expect(entries[exc + 1]!.body.action).toBe("air-gap-check");
      expect(entries[exc + 1]!.body.prevHash).toBe(entries[exc]!.entryHash);
      // Not one share word ever reached the room display's state.
      const words = [...room.shares.values()].flat();
      expect(words.length).toBe(96);
      for (const st of roomStates) for (const h of room.shares.values()) expect(st.includes(h.slice(0, 3).join('","'))).toBe(false);
    } finally {
      svc.close();
    }
  }, 240_000);
});
