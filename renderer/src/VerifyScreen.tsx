import { useState, type FormEvent } from "react";
import { call } from "./api";
import { chooseOpen, type ChosenFile } from "./files";
import { ErrorBox } from "./parts";
import { failureText, verdictText, type FileVerdictView } from "./verdict";

type Verdict = FileVerdictView;
/** The verdict and the entries of one reading of the file (the core verifies and reads the same copy). */
interface Entries {
  verdict: Verdict;
  entries: Array<{ seq: number; stepId: string; action: string; timestamp: string; signers: string[] }>;
  error?: string;
}

/** For auditors: verify a transcript database, bundle or report PDF and read its entries. */
export function VerifyScreen({ onBack }: { onBack: () => void }) {
  const [file, setFile] = useState<ChosenFile>(null);
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [entries, setEntries] = useState<Entries | null>(null);
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);
  async function choose() {
    setError(null);
    try {
      const f = await chooseOpen("verify");
      if (f) setFile(f);
    } catch (err) {
      setError(err as Error);
    }
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    setError(null);
    setVerdict(null);
    setEntries(null);
    try {
      // One call: the verdict shown is about the very bytes whose entries are shown.
      const r = await call<Entries>("transcript:entries", { file: file.handle });
      setVerdict(r.verdict);
      setEntries(r);
    } catch (err) {
      setError(err as Error);
    }
  }
  return (
    <main className="home">
      <h1>Verify a ceremony</h1>
      <form onSubmit={submit} className="panel">
        <p>
          Transcript database, bundle.json or report PDF:{" "}
          <button type="button" onClick={choose} autoFocus>
            Choose a file…
          </button>{" "}
          {file && <code data-testid="chosen-file">{file.name}</code>}
        </p>
        <button type="submit" className="primary" disabled={!file}>
          Verify
        </button>
        <button type="button" onClick={onBack}>
          Back
        </button>
      </form>
      {error && <ErrorBox error={error} />}
      {verdict?.fileFailure && (
        <section className="panel verdict bad" data-testid="verdict">
          <h2>NOT INTACT</h2>
          <p role="alert">{failureText(verdict.fileFailure)}</p>
        </section>
      )}
      {verdict &&
        verdict.ceremonies.map((c) => (
          <section key={c.ceremonyId} className={`panel verdict ${c.ok && c.completeness === "complete" ? "good" : "bad"}`} data-testid="verdict">
            <h2>{c.ok ? (c.completeness === "complete" ? "Intact and complete" : c.completeness === "aborted" ? "Intact, aborted" : "Intact so far, NOT complete") : "NOT INTACT"}</h2>
            <p>
              Ceremony <code>{c.ceremonyId}</code>: {verdictText(c)}
            </p>
            {c.ok && c.facts && c.facts.signed === false && <p role="alert">Nothing in it is signed yet: its mode, script and dates are claims, not proof.</p>}
            {c.head && (
              <p>
                Head hash <code>{c.head}</code>
              </p>
            )}
          </section>
        ))}
      {entries?.error && (
        <p className="panel" data-testid="entries-note">
          {entries.error}
        </p>
      )}
      {entries && entries.entries.length > 0 && (
        <table className="entries">
          <caption>Transcript entries</caption>
          <thead>
            <tr>
              <th>#</th>
              <th>Step</th>
              <th>Action</th>
              <th>Time</th>
              <th>Signed by</th>
            </tr>
          </thead>
          <tbody>
            {entries.entries.map((e) => (
              <tr key={e.seq}>
                <td>{e.seq}</td>
                <td>{e.stepId}</td>
                <td>{e.action}</td>
                <td>{e.timestamp}</td>
                <td>{e.signers.join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
