import { useEffect, useState } from "react";
import { ErrorBox } from "../parts";
import { Form, type Answer, type P } from "./PromptView";

interface Row {
  name: string;
  roles: string[];
  passphrase: string;
  again: string;
  /** §2.4a: "token" signs with a key on the person's own PKCS#11 token instead of a passphrase. */
  signsWith: "passphrase" | "token";
  serial: string;
  keyLabel: string;
  pin: string;
  sourceId?: string;
}

const blank = (role: string): Row => ({ name: "", roles: [role], passphrase: "", again: "", signsWith: "passphrase", serial: "", keyLabel: "", pin: "" });

/**
 * Attendance: each person types their passphrase twice (it is never shown or stored), or names a key
 * on their own token (serial, key label) and types its PIN. A refused enrolment keeps everything typed
 * (the component stays mounted while the same question is asked again) except token PINs: those are
 * cleared, so a wrong PIN is never sent to a token twice by one click.
 */
export function Enrol({ p, answer }: { p: P<"enrol">; answer: Answer }) {
  const initial: Row[] = p.roles.flatMap((r) => Array.from({ length: Math.max(r.min, 0) }, () => blank(r.id)));
  const [rows, setRows] = useState<Row[]>(initial);
  const set = (i: number, r: Partial<Row>) => setRows(rows.map((x, j) => (j === i ? { ...x, ...r } : x)));
  useEffect(() => {
    if (p.error) setRows((rs) => rs.map((r) => (r.pin ? { ...r, pin: "" } : r)));
  }, [p.error]);
  const mismatch = rows.some((r) => r.signsWith === "passphrase" && r.again !== r.passphrase);
  const secretOf = (r: Row) =>
    r.signsWith === "token" ? { token: { serial: r.serial.trim(), keyLabel: r.keyLabel, pin: r.pin } } : { passphrase: r.passphrase };
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
              return { name: src?.name ?? r.name, roles: r.roles, ...secretOf(r), sourceId: r.sourceId };
            }
            return { name: r.name, roles: r.roles, ...secretOf(r) };
          }),
        )
      }
    >
      <h2>Attendance</h2>
      <p className="muted">
        Each person types their own passphrase (at least 12 characters), or chooses a key on their own token (smart card, PIV key, USB token) and types its PIN; neither is
        stored.{p.source && " Custodians choose their name from the source ceremony and type the passphrase they chose there (or use the token they enrolled with there)."}
      </p>
      <p className="muted">If the enrolment is refused, everything typed stays except token PINs, which are cleared: type the PIN again.</p>
      {p.error && <ErrorBox error={p.error} />}
      {mismatch && rows.every((r) => r.signsWith === "token" || r.again !== "") && <p className="error">Some passphrases typed twice differ; type them again.</p>}
      <table className="enrol">
        <thead>
          <tr>
            <th>Name</th>
            <th>Roles</th>
            <th>Signs with</th>
            <th>Passphrase, or token and PIN</th>
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
                <fieldset className="signs-with">
                  <legend className="visually-hidden">Participant {i + 1} signs with</legend>
                  <label className="inline">
                    <input type="radio" name={`signs-with-${i}`} checked={r.signsWith === "passphrase"} onChange={() => set(i, { signsWith: "passphrase" })} />
                    Passphrase
                  </label>
                  <label className="inline">
                    <input type="radio" name={`signs-with-${i}`} checked={r.signsWith === "token"} onChange={() => set(i, { signsWith: "token" })} />A key on my own token
                  </label>
                </fieldset>
              </td>
              <td>
                {r.signsWith === "passphrase" ? (
                  <>
                    <input type="password" aria-label={`Participant ${i + 1} passphrase`} value={r.passphrase} onChange={(e) => set(i, { passphrase: e.target.value })} required minLength={12} autoComplete="off" />
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
                  </>
                ) : (
                  <>
                    <label>
                      <span className="visually-hidden">Participant {i + 1} </span>
                      Token serial
                      <input value={r.serial} onChange={(e) => set(i, { serial: e.target.value })} required maxLength={64} autoComplete="off" spellCheck={false} />
                    </label>
                    <label>
                      <span className="visually-hidden">Participant {i + 1} </span>
                      Key label
                      <input value={r.keyLabel} onChange={(e) => set(i, { keyLabel: e.target.value })} required maxLength={64} autoComplete="off" spellCheck={false} />
                    </label>
                    <label>
                      <span className="visually-hidden">Participant {i + 1} </span>
                      Token PIN
                      <input type="password" value={r.pin} onChange={(e) => set(i, { pin: e.target.value })} required maxLength={256} autoComplete="off" />
                    </label>
                  </>
                )}
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
          <button type="button" key={role.id} onClick={() => setRows([...rows, blank(role.id)])}>
            Add {role.title.toLowerCase()}
          </button>
        ))}
      </p>
    </Form>
  );
}

