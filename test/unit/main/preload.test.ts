// The preload is the renderer's only door: exactly one global with exactly
// one function, forwarding to the one IPC channel and nothing else.
import { beforeAll, describe, expect, it, vi } from "vitest";
import { IPC_CHANNEL } from "../../../electron/shared/ipc";
import { electronModule } from "./electron-mock";

vi.mock("electron", async () => (await import("./electron-mock")).electronModule);

describe("preload", () => {
  beforeAll(async () => {
    await import("../../../electron/preload/index");
  });

  it("exposes exactly one global, custos, with exactly one function, invoke", () => {
    const expose = electronModule.contextBridge.exposeInMainWorld;
    expect(expose).toHaveBeenCalledOnce();
    const [name, api] = expose.mock.calls[0] as unknown as [string, Record<string, unknown>];
    expect(name).toBe("custos");
    expect(Object.keys(api)).toEqual(["invoke"]);
    expect(typeof api.invoke).toBe("function");
  });

  it("does not hand ipcRenderer (or any of its methods) to the renderer", () => {
    const [, api] = electronModule.contextBridge.exposeInMainWorld.mock.calls[0] as unknown as [string, Record<string, unknown>];
    for (const v of Object.values(api)) {
      expect(v).not.toBe(electronModule.ipcRenderer);
      expect(Object.values(electronModule.ipcRenderer)).not.toContain(v);
    }
  });

  it("forwards invoke to ipcRenderer.invoke on the shared IPC channel and returns its answer", async () => {
    const [, api] = electronModule.contextBridge.exposeInMainWorld.mock.calls[0] as unknown as [string, { invoke: (c: string, p: unknown) => Promise<unknown> }];
    electronModule.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, value: 7 });
    await expect(api.invoke("app:info", {})).resolves.toEqual({ ok: true, value: 7 });
    expect(electronModule.ipcRenderer.invoke).toHaveBeenCalledExactlyOnceWith(IPC_CHANNEL, "app:info", {});
    expect(electronModule.ipcRenderer.send).not.toHaveBeenCalled();
    expect(electronModule.ipcRenderer.on).not.toHaveBeenCalled();
  });
});
