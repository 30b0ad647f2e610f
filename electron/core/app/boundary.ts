import { CustosError } from "../errors";
import { toCustosError } from "../files/fault";
import type { Handlers } from "./dispatch";
import type { ShownError } from "./prompts";

/** The service's log: one call per event; `detail` may hold a stack trace. Never given secrets. */
export type AppLogger = (level: "error" | "warn" | "info", message: string, detail?: string) => void;

/**
 * The one error boundary of the service: every handler's failure reaches the
 * screen as a plain message (what happened, what is intact, what to do) and
 * its detail goes to the log.
 */
export function guardHandlers(handlers: Handlers, log: AppLogger): Handlers {
  return Object.fromEntries(
    Object.entries(handlers).map(([channel, h]) => [
      channel,
      async (req: unknown) => {
        try {
          return await (h as (r: unknown) => Promise<unknown>)(req);
        } catch (e) {
          const err = toCustosError(e);
          if (!(e instanceof CustosError) || err !== e) log("error", `${channel}: ${err.code}: ${err.message}`, detailOf(e));
          throw err;
        }
      },
    ]),
  ) as Handlers;
}

/** An error as the screen shows it. */
export function shownOf(err: CustosError): ShownError {
  return { code: err.code, message: err.message, hint: err.hint, details: { ...err.details } };
}

/** Shows an error on screen and logs its detail; the screen never gets a stack trace. */
export function loggedError(log: AppLogger, e: unknown, ctx?: Parameters<typeof toCustosError>[1]): CustosError {
  const err = toCustosError(e, ctx);
  log("error", `${err.code}: ${err.message}`, detailOf(e));
  return err;
}

/** The original error with its stack and causes, for the log only. */
export function detailOf(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, i = 0; cur && i < 5; cur = (cur as { cause?: unknown }).cause, i++) parts.push(cur instanceof Error ? (cur.stack ?? cur.message) : String(cur));
  return parts.join("\ncaused by: ");
}
