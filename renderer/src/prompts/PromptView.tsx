import { useState, type FormEvent, type ReactNode } from "react";
import { call, type Prompt, type SessionState } from "../api";
import { ErrorBox } from "../parts";
import { chooseOpen } from "../files";
import { Enrol } from "./Enrol";
import { HandOut } from "./HandOut";
import { CompareInputHash, ReadInput } from "./InputPrompts";
import { ShareEntry } from "./ShareEntry";

export type P<K extends Prompt["kind"]> = Extract<Prompt, { kind: K }>;
export type Answer = (value: unknown) => Promise<void>;

/** Renders the engine's current question as a form; one at a time. */
export function PromptView({ prompt, push }: { prompt: Prompt; push: (s: SessionState) => void }) {
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);
  const answer: Answer = async (value) => {
    setError(null);
    try {
      push(await call<SessionState>("session:answer", { promptId: prompt.id, value }));
    } catch (e) {
      setError(e as Error);
    }
  };
  const body = (() => {
    switch (prompt.kind) {
      case "checklist":
        return <Checklist p={prompt} answer={answer} />;
      case "enrol":
        return <Enrol p={prompt} answer={answer} />;
      case "passphrase":
        return <Passphrase p={prompt} answer={answer} />;
      case "choose-signers":
        return <ChooseSigners p={prompt} answer={answer} />;
      case "choose-token":
        return <ChooseToken p={prompt} answer={answer} />;
      case "pin":
        return <Pin p={prompt} answer={answer} />;
      case "hand-out-share":
        return <HandOut p={prompt} answer={answer} />;
      case "reenter-share":
        return (
          <ShareEntry
            title={
              prompt.justHandedOut
                ? `${prompt.custodian.name}: type share ${prompt.index} of ${prompt.total} in from your new card, to check it now`
                : `${prompt.custodian.name}: type share ${prompt.index} of ${prompt.total} back in from your card`
            }
            count={prompt.wordCount}
            error={prompt.error}
            answer={answer}
          />
        );
      case "select-source":
        return <SelectSource p={prompt} answer={answer} />;
      case "briefing":
        return <Briefing p={prompt} answer={answer} />;
      case "read-input":
        return <ReadInput p={prompt} answer={answer} />;
      case "compare-input-hash":
        return <CompareInputHash p={prompt} answer={answer} />;
      case "collect-share":
        return (
          <ShareEntry
            title={`${prompt.custodian.name}: enter your share (${prompt.collected} of ${prompt.needed} good shares so far)`}
            note={`Ceremony ${prompt.brief.sourceCeremonyId}, key ${prompt.brief.keyFingerprint.slice(0, 16)}…, threshold ${prompt.brief.threshold}.`}
            count={prompt.wordCount}
            error={prompt.error}
            answer={answer}
          />
        );
    }
  })();
  return (
    // No aria-live here: a screen reader must never speak a share or a name typed into the room's sound.
    <section className="prompt panel" data-testid={`prompt-${prompt.kind}`} data-prompt-id={prompt.id}>
      {body}
      {error && <ErrorBox error={error} />}
    </section>
  );
}

export function Form({ onSubmit, children, submit }: { onSubmit: () => void; children: ReactNode; submit: string }) {
  return (
    <form
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
      <button type="submit" className="primary">
        {submit}
      </button>
    </form>
  );
}

function Checklist({ p, answer }: { p: P<"checklist">; answer: Answer }) {
  const [ticked, setTicked] = useState<boolean[]>(p.items.map(() => false));
  const [values, setValues] = useState<Record<string, string[]>>(Object.fromEntries(p.fields.map((f) => [f.id, Array.from({ length: f.count ?? 1 }, () => "")])));
  const all = ticked.every(Boolean);
  return (
    <Form
      submit="Confirm and record"
      onSubmit={() => {
        if (!all) return;
        answer({ confirmed: true, values: Object.fromEntries(p.fields.map((f) => [f.id, f.count !== undefined ? values[f.id]! : values[f.id]![0]!])) });
      }}
    >
      <h2>Checklist</h2>
      {p.items.map((item, i) => (
        <label key={i} className="choice">
          <input type="checkbox" checked={ticked[i]} autoFocus={i === 0} onChange={(e) => setTicked(ticked.map((t, j) => (j === i ? e.target.checked : t)))} />
          <span>{item}</span>
        </label>
      ))}
      {p.fields.map((f, fi) =>
        values[f.id]!.map((v, i) => (
          <label key={`${f.id}-${i}`}>
            {f.label}
            {(f.count ?? 1) > 1 ? ` ${i + 1}` : ""}
            <input
              value={v}
              required={f.required}
              autoFocus={p.items.length === 0 && fi === 0 && i === 0}
              data-field={f.id}
              onChange={(e) => setValues({ ...values, [f.id]: values[f.id]!.map((x, j) => (j === i ? e.target.value : x)) })}
            />
          </label>
        )),
      )}
      {!all && <p className="muted">Tick every item once it has been read aloud and done.</p>}
    </Form>
  );
}

function Passphrase({ p, answer }: { p: P<"passphrase">; answer: Answer }) {
  const [v, setV] = useState("");
  return (
    <Form submit="Attest" onSubmit={() => answer({ passphrase: v })}>
      <h2>
        {p.participant.name} ({p.participant.roles.map(humanRole).join(", ")}), attest this step
      </h2>
      {p.error && <ErrorBox error={p.error} />}
      {p.secret === "token-pin" ? (
        <>
          <p className="muted">
            {p.participant.name} signs with the key labelled {p.token?.keyLabel} on their own token. Insert it, then type its PIN; the PIN is never stored.
          </p>
          <label>
            PIN of {p.participant.name}&rsquo;s own token (serial {p.token?.serial})
            <input type="password" value={v} onChange={(e) => setV(e.target.value)} autoFocus required autoComplete="off" data-secret="token-pin" />
          </label>
        </>
      ) : (
        <label>
          Passphrase of {p.participant.name}
          <input type="password" value={v} onChange={(e) => setV(e.target.value)} autoFocus required autoComplete="off" />
        </label>
      )}
    </Form>
  );
}

function ChooseSigners({ p, answer }: { p: P<"choose-signers">; answer: Answer }) {
  const [ids, setIds] = useState<string[]>([]);
  return (
    <Form submit="These people attest" onSubmit={() => answer({ ids })}>
      <h2>
        Who attests as {humanRole(p.role)}? Choose {p.count}.
      </h2>
      {p.candidates.map((c, i) => (
        <label key={c.id} className="choice">
          <input type="checkbox" autoFocus={i === 0} checked={ids.includes(c.id)} onChange={(e) => setIds(e.target.checked ? [...ids, c.id] : ids.filter((x) => x !== c.id))} />
          {c.name}
        </label>
      ))}
    </Form>
  );
}

function ChooseToken({ p, answer }: { p: P<"choose-token">; answer: Answer }) {
  const [slot, setSlot] = useState(p.tokens[0]?.slotId ?? "");
  return (
    <Form submit="Use this token" onSubmit={() => answer({ slotId: slot })}>
      <h2>Select the HSM token</h2>
      {p.error && <ErrorBox error={p.error} />}
      <table>
        <thead>
          <tr>
            <th><span className="visually-hidden">Choose</span></th>
            <th>Label</th>
            <th>Manufacturer</th>
            <th>Model</th>
            <th>Serial</th>
            <th>Firmware</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {p.tokens.map((t, i) => (
            <tr key={t.slotId}>
              <td>
                <input type="radio" name="token" aria-label={`Token ${t.label || "(blank)"} ${t.serial}`} checked={slot === t.slotId} autoFocus={i === 0} onChange={() => setSlot(t.slotId)} />
              </td>
              <td>{t.label || "(blank)"}</td>
              <td>{t.manufacturer}</td>
              <td>{t.model}</td>
              <td>{t.serial || "—"}</td>
              <td>{t.firmware}</td>
              <td>{t.initialized ? "initialised" : "blank"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Form>
  );
}

function Pin({ p, answer }: { p: P<"pin">; answer: Answer }) {
  const [v, setV] = useState("");
  const [again, setAgain] = useState("");
  const who = p.role === "so" ? "Security officer" : "User";
  const mismatch = p.purpose === "set" && again !== "" && again !== v;
  return (
    <Form submit={p.purpose === "set" ? "Set PIN" : "Log in"} onSubmit={() => !mismatch && answer({ pin: v })}>
      <h2>
        {p.purpose === "set" ? `Set the ${who.toLowerCase()} PIN` : `${who} PIN`}
        {p.token ? ` — token ${p.token.label} (${p.token.model}, serial ${p.token.serial || "blank"})` : ""}
      </h2>
      {p.error && <ErrorBox error={p.error} />}
      <label>
        {who} PIN
        <input type="password" inputMode="numeric" value={v} onChange={(e) => setV(e.target.value)} autoFocus required autoComplete="off" />
      </label>
      {p.purpose === "set" && (
        <label>
          Same PIN again
          <input type="password" inputMode="numeric" value={again} onChange={(e) => setAgain(e.target.value)} required autoComplete="off" />
        </label>
      )}
      {mismatch && <p className="error">The two PINs differ.</p>}
    </Form>
  );
}

type Picked = { handle: string; name: string } | null;
function SelectSource({ p, answer }: { p: P<"select-source">; answer: Answer }) {
  const first = p.suggestions[0];
  const [transcript, setTranscriptFile] = useState<Picked>(first ? { handle: first.transcript, name: first.label } : null);
  const [backup, setBackupFile] = useState<Picked>(first?.backup ? { handle: first.backup, name: "backup.json" } : null);
  const [pickError, setPickError] = useState<{ message: string; hint?: string } | null>(null);
  const setTranscript = (h: string) => setTranscriptFile({ handle: h, name: p.suggestions.find((s) => s.transcript === h)?.label ?? "" });
  const setBackup = (h: string) => setBackupFile(h ? { handle: h, name: "backup.json" } : null);
  async function pick(purpose: "source-transcript" | "source-backup") {
    setPickError(null);
    try {
      const f = await chooseOpen(purpose);
      if (f && purpose === "source-transcript") setTranscriptFile(f);
      if (f && purpose === "source-backup") setBackupFile(f);
    } catch (e) {
      setPickError(e as Error);
    }
  }
  return (
    <Form submit="Verify and load" onSubmit={() => transcript && answer({ transcript: transcript.handle, ...(backup ? { backup: backup.handle } : {}) })}>
      <h2>Source ceremony</h2>
      {p.error && <ErrorBox error={p.error} />}
      {p.suggestions.length > 0 && (
        <fieldset>
          <legend>Ceremonies on this laptop</legend>
          {p.suggestions.map((s, i) => (
            <label key={i} className="choice">
              <input
                type="radio"
                name="source"
                checked={transcript?.handle === s.transcript && (backup?.handle ?? "") === (s.backup ?? "")}
                onChange={() => {
                  setTranscript(s.transcript);
                  setBackup(s.backup ?? "");
                }}
              />
              {s.label}
            </label>
          ))}
        </fieldset>
      )}
      <p>
        Transcript (database, bundle.json or report PDF):{" "}
        <button type="button" onClick={() => pick("source-transcript")}>
          Choose…
        </button>{" "}
        {transcript && <code data-testid="source-transcript">{transcript.name}</code>}
      </p>
      <p>
        backup.json:{" "}
        <button type="button" onClick={() => pick("source-backup")}>
          Choose…
        </button>{" "}
        {backup && <code data-testid="source-backup">{backup.name}</code>}
      </p>
      {pickError && <ErrorBox error={pickError} />}
    </Form>
  );
}

function Briefing({ p, answer }: { p: P<"briefing">; answer: Answer }) {
  const b = p.brief;
  return (
    <Form submit="We have read this — begin" onSubmit={() => answer({ confirmed: true })}>
      <h2>Before anyone enters a share</h2>
      <dl className="brief" data-testid="brief">
        <dt>Source ceremony</dt>
        <dd>
          <code>{b.sourceCeremonyId}</code>
        </dd>
        <dt>Key fingerprint</dt>
        <dd>
          <code>{b.keyFingerprint}</code> ({b.algorithm})
        </dd>
        <dt>Threshold</dt>
        <dd>
          {b.threshold} of {b.total} shares
        </dd>
        <dt>Custodians expected</dt>
        <dd>
          <ul className="plain">
            {b.expected.map((e) => (
              <li key={e.participantId}>
                {e.name} — share {e.shareIndex}
              </li>
            ))}
          </ul>
        </dd>
      </dl>
    </Form>
  );
}

/** A role id as a title ("internal-witness" → "Internal witness"). */
function humanRole(id: string): string {
  const t = id.replace(/-/g, " ");
  return t.charAt(0).toUpperCase() + t.slice(1);
}
