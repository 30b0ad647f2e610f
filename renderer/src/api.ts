// The renderer's only way out: window.custos.invoke, provided by the preload
// (Electron) or by the test harness (Chromium). Types only from the core.
import { useEffect, useRef, useState } from "react";
import type { Channel, ChannelRequest, CustosApi, Result } from "../../electron/shared/ipc";
import type { SessionState } from "../../electron/core/app/service";
import type { Prompt } from "../../electron/core/app/prompts";

declare global {
  interface Window {
    custos: CustosApi;
  }
}

export type { Prompt, SessionState };

/** Calls a channel; throws the Result's message so screens can show it. */
export async function call<T>(channel: Channel, payload: ChannelRequest<Channel>): Promise<T> {
  const r: Result<unknown> = await window.custos.invoke(channel, payload as never);
  if (!r.ok) throw Object.assign(new Error(r.message), { code: r.code, hint: r.hint });
  return r.value as T;
}

/** Follows the session state with long polls: each answer arrives as soon as the core moves. */
export function useSession(surface: "room" | "private" = "private"): [SessionState | null, (s: SessionState) => void] {
  const [state, setState] = useState<SessionState | null>(null);
  const version = useRef(0);
  useEffect(() => {
    let stop = false;
    (async () => {
      while (!stop) {
        try {
          const s = await call<SessionState>("session:state", { since: version.current, surface });
          if (stop) return;
          // A long poll can answer after a newer state arrived from an action: never go back.
          if (s.version >= version.current) {
            version.current = s.version;
            setState(s);
          }
        } catch {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
    return () => {
      stop = true;
    };
  }, [surface]);
  const push = (s: SessionState) => {
    if (s.version >= version.current) {
      version.current = s.version;
      setState(s);
    }
  };
  return [state, push];
}

export interface ErrorLike {
  message: string;
  hint?: string;
}
