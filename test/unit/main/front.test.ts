// The main process's front: dialogs answered in main, handles minted by the
// host, everything else forwarded after the shared schema check.
import { describe, expect, it, vi } from "vitest";
import { createFront, type DialogRequest, type FrontDeps } from "../../../electron/main/front";

function deps(over: Partial<FrontDeps> = {}) {
  const host = {
    call: vi.fn(async (c: string, p: unknown) => ({ ok: true as const, value: { forwarded: c, payload: p } })),
    grant: vi.fn(async (path: string, purpose: string) => ({ ok: true as const, value: { handle: `f_${"1".repeat(32)}`, name: path.split("/").at(-1), purpose } })),
    finishedFolder: vi.fn((): string | null => null),
  };
  const d: FrontDeps = {
    host,
    showOpen: vi.fn(async (_r: DialogRequest): Promise<string | null> => "/media/usb/transcript.sqlite"),
    showSave: vi.fn(async (_r: DialogRequest): Promise<string | null> => "/media/usb/card"),
    openFolder: vi.fn(async () => ""),
    ...over,
  };
  return { d, host, front: createFront(d) };
}

describe("front", () => {
  it("gives the room display's window the secret-free state only, whatever it asks, and lets it do nothing else", async () => {
    const { host, front } = deps();
    expect(await front("session:state", { since: 3, surface: "private" }, "room")).toEqual({ ok: true, value: { forwarded: "session:state", payload: { since: 3, surface: "room" } } });
    for (const [c, p] of [
      ["session:answer", { promptId: "q1", value: { confirmed: true } }],
      ["session:share-card", { action: "print" }],
      ["session:run-step", {}],
      ["file:save", { purpose: "share-card" }],
      // The production HSM is checked, chosen and forgotten on the private view only.
      ["hsm:check", { module: "/usr/lib/softhsm/libsofthsm2.so", userPin: "1234" }],
      ["hsm:choose", { module: "/usr/lib/softhsm/libsofthsm2.so" }],
      ["hsm:forget", {}],
    ] as const) {
      expect(await front(c, p, "room")).toMatchObject({ ok: false, code: "IPC_ROOM_READ_ONLY" });
    }
    expect(host.call).toHaveBeenCalledTimes(1);
    // The private view's window asks as it likes.
    expect(await front("session:state", { surface: "private" }, "private")).toEqual({ ok: true, value: { forwarded: "session:state", payload: { surface: "private" } } });
  });

  it("shows an Open dialog in main and returns only a handle and a name", async () => {
    const { d, host, front } = deps();
    const r = await front("file:open", { purpose: "verify" });
    expect(r).toEqual({ ok: true, value: { handle: `f_${"1".repeat(32)}`, name: "transcript.sqlite", purpose: "verify" } });
    expect(d.showOpen).toHaveBeenCalledWith(expect.objectContaining({ purpose: "verify", filters: [expect.objectContaining({ extensions: ["sqlite", "json", "pdf"] })] }));
    expect(host.grant).toHaveBeenCalledWith("/media/usb/transcript.sqlite", "verify");
    expect(host.call).not.toHaveBeenCalled();
  });

  it("adds .pdf to a Save dialog's answer without an extension, and answers null when cancelled", async () => {
    const { host, front } = deps();
    await front("file:save", { purpose: "share-card" });
    expect(host.grant).toHaveBeenCalledWith("/media/usb/card.pdf", "share-card");
    const cancelled = deps({ showSave: async () => null });
    expect(await cancelled.front("file:save", { purpose: "report" })).toEqual({ ok: true, value: null });
    expect(cancelled.host.grant).not.toHaveBeenCalled();
  });

  it.each([
    ["file:open", { purpose: "anything" }],
    ["file:open", { purpose: "verify", path: "/etc/passwd" }],
    ["file:save", { purpose: "verify" }],
    ["report:open-folder", { dir: "/" }],
  ])("refuses %s %j before any dialog", async (channel, payload) => {
    const { d, front } = deps();
    expect(await front(channel, payload)).toMatchObject({ ok: false, code: "IPC_INVALID_PAYLOAD" });
    expect(d.showOpen).not.toHaveBeenCalled();
    expect(d.showSave).not.toHaveBeenCalled();
  });

  it("opens the folder of a finished ceremony only", async () => {
    const { d, host, front } = deps();
    expect(await front("report:open-folder", {})).toMatchObject({ ok: false, code: "CEREMONY_NOT_DONE" });
    host.finishedFolder.mockReturnValue("/data/ceremonies/c1");
    expect(await front("report:open-folder", {})).toEqual({ ok: true, value: { opened: true } });
    expect(d.openFolder).toHaveBeenCalledWith("/data/ceremonies/c1");
  });

  it("forwards the core's channels with the parsed payload, and unknown channels nowhere", async () => {
    const { host, front } = deps();
    expect(await front("session:state", { since: 3 })).toEqual({ ok: true, value: { forwarded: "session:state", payload: { since: 3 } } });
    expect(await front("fs:read", { path: "/etc/passwd" })).toMatchObject({ ok: false, code: "IPC_UNKNOWN_CHANNEL" });
    expect(host.call).toHaveBeenCalledOnce();
  });
});
