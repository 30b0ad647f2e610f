import { CHANNELS, isChannel, type Channel, type ChannelRequest, type Result } from "../../shared/ipc";
import { CustosError } from "../errors";

/** The handlers behind the IPC channels; implemented by AppService. */
export type Handlers = { [C in Channel]: (req: ChannelRequest<C>) => Promise<unknown> };

/**
 * Parses the payload with the channel's schema, runs the handler and returns
 * a Result; used by the Electron main process and by the end-to-end harness,
 * so both enforce the same contract.
 */
export async function dispatch(handlers: Handlers, channel: unknown, payload: unknown): Promise<Result<unknown>> {
  if (!isChannel(channel)) return { ok: false, code: "IPC_UNKNOWN_CHANNEL", message: `Unknown channel ${JSON.stringify(String(channel)).slice(0, 80)}.`, hint: "" };
  const parsed = CHANNELS[channel].safeParse(payload ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return { ok: false, code: "IPC_INVALID_PAYLOAD", message: `${channel}: ${i.path.join(".") || "payload"}: ${i.message}`, hint: "" };
  }
  try {
    const value = await (handlers[channel] as (r: unknown) => Promise<unknown>)(parsed.data);
    return { ok: true, value };
  } catch (e) {
    if (e instanceof CustosError) return { ok: false, code: e.code, message: e.message, hint: e.hint };
    return { ok: false, code: "INTERNAL", message: e instanceof Error ? e.message : String(e), hint: "Record an exception and restart Custos; completed steps are kept." };
  }
}
