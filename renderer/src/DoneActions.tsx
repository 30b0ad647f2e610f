import { useState } from "react";
import { call } from "./api";
import { verdictText } from "./verdict";
import { chooseSave } from "./files";
import { ErrorBox } from "./parts";

type Verdict = Parameters<typeof verdictText>[0];

/** What a finished ceremony offers: verify it, print or save its report, open its folder. */
export function DoneActions() {
  const [outcome, setOutcome] = useState<string | null>(null);
  const [verdict, setVerdict] = useState<string | null>(null);
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function act(what: () => Promise<string | null>) {
    setError(null);
    setOutcome(null);
    setBusy(true);
    try {
      setOutcome(await what());
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  }

  async function verify() {
    setError(null);
    try {
      const v = await call<Verdict>("report:verify", {});
      setVerdict(verdictText(v));
    } catch (e) {
      setError(e as Error);
    }
  }

  return (
    <div className="done-actions">
      <p>
        <button className="primary" onClick={verify}>
          Verify the transcript now
        </button>
      </p>
      {verdict && (
        <p className="verdict" data-testid="done-verdict">
          {verdict}
        </p>
      )}
      <p>
        <button disabled={busy} onClick={() => act(async () => `Printed: ${(await call<{ printed: string }>("report:print", {})).printed}`)}>
          Print report
        </button>{" "}
        <button
          disabled={busy}
          onClick={() =>
            act(async () => {
              const f = await chooseSave("report");
              if (!f) return null;
              return `Saved as ${(await call<{ saved: string }>("report:save", { file: f.handle })).saved}`;
            })
          }
        >
          Save report…
        </button>{" "}
        <button disabled={busy} onClick={() => act(async () => (await call("report:open-folder", {}), "Folder opened."))}>
          Open folder
        </button>
      </p>
      {outcome && <p role="status">{outcome}</p>}
      {error && <ErrorBox error={error} />}
    </div>
  );
}
