import { useEffect, useState, type FormEvent } from "react";
import type { ProductionHsm } from "../../electron/core/app/hsm-chooser";
import { call, type SessionState } from "./api";
import { HsmChooser } from "./HsmChooser";
import { ErrorBox } from "./parts";

interface ScriptInfo {
  file: string;
  id: string;
  title: string;
  kind: string;
  valid: boolean;
  quorum: { threshold: number; shares: number } | null;
  algorithms: string[];
}
interface Info {
  scripts: ScriptInfo[];
  dataDir: string;
  productionModule: string | null;
  production: ProductionHsm;
  softhsm: string | null;
}
interface Listed {
  id: string;
  title: string;
  mode: string;
  status: string;
  createdAt: string;
  entries: number;
}

/** Choose a ceremony and a mode, resume an unfinished one, or go to verification. */
export function Home({ push, onVerify, onCustody }: { push: (s: SessionState) => void; onVerify: () => void; onCustody?: () => void }) {
  const [info, setInfo] = useState<Info | null>(null);
  const [list, setList] = useState<Listed[]>([]);
  const [script, setScript] = useState("root-key-generation.yaml");
  const [mode, setMode] = useState<"rehearsal" | "production">("rehearsal");
  const [custodians, setCustodians] = useState(5);
  const [threshold, setThreshold] = useState(3);
  const [algorithm, setAlgorithm] = useState("");
  const [confirmText, setConfirmText] = useState("");
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);

  useEffect(() => {
    call<Info>("app:info", {}).then(setInfo, setError);
    call<Listed[]>("ceremony:list", {}).then(setList, setError);
  }, []);

  const chosen = info?.scripts.find((s) => s.file === script);
  // The quorum comes from the script; the operator may change it within what the script allows.
  useEffect(() => {
    if (chosen?.quorum) {
      setCustodians(chosen.quorum.shares);
      setThreshold(chosen.quorum.threshold);
    }
  }, [chosen?.file, chosen?.quorum?.shares, chosen?.quorum?.threshold]);
  const softhsmProduction = mode === "production" && /softhsm/i.test(info?.productionModule ?? "");
  const confirmed = mode === "rehearsal" || confirmText.trim() === "PRODUCTION";
  const splits = chosen?.kind === "generation" || chosen?.kind === "resplit";

  async function start(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!confirmed) {
      setError({ message: "A production ceremony starts only when PRODUCTION is typed in the confirmation field.", hint: "Or choose REHEARSAL." });
      return;
    }
    try {
      push(
        await call<SessionState>("ceremony:start", {
          script,
          mode,
          ...(mode === "production" ? { confirmation: confirmText.trim() } : {}),
          ...(splits ? { custodians, threshold } : {}),
          ...(algorithm && chosen?.kind === "generation" ? { algorithm } : {}),
        }),
      );
    } catch (err) {
      setError(err as Error);
    }
  }

  async function resume(id: string) {
    try {
      push(await call<SessionState>("ceremony:resume", { ceremonyId: id }));
    } catch (err) {
      setError(err as Error);
    }
  }

  if (!info) return <main className="home"><p>Loading…</p>{error && <ErrorBox error={error} />}</main>;
  const unfinished = list.filter((c) => c.status === "open");
  return (
    <main className="home">
      <h1>Custos</h1>
      <p className="lede">Scripted root key ceremonies on an air-gapped laptop. Every step is read aloud, attested, and recorded in a signed transcript.</p>
      <form onSubmit={start} className="panel" aria-labelledby="start-h">
        <h2 id="start-h">Start a ceremony</h2>
        <fieldset>
          <legend>Ceremony script</legend>
          {info.scripts.map((s) => (
            <label key={s.file} className="choice">
              <input type="radio" name="script" value={s.file} checked={script === s.file} disabled={!s.valid} onChange={() => setScript(s.file)} />
              <span>
                <strong>{s.title}</strong> <span className="muted">({s.file})</span>
              </span>
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Mode</legend>
          <label className="choice">
            <input type="radio" name="mode" value="rehearsal" checked={mode === "rehearsal"} onChange={() => setMode("rehearsal")} />
            <span>
              <strong>REHEARSAL</strong> on a new throwaway SoftHSM token {info.softhsm ? "" : "(SoftHSM2 is not installed)"}
            </span>
          </label>
          <label className="choice">
            <input type="radio" name="mode" value="production" checked={mode === "production"} disabled={!info.productionModule} onChange={() => setMode("production")} />
            <span>
              <strong>PRODUCTION</strong> {info.productionModule ? `on ${info.productionModule}` : "— no HSM chosen (see HSM for production below)"}
            </span>
          </label>
        </fieldset>
        {splits && (
          <fieldset className="row">
            <legend>Shares {chosen?.quorum ? `(the script says ${chosen.quorum.threshold} of ${chosen.quorum.shares})` : ""}</legend>
            <label>
              Custodians (shares)
              <input type="number" min={2} max={255} value={custodians} onChange={(e) => setCustodians(Number(e.target.value))} />
            </label>
            <label>
              Threshold
              <input type="number" min={2} max={custodians} value={threshold} onChange={(e) => setThreshold(Number(e.target.value))} />
            </label>
            {chosen?.kind === "generation" && (
              <label>
                Root key algorithm
                <select value={algorithm} onChange={(e) => setAlgorithm(e.target.value)}>
                  <option value="">Script default</option>
                  {chosen.algorithms.map((a) => (
                    <option key={a}>{a}</option>
                  ))}
                </select>
              </label>
            )}
          </fieldset>
        )}
        {mode === "production" && (
          <fieldset>
            <legend>Confirm a production ceremony</legend>
            {softhsmProduction && (
              <p className="warning" role="alert">
                The production module is SoftHSM ({info.productionModule}): a software token, not a hardware security module. Keys it holds are files on this laptop.
              </p>
            )}
            <label>
              Type PRODUCTION to confirm that this ceremony makes real keys
              <input value={confirmText} onChange={(e) => setConfirmText(e.target.value)} autoComplete="off" spellCheck={false} />
            </label>
          </fieldset>
        )}
        {error && <ErrorBox error={error} />}
        <button type="submit" className="primary" disabled={!confirmed}>
          Start {mode === "rehearsal" ? "rehearsal" : "PRODUCTION ceremony"}
        </button>
      </form>
      <HsmChooser
        production={info.production}
        onChanged={(production) => {
          setInfo({ ...info, production, productionModule: production.module });
          if (!production.module) setMode("rehearsal");
        }}
      />
      {unfinished.length > 0 && (
        <section className="panel" aria-labelledby="resume-h">
          <h2 id="resume-h">Unfinished ceremonies</h2>
          <ul className="plain">
            {unfinished.map((c) => (
              <li key={c.id}>
                <button onClick={() => resume(c.id)}>Resume</button> {c.title} — <code>{c.id}</code> ({c.mode.toUpperCase()}, {c.entries} entries)
              </li>
            ))}
          </ul>
        </section>
      )}
      <section className="panel">
        <h2>Auditors</h2>
        <button onClick={onVerify}>Verify a transcript, bundle or report</button>
        {onCustody && <button onClick={onCustody}>Custody register of a root</button>}
        <p className="muted">Data folder: {info.dataDir}</p>
      </section>
    </main>
  );
}
