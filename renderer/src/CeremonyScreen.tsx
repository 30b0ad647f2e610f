import { useState } from "react";
import { call, type SessionState } from "./api";
import { DoneActions } from "./DoneActions";
import { attestText, Facts, OffScript, People, Recorded, StepList, Strip, Unlocked } from "./ceremony-parts";
import { AbortForm, ExceptionForm, LeaveButton } from "./OffScriptForms";
import { ErrorBox } from "./parts";
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
  "hsm-preflight": "Checks with throwaway keys that the HSM can do what this ceremony needs, before any real key exists.",
  "check-shares": "Each custodian's share is checked against its recorded commitment; no key is rebuilt.",
  "load-input": "Reads the file to sign from the medium and shows its SHA-256 to compare aloud.",
  "prove-root-key": "The root key proves it is present by signing a fresh challenge.",
  "sign-certificate": "The root key signs the certificate request that was compared aloud.",
  "cross-certify": "The root key signs a cross-certificate for the key that was compared aloud.",
  "issue-crl": "The root key signs a revocation list with exactly the serials read aloud.",
};

/** The private view of the ceremony in progress: the strip, the step, the question of the moment, and what was recorded. */
export function CeremonyScreen({ state, push, onRoom }: { state: SessionState; push: (s: SessionState) => void; onRoom?: () => void }) {
  const c = state.ceremony!;
  const step = state.step;
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);
  const [form, setForm] = useState<"exception" | "abort" | null>(null);
  const rehearsal = c.mode === "rehearsal";
  const canException = c.participants.some((p) => c.exceptionRoles.some((r) => p.roles.includes(r)));

  async function act(p: Promise<SessionState>) {
    setError(null);
    try {
      push(await p);
    } catch (e) {
      setError(e as Error);
    }
  }

  // A hand-out or a share being typed takes the whole screen, so it fits a 1280×720 panel.
  const focus = state.prompt && ["hand-out-share", "reenter-share", "collect-share"].includes(state.prompt.kind);
  return (
    <div className={`ceremony private ${rehearsal ? "is-rehearsal" : "is-production"}`}>
      <Strip c={c} />
      <div className={focus ? "layout focus" : "layout"}>
        {!focus && <StepList c={c} />}
        <main className="stage">
          {c.done || !step ? (
            <Done state={state} push={push} />
          ) : (
            <>
              <h1 data-testid="step-title">{step.title}</h1>
              {!focus && (
                <>
                  <p className="read-aloud" data-testid="read-aloud">
                    {step.read}
                  </p>
                  <p className="what">
                    <strong>What Custos does:</strong> {ACTION_TEXT[step.action] ?? step.action}
                    {step.attest.length > 0 && (
                      <>
                        {" "}
                        <strong>Attested by:</strong> {attestText(c, step.attest)}.
                      </>
                    )}
                  </p>
                </>
              )}
              {state.lastError && !state.running && <ErrorBox error={state.lastError} />}
              {state.prompt ? (
                <PromptView key={state.prompt.kind === "enrol" ? "enrol" : state.prompt.id} prompt={state.prompt} push={push} />
              ) : state.running ? (
                <p className="working" role="status">
                  Working…
                </p>
              ) : (
                <button className="primary big" autoFocus onClick={() => act(call("session:run-step", {}))}>
                  {state.lastError ? "Run this step again" : "Run this step"}
                </button>
              )}
              {!focus && <Recorded state={state} />}
            </>
          )}
          {error && <ErrorBox error={error} />}
          {!focus && state.lastEntry?.action === "enrol-participants" && <People c={c} />}
          {!focus && c.completed <= 1 && <Facts c={c} />}
        </main>
      </div>
      <footer className="people">
        <Unlocked c={c} />
        {!c.done && canException && form !== "exception" && <button onClick={() => setForm("exception")}>Record an exception</button>}
        {!c.done && form !== "abort" && (
          <button className="danger" onClick={() => setForm("abort")}>
            Abort the ceremony…
          </button>
        )}
        {!c.done && <LeaveButton state={state} push={push} />}
        {onRoom && <button onClick={onRoom}>Show the room display</button>}
        {form === "exception" && <ExceptionForm state={state} push={push} onDone={() => setForm(null)} />}
        {form === "abort" && <AbortForm state={state} push={push} onDone={() => setForm(null)} />}
      </footer>
    </div>
  );
}

function Done({ state, push }: { state: SessionState; push: (s: SessionState) => void }) {
  const c = state.ceremony!;
  return (
    <section aria-labelledby="done-h">
      <h1 id="done-h">{c.aborted ? "Ceremony aborted" : "Ceremony complete"}</h1>
      <Recorded state={state} />
      <p className="read-aloud">The transcript is closed. The report, the bundle and the public artifacts are in:</p>
      <p>
        <code data-testid="artifacts-dir">{c.artifactsDir}</code>
      </p>
      <p>
        Head hash: <code data-testid="final-head">{c.head}</code>
      </p>
      {state.lastError && <ErrorBox error={state.lastError} />}
      <Facts c={c} />
      <OffScript c={c} />
      <DoneActions />
      <p>
        <button onClick={async () => push(await call<SessionState>("session:close", {}))}>Back to the start</button>
      </p>
    </section>
  );
}
