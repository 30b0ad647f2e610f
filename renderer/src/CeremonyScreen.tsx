import { useState, type FormEvent } from "react";
import { call, type SessionState } from "./api";
import { DoneActions } from "./DoneActions";
import { Clock, ErrorBox } from "./parts";
import { PromptView } from "./prompts/PromptView";

const ACTION_TEXT: Record<string, string> = {
  checklist: "Confirms the items read aloud and records the values asked for.",
  "enrol-participants": "Records everyone present and derives each person's attestation key from their passphrase.",
  "air-gap-check": "Records the laptop's network interfaces; a production ceremony stops if any is up.",
  "select-token": "Records the HSM's manufacturer, model, serial number and firmware.",
  "init-token": "Initialises a blank token with the SO PIN and user PIN.",
  "generate-key-pair": "Generates the root key pair inside the HSM.",
  "self-sign-certificate": "Has the HSM sign the self-signed root CA certificate.",
  "wrap-and-split-backup": "Wraps the root key under a new key and splits that key into custodian shares.",
  "verify-shares": "Each custodian types their share back in; each is checked.",
  "export-public-artifacts": "Writes the public key, certificate and wrapped backup.",
  "print-report": "Prints the report of the transcript so far.",
  "seal-transcript": "The root key signs the last entry of the transcript.",
  "load-source-ceremony": "Verifies the earlier ceremony's transcript and backup.",
  "collect-shares-and-restore": "Custodians enter their shares one at a time; the key is restored into the HSM.",
  "test-signature": "The restored key signs a test message, checked against the recorded public key.",
  "resplit-backup": "Old shares reassemble the wrapping key; new shares are issued for the new custodians.",
  "quorum-approval": "A quorum of custodians approves the destruction with their signatures.",
  "destroy-key": "Destroys the key objects on the HSM.",
};

/** The ceremony in progress: the always-visible strip, the step read aloud, and the question of the moment. */
export function CeremonyScreen({ state, push }: { state: SessionState; push: (s: SessionState) => void }) {
  const c = state.ceremony!;
  const step = state.step;
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);
  const [exception, setException] = useState(false);
  const rehearsal = c.mode === "rehearsal";

  async function act(p: Promise<SessionState>) {
    setError(null);
    try {
      push(await p);
    } catch (e) {
      setError(e as Error);
    }
  }

  return (
    <div className={`ceremony ${rehearsal ? "is-rehearsal" : "is-production"}`}>
      <header className="strip" role="banner" aria-label="Ceremony status">
        <span className="mode" data-testid="mode-badge">
          {rehearsal ? "REHEARSAL — not a production ceremony" : "PRODUCTION"}
        </span>
        <span data-testid="step-counter">
          Step {Math.min(c.completed + 1, c.steps.length)} of {c.steps.length}
        </span>
        <Clock />
        <span className="head" title={c.head} data-testid="head-words">
          Transcript head: <strong>{c.headWords.join(" ")}</strong> <code>{c.head.slice(0, 8)}</code>
        </span>
      </header>
      <div className="layout">
        <nav aria-label="Steps" className="steps">
          <p className="muted">
            {c.scriptTitle}
            <br />
            <code>{c.id}</code>
          </p>
          <ol>
            {c.steps.map((s, i) => (
              <li key={s.id} className={i < c.completed ? "done" : i === c.completed ? "current" : ""} aria-current={i === c.completed ? "step" : undefined}>
                {i < c.completed ? "✓ " : i === c.completed ? "▶ " : ""}
                {s.title}
              </li>
            ))}
          </ol>
        </nav>
        <main className="stage">
          {c.done || !step ? (
            <Done state={state} push={push} />
          ) : (
            <>
              <h1 data-testid="step-title">{step.title}</h1>
              <p className="read-aloud" data-testid="read-aloud">{step.read}</p>
              <p className="what">
                <strong>What Custos does:</strong> {ACTION_TEXT[step.action] ?? step.action}
                {step.attest.length > 0 && (
                  <>
                    {" "}
                    <strong>Attested by:</strong> {step.attest.map((a) => `${a.who === "one" ? "one" : a.who} ${a.role}`).join(", ")}.
                  </>
                )}
              </p>
              {state.lastError && !state.running && <ErrorBox error={state.lastError} />}
              {state.prompt ? (
                <PromptView key={state.prompt.id} prompt={state.prompt} push={push} />
              ) : state.running ? (
                <p className="working" aria-live="polite">Working…</p>
              ) : (
                <button className="primary big" autoFocus onClick={() => act(call("session:run-step", {}))}>
                  {state.lastError ? "Run this step again" : "Run this step"}
                </button>
              )}
            </>
          )}
          {error && <ErrorBox error={error} />}
        </main>
      </div>
      <footer className="people">
        <span>
          {c.participants.length ? `${c.participants.length} enrolled` : "Nobody enrolled yet"}
          {c.unlocked.length > 0 && ` · ${c.unlocked.length} attestation key(s) unlocked`}
        </span>
        {c.participants.some((p) => p.roles.includes("internal-witness")) && !state.running && !state.prompt && !c.done && (
          <button onClick={() => setException(!exception)}>Record an exception</button>
        )}
        <button onClick={() => act(call("session:close", {}))}>Leave (resume later)</button>
        {exception && <ExceptionForm state={state} push={push} onDone={() => setException(false)} />}
      </footer>
    </div>
  );
}

function ExceptionForm({ state, push, onDone }: { state: SessionState; push: (s: SessionState) => void; onDone: () => void }) {
  const witnesses = state.ceremony!.participants.filter((p) => p.roles.includes("internal-witness"));
  const [text, setText] = useState("");
  const [witness, setWitness] = useState(witnesses[0]?.id ?? "");
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      push(await call<SessionState>("session:exception", { text, witnessId: witness }));
      onDone();
    } catch (err) {
      setError(err as Error);
    }
  }
  return (
    <form className="panel exception" onSubmit={submit}>
      <label>
        Witness
        <select value={witness} onChange={(e) => setWitness(e.target.value)}>
          {witnesses.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        What happened
        <textarea value={text} onChange={(e) => setText(e.target.value)} rows={3} required />
      </label>
      {error && <ErrorBox error={error} />}
      <button type="submit">Record exception</button>
    </form>
  );
}

function Done({ state, push }: { state: SessionState; push: (s: SessionState) => void }) {
  const c = state.ceremony!;
  return (
    <section aria-labelledby="done-h">
      <h1 id="done-h">Ceremony complete</h1>
      <p className="read-aloud">The transcript is closed. The report, the bundle and the public artifacts are in:</p>
      <p>
        <code data-testid="artifacts-dir">{c.artifactsDir}</code>
      </p>
      <p>
        Head hash: <code data-testid="final-head">{c.head}</code>
      </p>
      {state.lastError && <ErrorBox error={state.lastError} />}
      <DoneActions />
      <p>
        <button onClick={async () => push(await call<SessionState>("session:close", {}))}>Back to the start</button>
      </p>
    </section>
  );
}
