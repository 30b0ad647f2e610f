import { useState, type FormEvent } from "react";
import { call, type SessionState } from "./api";
import { ErrorBox } from "./parts";

type Push = (s: SessionState) => void;
type Err = { message: string; hint?: string } | null;
type Person = NonNullable<SessionState["ceremony"]>["participants"][number];

/** What this person types to sign: their passphrase, or the PIN of their own token (named by serial, no secret). */
function secretLabel(p: Person | undefined, role: string, what: string): string {
  return p?.token ? `PIN of ${p.name}\u2019s own token (serial ${p.token.serial}, signs ${what})` : `Passphrase of the ${role.toLowerCase()} (signs ${what})`;
}

/**
 * An exception, at any moment (a question open, a step running): written by a
 * witness and signed with the passphrase they type here, never with a key
 * that happens to be unlocked.
 */
export function ExceptionForm({ state, push, onDone }: { state: SessionState; push: Push; onDone: () => void }) {
  const c = state.ceremony!;
  const role = c.exceptionRoles[0] ?? "";
  const witnesses = c.participants.filter((p) => p.roles.includes(role));
  const [text, setText] = useState("");
  const [witness, setWitness] = useState(witnesses[0]?.id ?? "");
  const [pass, setPass] = useState("");
  const [error, setError] = useState<Err>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      push(await call<SessionState>("session:exception", { text, witnessId: witness, passphrase: pass }));
      setPass("");
      onDone();
    } catch (err) {
      // What was typed stays; only the passphrase is typed again.
      setPass("");
      setError(err as Error);
    }
  }
  return (
    <form className="panel exception" onSubmit={submit} aria-labelledby="exc-h">
      <h2 id="exc-h">Record an exception</h2>
      <label>
        {role} who writes it
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
      <label>
        {secretLabel(witnesses.find((w) => w.id === witness), role, "the exception")}
        <input type="password" value={pass} onChange={(e) => setPass(e.target.value)} required autoComplete="off" />
      </label>
      {error && <ErrorBox error={error} />}
      <button type="submit" className="primary">
        Sign and record the exception
      </button>{" "}
      <button type="button" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

/** A formal abort: the reason, signed by the people the script names, each with their own passphrase (or own token's PIN). */
export function AbortForm({ state, push, onDone }: { state: SessionState; push: Push; onDone: () => void }) {
  const c = state.ceremony!;
  const roles = c.abortRoles;
  const enrolled = c.participants.length > 0;
  const [reason, setReason] = useState("");
  const [who, setWho] = useState<string[]>(roles.map((r) => c.participants.find((p) => p.roles.includes(r))?.id ?? ""));
  const [pass, setPass] = useState<string[]>(roles.map(() => ""));
  const [error, setError] = useState<Err>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const signers = enrolled ? roles.map((_, i) => ({ participantId: who[i]!, passphrase: pass[i]! })) : [];
      push(await call<SessionState>("session:abort", { reason, signers }));
      onDone();
    } catch (err) {
      setPass(roles.map(() => ""));
      setError(err as Error);
    }
  }
  return (
    <form className="panel abort" onSubmit={submit} aria-labelledby="abort-h">
      <h2 id="abort-h">Abort the ceremony</h2>
      <p>An abort closes the ceremony for good; the transcript records the reason{enrolled ? `, signed by ${roles.join(" and ")}` : ""}.</p>
      <label>
        Reason
        <textarea value={reason} onChange={(e) => setReason(e.target.value)} rows={2} required />
      </label>
      {enrolled &&
        roles.map((r, i) => (
          <fieldset key={r} className="row">
            <legend>{r}</legend>
            <label>
              Who signs
              <select value={who[i]} onChange={(e) => setWho(who.map((x, j) => (j === i ? e.target.value : x)))}>
                {c.participants
                  .filter((p) => p.roles.includes(r))
                  .map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
              </select>
            </label>
            <label>
              {secretLabel(c.participants.find((p) => p.id === who[i]), r, "the abort")}
              <input type="password" value={pass[i]} onChange={(e) => setPass(pass.map((x, j) => (j === i ? e.target.value : x)))} required autoComplete="off" />
            </label>
          </fieldset>
        ))}
      {error && <ErrorBox error={error} />}
      <button type="submit" className="danger">
        Sign and abort the ceremony
      </button>{" "}
      <button type="button" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

/** Leaving: asks first when share cards are out, naming the cards to collect (they become void). */
export function LeaveButton({ state, push }: { state: SessionState; push: Push }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<Err>(null);
  const out = state.handedOut;
  async function leave(confirmed: boolean) {
    setError(null);
    try {
      push(await call<SessionState>("session:close", confirmed ? { confirmed: true } : {}));
    } catch (e) {
      setError(e as Error);
    }
  }
  if (asking && out.length) {
    return (
      <div className="panel leave-confirm" role="alertdialog" aria-labelledby="leave-h" aria-describedby="leave-d">
        <h2 id="leave-h">Leave during the hand-out?</h2>
        <p id="leave-d">
          These cards were handed out in this step and become void when you leave. Collect them for destruction now:{" "}
          <strong data-testid="cards-to-collect">{out.map((h) => `share ${h.index} (${h.custodianName})`).join(", ")}</strong>.
        </p>
        <button className="danger" autoFocus onClick={() => leave(true)}>
          The cards are collected — leave
        </button>{" "}
        <button onClick={() => setAsking(false)}>Stay</button>
        {error && <ErrorBox error={error} />}
      </div>
    );
  }
  return (
    <>
      <button onClick={() => (out.length ? setAsking(true) : void leave(false))}>Leave (resume later)</button>
      {error && <ErrorBox error={error} />}
    </>
  );
}
