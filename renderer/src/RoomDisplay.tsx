import type { SessionState } from "./api";
import { attestText, Facts, OffScript, People, Recorded, roleTitle, StepList, Strip, Unlocked } from "./ceremony-parts";

type C = NonNullable<SessionState["ceremony"]>;

/**
 * The room display: projected and filmed. It says what is happening and what
 * was recorded, in large type, and holds no secret: its state comes from the
 * core with share words removed, and nothing typed on the private view is
 * echoed here (only how many words).
 */
export function RoomDisplay({ state, onPrivate }: { state: SessionState; onPrivate?: () => void }) {
  const c = state.ceremony;
  if (!c) {
    return (
      <main className="room home">
        <h1>Custos</h1>
        <p className="lede" data-testid="room-idle">
          No ceremony is open. The operator starts one on the private view.
        </p>
        {onPrivate && (
          <button className="primary" onClick={onPrivate}>
            Open the private view
          </button>
        )}
      </main>
    );
  }
  const step = state.step;
  return (
    <div className={`ceremony room ${c.mode === "rehearsal" ? "is-rehearsal" : "is-production"}`} data-testid="room-display">
      <Strip c={c} />
      <div className="layout">
        <StepList c={c} />
        <main className="stage">
          {c.done || !step ? (
            <>
              <h1>{c.aborted ? "Ceremony aborted" : "Ceremony complete"}</h1>
              <Recorded state={state} />
            </>
          ) : (
            <>
              <h1 data-testid="step-title">
                Step {step.index + 1}: {step.title}
              </h1>
              <p className="read-aloud" data-testid="read-aloud">
                {step.read}
              </p>
              {step.attest.length > 0 && <p>Attested by {attestText(c, step.attest)}.</p>}
              <p className="now" data-testid="room-now">
                {nowText(state, c)}
              </p>
              <Recorded state={state} />
            </>
          )}
          <Facts c={c} />
          <People c={c} />
          <OffScript c={c} last={6} />
        </main>
      </div>
      <footer className="people">
        <Unlocked c={c} />
        {onPrivate && <button onClick={onPrivate}>Open the private view</button>}
      </footer>
    </div>
  );
}

/** One sentence for the room: what is going on right now, without any secret. */
function nowText(s: SessionState, c: C): string {
  const p = s.prompt;
  const t = s.typing;
  const typed = t && t.of ? ` ${t.filled} of ${t.of} words entered, ${t.valid} of them list words.` : "";
  if (!p) return s.running ? "Working…" : s.lastError ? `The step stopped: ${s.lastError.message}` : "Ready: the administrator runs this step.";
  switch (p.kind) {
    case "hand-out-share":
      return `Share ${p.card.index} of ${p.card.total} is being handed to ${p.card.custodianName}${p.card.issue > 1 ? ` (card ${p.card.issue}: the earlier card is void)` : ""}. The words are on the private view only.`;
    case "reenter-share":
      return `${p.custodian.name} is typing share ${p.index} of ${p.total} back in on the private view.${typed}`;
    case "collect-share":
      return `${p.custodian.name} is entering their share on the private view (${p.collected} of ${p.needed} good shares so far).${typed}`;
    case "passphrase":
      return `${p.participant.name} (${p.participant.roles.map((r) => roleTitle(c, r)).join(", ")}) types their passphrase on the private view to attest.`;
    case "pin":
      return `The ${p.role === "so" ? "security officer" : "user"} PIN is being ${p.purpose === "set" ? "set" : "entered"} on the private view.`;
    case "enrol":
      return "Everyone present is being enrolled on the private view: name, role, and a passphrase typed twice.";
    case "checklist":
      return `Checklist: ${p.items.join(" · ")}`;
    case "choose-signers":
      return `Choosing who attests as ${roleTitle(c, p.role)}.`;
    case "choose-token":
      return "The HSM token is being selected.";
    case "select-source":
      return "The earlier ceremony's transcript and backup are being chosen.";
    case "briefing":
      return `Share brief: ceremony ${p.brief.sourceCeremonyId}, key ${p.brief.keyFingerprint.slice(0, 16)}…, ${p.brief.threshold} of ${p.brief.total} shares.`;
    default:
      return "Waiting for the operator.";
  }
}
