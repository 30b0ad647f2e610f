import { useState, type FormEvent } from "react";
import type { BagRecord, CustodyRegister, ShareRecord } from "../../electron/core/app/custody-actions";
import { call } from "./api";
import { chooseOpen, type ChosenFile } from "./files";
import { ErrorBox } from "./parts";

const day = (iso: string) => iso.slice(0, 10);
const KIND: Record<string, string> = {
  generation: "Generation",
  "health-check": "Share health check",
  "re-split": "Share re-split",
  recovery: "Recovery",
  destruction: "Destruction",
  signing: "Signing",
  other: "Ceremony",
};
const STATUS = [
  "Every transcript is intact and every link between them holds.",
  "NOT INTACT or BROKEN LINK: a transcript does not verify, or one the others name is missing.",
  "An input could not be read as a transcript.",
  "Intact and linked, but custody NEEDS ATTENTION.",
];

function lastCheck(s: ShareRecord): string {
  if (!s.lastCheck) return `not checked since issued ${day(s.issued)}`;
  const v = { valid: "checked valid", invalid: "INVALID", absent: "ABSENT", used: "used (checked)" }[s.lastCheck.verdict];
  return `${v} ${day(s.lastCheck.at)}`;
}

function bagLife(b: BagRecord): string {
  const parts = [b.sealed ? `sealed in ${b.sealed.ceremonyId} (${day(b.sealed.at)})` : "not recorded sealed"];
  const seen = b.seen.filter((w) => w.ceremonyId !== b.opened?.ceremonyId || b.opened.inferred);
  if (seen.length) parts.push(`seen intact in ${seen.map((w) => w.ceremonyId).join(", ")}`);
  parts.push(b.opened ? `${b.opened.inferred ? "opened (its card was used)" : "seen intact and opened"} in ${b.opened.ceremonyId} (${day(b.opened.at)})` : "still sealed");
  return parts.join("; ");
}

/** For auditors: the custody register of one root, over the transcripts of its ceremonies (same facts as `custos custody`). */
export function CustodyScreen({ onBack }: { onBack: () => void }) {
  const [files, setFiles] = useState<NonNullable<ChosenFile>[]>([]);
  const [months, setMonths] = useState(12);
  const [reg, setReg] = useState<CustodyRegister | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; hint?: string } | null>(null);
  async function add() {
    setError(null);
    try {
      const f = await chooseOpen("verify");
      if (f) setFiles((list) => [...list, f]);
    } catch (err) {
      setError(err as Error);
    }
  }
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!files.length) return;
    setError(null);
    setReg(null);
    setBusy(true);
    try {
      setReg(await call<CustodyRegister>("custody:register", { files: files.map((f) => f.handle), checkIntervalMonths: months }));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main className="home">
      <h1>Custody register</h1>
      <form onSubmit={submit} className="panel">
        <p>Every transcript of one root — generation, health checks, re-splits, recoveries, destruction, signing ceremonies — each verified, and the links between them followed.</p>
        <p>
          <button type="button" onClick={add} autoFocus>
            Add a transcript…
          </button>{" "}
          {files.length > 0 && (
            <button type="button" onClick={() => setFiles([])}>
              Clear
            </button>
          )}
        </p>
        {files.length > 0 && (
          <ul data-testid="custody-files">
            {files.map((f, i) => (
              <li key={`${f.handle}-${i}`}>
                <code>{f.name}</code>
              </li>
            ))}
          </ul>
        )}
        <p>
          <label>
            Check interval (months){" "}
            <input type="number" min={1} max={999} value={months} onChange={(e) => setMonths(Math.max(1, Math.min(999, Number(e.target.value) || 12)))} />
          </label>
        </p>
        <button type="submit" className="primary" disabled={!files.length || busy}>
          {busy ? "Verifying…" : "Build the register"}
        </button>
        <button type="button" onClick={onBack}>
          Back
        </button>
      </form>
      {error && <ErrorBox error={error} />}
      {reg && <Register reg={reg} />}
    </main>
  );
}

function Register({ reg }: { reg: CustodyRegister }) {
  return (
    <>
      <section className={`panel verdict ${reg.status === 0 ? "good" : "bad"}`} data-testid="custody-status">
        <h2>{STATUS[reg.status]}</h2>
        {reg.mode === "rehearsal" && <p>REHEARSAL: these ceremonies were rehearsals on throwaway tokens.</p>}
        {reg.root && (
          <p>
            Root key <code>{reg.root.fingerprint}</code> {reg.root.algorithm && `(${reg.root.algorithm})`} —{" "}
            {reg.root.generated ? `generated in ${reg.root.generated.ceremonyId} on ${day(reg.root.generated.at)}` : "the generation ceremony is not in the set"}
          </p>
        )}
        <p className="muted">
          As of {reg.asOf}; a share is overdue when not seen good for {reg.checkIntervalMonths} months.
        </p>
      </section>
      {reg.findings.length > 0 && (
        <section className="panel" data-testid="custody-findings">
          <h2>Findings ({reg.findings.length})</h2>
          <ul>
            {reg.findings.map((f, i) => (
              <li key={i} role={f.severity === "broken" ? "alert" : undefined}>
                <strong>{f.severity === "broken" ? "BROKEN" : f.severity === "attention" ? "ATTENTION" : "Note"}</strong> {f.code}: {f.text}
              </li>
            ))}
          </ul>
        </section>
      )}
      <table className="entries">
        <caption>Transcripts</caption>
        <thead>
          <tr>
            <th>File</th>
            <th>Ceremony</th>
            <th>Verdict</th>
          </tr>
        </thead>
        <tbody>
          {reg.inputs.map((i, n) => (
            <tr key={n}>
              <td>{i.file}</td>
              <td>{i.ceremonyId ?? "—"}</td>
              <td>{i.state === "intact" ? (i.completeness === "complete" ? "intact, sealed" : i.completeness === "aborted" ? "intact, ABORTED" : "intact so far, NOT COMPLETE") : `${i.state.toUpperCase()} — ${i.reason ?? ""}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="entries" data-testid="custody-life">
        <caption>The key's life</caption>
        <thead>
          <tr>
            <th>Date</th>
            <th>Ceremony</th>
            <th>What happened</th>
            <th>Source link</th>
          </tr>
        </thead>
        <tbody>
          {reg.ceremonies.map((c) => (
            <tr key={c.ceremonyId}>
              <td>{day(c.opened)}</td>
              <td>
                {KIND[c.kind]} <code>{c.ceremonyId}</code>
                {c.completeness !== "complete" && <strong> {c.completeness === "aborted" ? "ABORTED" : "NOT COMPLETE"}</strong>}
              </td>
              <td>
                {[
                  c.token && (c.kind === "generation" || c.kind === "recovery") ? `${c.kind === "generation" ? "generated" : "restored"} on token ${c.token.serial || "?"} (${c.token.model})` : "",
                  c.backup ? `backup ${c.backup.threshold} of ${c.backup.total}, KCV ${c.backup.kcv}` : "",
                  c.healthCheck ? `${c.healthCheck.valid} of ${c.healthCheck.total} shares valid, quorum ${c.healthCheck.quorumAvailable ? "available" : "NOT available"}` : "",
                  c.destroyed !== undefined ? `${c.destroyed} key object(s) destroyed` : "",
                  c.signed.join(", "),
                ]
                  .filter(Boolean)
                  .join("; ")}
              </td>
              <td>{c.link ? (c.link.state === "linked" ? "holds" : c.link.state.toUpperCase()) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {reg.backups.map((b) => (
        <table className="entries" key={b.ceremonyId} data-testid="custody-shares">
          <caption>
            Backup {b.ceremonyId}: {b.threshold} of {b.total}, made {day(b.at)}
            {b.current ? " — CURRENT" : b.revoked ? ` — revoked by ${b.revoked.ceremonyId}` : ""}
          </caption>
          <thead>
            <tr>
              <th>Share</th>
              <th>Holder</th>
              <th>Last check</th>
              <th>Bag</th>
            </tr>
          </thead>
          <tbody>
            {reg.shares
              .filter((s) => s.setId === b.ceremonyId)
              .map((s) => (
                <tr key={s.index}>
                  <td>{s.index}</td>
                  <td>
                    {s.holder} ({s.holderId})
                  </td>
                  <td>{lastCheck(s)}</td>
                  <td>{s.bag ?? "—"}</td>
                </tr>
              ))}
          </tbody>
        </table>
      ))}
      {reg.bags.length > 0 && (
        <table className="entries" data-testid="custody-bags">
          <caption>Tamper-evident bags</caption>
          <thead>
            <tr>
              <th>Serial</th>
              <th>Holds</th>
              <th>Life</th>
            </tr>
          </thead>
          <tbody>
            {reg.bags.map((b) => (
              <tr key={b.serial}>
                <td>{b.serial}</td>
                <td>{b.share ? `share ${b.share.index}` : b.holds}</td>
                <td>{bagLife(b)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
