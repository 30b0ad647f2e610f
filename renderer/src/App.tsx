import { useState } from "react";
import { useSession } from "./api";
import { CeremonyScreen } from "./CeremonyScreen";
import { CustodyScreen } from "./CustodyScreen";
import { Home } from "./Home";
import { VerifyScreen } from "./VerifyScreen";

/** Top level: the open ceremony takes the whole window; otherwise home or the auditor's verify screen. */
export function App() {
  const [state, push] = useSession();
  const [view, setView] = useState<"home" | "verify" | "custody">("home");
  if (!state) return <p className="loading">Starting Custos…</p>;
  if (state.ceremony) return <CeremonyScreen state={state} push={push} />;
  if (view === "verify") return <VerifyScreen onBack={() => setView("home")} />;
  if (view === "custody") return <CustodyScreen onBack={() => setView("home")} />;
  return <Home push={push} onVerify={() => setView("verify")} onCustody={() => setView("custody")} />;
}
