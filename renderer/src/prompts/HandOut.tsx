import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { call, type Prompt } from "../api";
import { chooseSave } from "../files";
import { ErrorBox } from "../parts";

type P = Extract<Prompt, { kind: "hand-out-share" }>;
type How = "print" | "save" | "reveal";

/**
 * One share card leaves the room, on the private view only: printed straight
 * to the local printer (never shown), saved to the custodian's medium, or
 * revealed here while a key is held, hidden again on release and after the
 * time limit. The words are in the page only while revealed. No live region:
 * a screen reader must not speak a share onto the video's sound.
 */
export function HandOut({ p, answer }: { p: P; answer: (v: unknown) => Promise<void> }) {
  const c = p.card;
  const [how, setHow] = useState<How | null>(p.handOut === "choose" ? null : p.handOut);
  const [given, setGiven] = useState(false);
  const [taken, setTaken] = useState(false);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [cardError, setCardError] = useState<{ message: string; hint?: string } | null>(null);
  const [shown, setShown] = useState(false);
  const [left, setLeft] = useState(p.revealSeconds);
  const timer = useRef<ReturnType<typeof setInterval> | null>(null);

  const hide = () => {
    setShown(false);
    if (timer.current) clearInterval(timer.current);
    timer.current = null;
  };
  const reveal = () => {
    if (shown) return;
    setShown(true);
    setGiven(true);
    const until = Date.now() + p.revealSeconds * 1000;
    setLeft(p.revealSeconds);
    timer.current = setInterval(() => {
      const s = Math.ceil((until - Date.now()) / 1000);
      setLeft(Math.max(0, s));
      if (s <= 0) hide();
    }, 250);
  };
  useEffect(() => hide, []);

  async function card(action: "print" | "save") {
    setCardError(null);
    setOutcome(null);
    try {
      let r: { saved?: string; printed?: string };
      if (action === "save") {
        // The file is chosen in the main process's Save dialog; the screen holds only its handle.
        const f = await chooseSave("share-card");
        if (!f) return;
        r = await call("session:share-card", { action, file: f.handle });
      } else r = await call("session:share-card", { action });
      setOutcome(r.saved ? `Saved as ${r.saved}` : `Printed: ${r.printed}`);
      setGiven(true);
    } catch (e) {
      setCardError(e as Error);
    }
  }

  const holdKeys = (e: KeyboardEvent, down: boolean) => {
    if (e.key !== " " && e.key !== "Enter") return;
    e.preventDefault();
    if (down && !e.repeat) reveal();
    if (!down) hide();
  };

  return (
    <form
      className="hand-out"
      onSubmit={(e) => {
        e.preventDefault();
        if (given && taken) {
          hide();
          void answer({ confirmed: true });
        }
      }}
    >
      <h2 data-testid="share-heading">
        Share {c.index} of {c.total} for {c.custodianName} — any {c.threshold} shares restore the key
      </h2>
      {c.issue > 1 && <p className="warning">Card {c.issue}: the earlier card for this share did not check out and is void. Destroy it.</p>}
      <p className="muted">
        Ceremony <code data-testid="card-ceremony">{c.ceremonyId}</code> · key <code>{c.keyFingerprint.slice(0, 16)}…</code> · commitment <code>{c.commitmentShort}</code> · {c.wordCount} words
      </p>
      {p.handOut === "choose" && (
        <fieldset className="row">
          <legend>How the card leaves the room</legend>
          {(
            [
              ["print", "Print on the local printer (never shown)"],
              ["save", "Save to the custodian's medium"],
              ["reveal", "Reveal here while a key is held"],
            ] as Array<[How, string]>
          ).map(([v, label], i) => (
            <label key={v} className="choice">
              <input type="radio" name="how" checked={how === v} autoFocus={i === 0 && !how} onChange={() => setHow(v)} />
              {label}
            </label>
          ))}
        </fieldset>
      )}
      {how === "print" && (
        <button type="button" onClick={() => card("print")}>
          Print this card
        </button>
      )}
      {how === "save" && (
        <button type="button" onClick={() => card("save")}>
          Save card…
        </button>
      )}
      {how === "reveal" && (
        <div className="reveal">
          <button
            type="button"
            className="primary"
            data-testid="reveal"
            aria-pressed={shown}
            onKeyDown={(e) => holdKeys(e, true)}
            onKeyUp={(e) => holdKeys(e, false)}
            onPointerDown={reveal}
            onPointerUp={hide}
            onPointerLeave={hide}
            onBlur={hide}
          >
            {shown ? `Showing — let go to hide (${left} s)` : `Hold to reveal the words (Space; at most ${p.revealSeconds} s)`}
          </button>
          <div className="share-card" data-testid="share-card">
            {shown ? (
              <ol className="words" data-testid="share-words">
                {c.words.map((w, i) => (
                  <li key={i}>{w}</li>
                ))}
              </ol>
            ) : (
              <p className="muted">Hidden. Only {c.custodianName} looks while the key is held.</p>
            )}
          </div>
        </div>
      )}
      {outcome && <p role="status">{outcome}</p>}
      {cardError && <ErrorBox error={cardError} />}
      <label className="choice">
        <input type="checkbox" checked={taken} onChange={(e) => setTaken(e.target.checked)} disabled={!given} />
        I, {c.custodianName}, have my card with all {c.wordCount} words.
      </label>
      <button type="submit" className="primary" disabled={!given || !taken}>
        Done — check my card now
      </button>
    </form>
  );
}
