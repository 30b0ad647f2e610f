// Signing ceremonies (issue 15): inputs from outside the room arrive on a
// medium, never typed. The file is chosen in the main process's dialog; the
// screen holds only its handle. Its SHA-256 is then shown as hex and words for
// the witness to compare aloud with the value the requester sent separately.
// Neither prompt shows a secret: both belong on the room display.
import { useState, type FormEvent } from "react";
import type { Prompt } from "../api";
import { ErrorBox } from "../parts";
import { chooseOpen, type ChosenFile } from "../files";

type P<K extends Prompt["kind"]> = Extract<Prompt, { kind: K }>;
type Answer = (value: unknown) => Promise<void>;

export function ReadInput({ p, answer }: { p: P<"read-input">; answer: Answer }) {
  const [file, setFile] = useState<ChosenFile>(null);
  const [pickError, setPickError] = useState<{ message: string; hint?: string } | null>(null);
  async function pick() {
    setPickError(null);
    try {
      const f = await chooseOpen("input");
      if (f) setFile(f);
    } catch (e) {
      setPickError(e as Error);
    }
  }
  return (
    <form
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        if (file) void answer({ file: file.handle });
      }}
    >
      <h2>Input “{p.name}” from the medium</h2>
      <p>{p.description}</p>
      <p className="hint">
        Expected: {p.inputKind}. The file is read from the medium the requester sent; nothing is typed.
      </p>
      {p.error && <ErrorBox error={p.error} />}
      <p>
        <button type="button" onClick={() => void pick()}>
          Choose the file…
        </button>{" "}
        {file && <code data-testid="input-file">{file.name}</code>}
      </p>
      {pickError && <ErrorBox error={pickError} />}
      <button type="submit" className="primary" disabled={!file}>
        Read this file
      </button>
    </form>
  );
}

export function CompareInputHash({ p, answer }: { p: P<"compare-input-hash">; answer: Answer }) {
  return (
    <div>
      <h2>Compare aloud: SHA-256 of “{p.fileName}”</h2>
      <p>{p.summary}</p>
      <p className="hint">The witness reads the value the requester sent separately; the operator reads these.</p>
      <p className="hash" data-testid="input-sha256">
        <code>{p.sha256.replace(/(.{8})/g, "$1 ").trim()}</code>
      </p>
      <ol className="words" data-testid="input-words">
        {p.words.map((w, i) => (
          <li key={i}>{w}</li>
        ))}
      </ol>
      <p>
        <button type="button" className="primary" onClick={() => void answer({ match: true })}>
          They match — the witness attests
        </button>{" "}
        <button type="button" onClick={() => void answer({ match: false })}>
          They differ — stop
        </button>
      </p>
    </div>
  );
}
