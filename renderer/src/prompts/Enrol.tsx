import { useState } from "react";
import { ErrorBox } from "../parts";
import { Form, type Answer, type P } from "./PromptView";

interface Row {
  name: string;
  roles: string[];
  passphrase: string;
  again: string;
  sourceId?: string;
}

/**
 * Attendance: each person types their passphrase twice (it is never shown or stored). A refused
 * enrolment keeps everything typed (the component stays mounted while the same question is asked again).
 */
export function Enrol({ p, answer }: { p: P<"enrol">; answer: Answer }) {
  const initial: Row[] = p.roles.flatMap((r) => Array.from({ length: Math.max(r.min, 0) }, () => ({ name: "", roles: [r.id], passphrase: "", again: "" })));
  const [rows, setRows] = useState<Row[]>(initial);
  const set = (i: number, r: Partial<Row>) => setRows(rows.map((x, j) => (j === i ? { ...x, ...r } : x)));
  const mismatch = rows.some((r) => r.again !== r.passphrase);
  const sourceRole = (r: Row) => p.source?.roles.some((x) => r.roles.includes(x));
  return (
    <Form
      submit="Enrol everyone"
      onSubmit={() =>
        !mismatch &&
        answer(
          rows.map((r) => {
            if (sourceRole(r)) {
              const src = p.source!.participants.find((s) => s.id === r.sourceId);
              return { name: src?.name ?? r.name, roles: r.roles, passphrase: r.passphrase, sourceId: r.sourceId };
            }
            return { name: r.name, roles: r.roles, passphrase: r.passphrase };
          }),
        )
      }
    >
      <h2>Attendance</h2>
      <p className="muted">Each person types their own passphrase (at least 12 characters); it is not stored.{p.source && " Custodians choose their name from the source ceremony and type the passphrase they chose there."}</p>
      {p.error && <ErrorBox error={p.error} />}
      {mismatch && rows.every((r) => r.again !== "") && <p className="error">Some passphrases typed twice differ; type them again.</p>}
      <table className="enrol">
        <thead>
          <tr>
            <th>Name</th>
            <th>Roles</th>
            <th>Passphrase</th>
            <th>Passphrase again</th>
            <th>
              <span className="visually-hidden">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} data-testid="enrol-row">
              <td>
                {sourceRole(r) ? (
                  <select aria-label={`Participant ${i + 1} identity`} value={r.sourceId ?? ""} onChange={(e) => set(i, { sourceId: e.target.value })} required>
                    <option value="">— choose —</option>
                    {p.source!.participants.map((s) => (
                      <option key={s.id} value={s.id}>
                        {s.name}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input aria-label={`Participant ${i + 1} name`} value={r.name} onChange={(e) => set(i, { name: e.target.value })} required autoFocus={i === 0} />
                )}
              </td>
              <td>
                {p.roles.map((role) => (
                  <label key={role.id} className="inline">
                    <input
                      type="checkbox"
                      checked={r.roles.includes(role.id)}
                      onChange={(e) => set(i, { roles: e.target.checked ? [...r.roles, role.id] : r.roles.filter((x) => x !== role.id) })}
                    />
                    {role.title}
                  </label>
                ))}
              </td>
              <td>
                <input type="password" aria-label={`Participant ${i + 1} passphrase`} value={r.passphrase} onChange={(e) => set(i, { passphrase: e.target.value })} required minLength={12} autoComplete="off" />
              </td>
              <td>
                <input
                  type="password"
                  aria-label={`Participant ${i + 1} passphrase again`}
                  aria-invalid={r.again !== "" && r.again !== r.passphrase}
                  value={r.again}
                  onChange={(e) => set(i, { again: e.target.value })}
                  required
                  autoComplete="off"
                />
                {r.again !== "" && r.again !== r.passphrase && <span className="field-error">differs</span>}
              </td>
              <td>
                <button type="button" onClick={() => setRows(rows.filter((_, j) => j !== i))} aria-label={`Remove participant ${i + 1}`}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        {p.roles.map((role) => (
          <button type="button" key={role.id} onClick={() => setRows([...rows, { name: "", roles: [role.id], passphrase: "", again: "" }])}>
            Add {role.title.toLowerCase()}
          </button>
        ))}
      </p>
    </Form>
  );
}

