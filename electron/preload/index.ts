/**
 * The sandboxed preload: exposes exactly one global, window.custos, with one
 * function. The renderer never sees ipcRenderer (which would let it send on
 * any channel or listen to any message); main validates everything it gets.
 */
import { contextBridge, ipcRenderer } from "electron";
import type { CustosApi, IPC_CHANNEL as SHARED_IPC_CHANNEL } from "../shared/ipc";

// Typed as the shared constant's literal type, so tsc fails if the two ever
// differ; importing the value instead would bundle zod (the channel schemas)
// into the preload.
const IPC_CHANNEL: typeof SHARED_IPC_CHANNEL = "custos:invoke";

const api: CustosApi = {
  invoke: (channel, payload) => ipcRenderer.invoke(IPC_CHANNEL, channel, payload),
};

contextBridge.exposeInMainWorld("custos", api);
