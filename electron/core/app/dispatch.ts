import { parseRequest, type ChannelRequest, type HostChannel, type Result } from "../../shared/ipc";
import { CustosError } from "../errors";

/** The handlers behind the channels the core answers (everything but the main process's dialogs). */
export type Handlers = { [C in HostChannel]: (req: ChannelRequest<C>) => Promise<unknown> };

/**
 * Parses the payload with the channel's schema, runs the handler and returns
 * a Result; used by the core host (in its own process under Electron, in
 * process in the end-to-end harness), so both enforce the same contract.
 */
export async function dispatch(handlers: Handlers, channel: unknown, payload: unknown): Promise<Result<unknown>> {
  const req = parseRequest(channel, payload);
  if (!req.ok) return req;
  const handler = (handlers as Partial<Record<string, (r: unknown) => Promise<unknown>>>)[req.channel];
  // A main-process channel (a dialog) that reached the core: the core shows no dialogs.
  if (!handler) return { ok: false, code: "IPC_UNKNOWN_CHANNEL", message: `The core does not answer ${req.channel}.`, hint: "" };
  try {
    const value = await handler(req.payload);
    return { ok: true, value };
  } catch (e) {
    if (e instanceof CustosError) return { ok: false, code: e.code, message: e.message, hint: e.hint };
    return { ok: false, code: "INTERNAL", message: e instanceof Error ? e.message : String(e), hint: "Record an exception and restart Custos; completed steps are kept." };
  }
}
