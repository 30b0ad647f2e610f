import { useEffect, useState } from "react";
import type { SessionState } from "./api";
import { Clock } from "./parts";

type C = NonNullable<SessionState["ceremony"]>;

/** The always-visible strip: mode, step n of N, the entry it will be, the clock and the transcript head. */
export function Strip({ c }: { c: C }) {
  const rehearsal = c.mode === "rehearsal";
  return (
    <header className="strip" role="banner" aria-label="Ceremony status">
      <span className="mode" data-testid="mode-badge">
        {rehearsal ? "REHEARSAL — not a production ceremony" : "PRODUCTION"}
      </span>
      <span data-testid="step-counter">
        Step {Math.min(c.completed + 1, c.steps.length)} of {c.steps.length}
      </span>
      {!c.done && <span data-testid="next-entry">next entry {c.entries + 1}</span>}
      <Clock />
      <span className="head" title={c.head} data-testid="head-words">
        Transcript head: <strong>{c.headWords.join(" ")}</strong> <code>{c.head.slice(0, 8)}</code>
      </span>
    </header>
  );
}

/** The script's steps, the current one marked. */
export function StepList({ c }: { c: C }) {
  return (
    <nav aria-label="Steps" className="steps">
      <p className="muted">{c.scriptTitle}</p>
      <ol>
        {c.steps.map((s, i) => (
          <li key={s.id} className={i < c.completed ? "done" : i === c.completed ? "current" : ""} aria-current={i === c.completed ? "step" : undefined}>
            {i < c.completed ? "✓ " : i === c.completed ? "▶ " : ""}
            {s.title}
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** Role ids as people read them. */
export function roleTitle(c: C, id: string): string {
  return c.roles.find((r) => r.id === id)?.title ?? id;
}

/** "Attested by: one Internal witness, all Custodians". */
export function attestText(c: C, attest: Array<{ role: string; who: string }>): string {
  return attest.map((a) => `${a.who === "one" ? "one" : a.who === "all" ? "every" : "a quorum of"} ${roleTitle(c, a.role)}`).join(", ");
}

/** After a step: which entry it became and who signed it. */
export function Recorded({ state }: { state: SessionState }) {
  const e = state.lastEntry;
  if (!e) return null;
  const who = e.signedBy.map((s) => (s.roles.length ? `${s.name} (${s.roles.join(", ")})` : s.name)).join(", ");
  return (
    <p className="recorded" data-testid="recorded" role="status">
      Recorded as entry {e.seq}
      {who ? `, signed by ${who}` : ", unsigned (covered by the signatures of the entries after it)"}.
    </p>
  );
}

/** Whose attestation keys are unlocked now, with the time left. */
export function Unlocked({ c }: { c: C }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const open = c.unlocked.filter((u) => u.until > now);
  return (
    <section className="unlocked" aria-label="Unlocked attestation keys" data-testid="unlocked">
      <strong>Keys unlocked:</strong>{" "}
      {open.length === 0
        ? "none"
        : open.map((u) => {
            const s = Math.max(0, Math.round((u.until - now) / 1000));
            return (
              <span key={u.participantId} className="key-chip">
                {u.name} ({Math.floor(s / 60)}:{String(s % 60).padStart(2, "0")})
              </span>
            );
          })}
    </section>
  );
}

/** Hashes to read aloud: the script's, and after generation the root key's and the certificate's. */
export function Facts({ c }: { c: C }) {
  return (
    <dl className="facts" data-testid="facts">
      {c.facts.map((f) => (
        <div key={f.label}>
          <dt>{f.label}</dt>
          <dd>
            <strong className="fact-words">{f.words.join(" ")}</strong>
            <br />
            <code className="fact-hex">{f.hex.replace(/ /g, "").match(/.{1,8}/g)?.join(" ")}</code>
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** Everyone enrolled, with the fingerprint of their key to copy onto the sign-in sheet. */
export function People({ c }: { c: C }) {
  if (!c.participants.length) return null;
  return (
    <table className="people-table" data-testid="people">
      <caption>Enrolled — copy your key fingerprint onto the sign-in sheet</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Role</th>
          <th scope="col">Key fingerprint</th>
        </tr>
      </thead>
      <tbody>
        {c.participants.map((p) => (
          <tr key={p.id}>
            <td>{p.name}</td>
            <td>{p.roles.join(", ")}</td>
            <td>
              <code>{p.fingerprint}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Exceptions, deviations and an abort, as recorded. */
export function OffScript({ c, last }: { c: C; last?: number }) {
  const list = last ? c.offScript.slice(-last) : c.offScript;
  if (!list.length) return null;
  return (
    <section aria-label="Exceptions and deviations" className="offscript" data-testid="offscript">
      <h2>Exceptions and deviations ({c.offScript.length})</h2>
      <ul>
        {list.map((o) => (
          <li key={o.seq}>
            Entry {o.seq}, {o.kind}: {o.text}
          </li>
        ))}
      </ul>
    </section>
  );
}
