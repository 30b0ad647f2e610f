import { useEffect, useState } from "react";
import { useSession } from "./api";
import { CeremonyScreen } from "./CeremonyScreen";
import { CustodyScreen } from "./CustodyScreen";
import { Home } from "./Home";
import { RoomDisplay } from "./RoomDisplay";
import { VerifyScreen } from "./VerifyScreen";

/** Which surface this window is: from the address the main process loaded (#/room, #/private, #/single). */
function surfaceOf(hash: string): "room" | "private" | "single" {
  if (hash.startsWith("#/room")) return "room";
  if (hash.startsWith("#/single")) return "single";
  return "private";
}

/**
 * Top level. The room display (projected, filmed) only shows what happens; the
 * private view (the operator's panel) is where people type and where secrets
 * appear. With one display, one window shows the room display and opens the
 * private view when the operator asks.
 */
export function App() {
  const [surface] = useState(() => surfaceOf(window.location.hash));
  if (surface === "room") return <Room />;
  return <Private single={surface === "single"} />;
}

function Room() {
  const [state] = useSession("room");
  if (!state) return <p className="loading">Starting Custos…</p>;
  return <RoomDisplay state={state} />;
}

function Private({ single }: { single: boolean }) {
  // In the one window of a single display, the private view is a mode the operator opens: the
  // room display's state has no secret, and the private state is asked for only while it is open.
  const [open, setOpen] = useState(!single);
  useEffect(() => {
    document.title = open ? "Custos — private view" : "Custos — room display";
  }, [open]);
  if (!open) return <Room1 onPrivate={() => setOpen(true)} />;
  return <Console onRoom={single ? () => setOpen(false) : undefined} />;
}

function Room1({ onPrivate }: { onPrivate: () => void }) {
  const [state] = useSession("room");
  if (!state) return <p className="loading">Starting Custos…</p>;
  return <RoomDisplay state={state} onPrivate={onPrivate} />;
}

function Console({ onRoom }: { onRoom?: () => void }) {
  const [state, push] = useSession("private");
  const [view, setView] = useState<"home" | "verify" | "custody">("home");
  if (!state) return <p className="loading">Starting Custos…</p>;
  if (state.ceremony) return <CeremonyScreen state={state} push={push} onRoom={onRoom} />;
  if (view === "verify") return <VerifyScreen onBack={() => setView("home")} />;
  if (view === "custody") return <CustodyScreen onBack={() => setView("home")} />;
  return <Home push={push} onVerify={() => setView("verify")} onCustody={() => setView("custody")} />;
}
