import { describe, expect, it } from "vitest";
import { PromptBroker } from "../../electron/core/app/prompts";
import { hashWords } from "../../electron/core/app/words";

const step = { index: 0, total: 1, id: "s", title: "S" };

describe("prompt broker", () => {
  it("resolves with a valid answer and clears the prompt (and any share words in it)", async () => {
    let changes = 0;
    const b = new PromptBroker(() => changes++);
    const p = b.ask(step, { kind: "hand-out-share", card: { ceremonyId: "c", keyFingerprint: "f", index: 1, total: 3, threshold: 2, custodianName: "A", words: ["abandon"], wordCount: 1, commitmentShort: "x", issue: 1 }, handOut: "choose", revealSeconds: 60 });
    const q = b.current()!;
    expect(q.kind).toBe("hand-out-share");
    b.answer(q.id, { confirmed: true });
    await expect(p).resolves.toEqual({ confirmed: true });
    expect(b.current()).toBeNull();
    expect(changes).toBe(2);
  });

  it("refuses an answer of the wrong shape or for a stale prompt, and keeps the prompt open", () => {
    const b = new PromptBroker(() => {});
    void b.ask(step, { kind: "pin", role: "user", purpose: "login", token: null });
    const q = b.current()!;
    expect(() => b.answer(q.id, { pin: 1234 })).toThrowError(/pin/);
    expect(() => b.answer(q.id, { pin: "1234", extra: true })).toThrowError();
    expect(() => b.answer("q999", { pin: "1234" })).toThrowError(/no longer open/);
    expect(b.current()?.id).toBe(q.id);
  });

  it("cancel rejects the pending question as abandoned", async () => {
    const b = new PromptBroker(() => {});
    const p = b.ask(step, { kind: "passphrase", participant: { id: "p01", name: "A", roles: [] }, secret: "passphrase" });
    b.cancel("left");
    await expect(p).rejects.toThrowError(/left/);
  });
});

describe("head hash words", () => {
  it("gives four list words, stable for a hash and different for another", () => {
    const a = hashWords("ab".repeat(32));
    expect(a).toHaveLength(4);
    expect(hashWords("ab".repeat(32))).toEqual(a);
    expect(hashWords("ac".repeat(32))).not.toEqual(a);
  });
});
