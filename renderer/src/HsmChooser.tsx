import { useState, type FormEvent } from "react";
import type { HsmCheckResult, ProductionHsm } from "../../electron/core/app/hsm-chooser";
import { call, type ErrorLike } from "./api";
import { ErrorBox } from "./parts";

const RESULT = { pass: "Passed", fail: "FAILED", skip: "Skipped" } as const;
const TASK = { generate: "a root key generation", restore: "a recovery", sign: "a signing ceremony" } as const;

const count = (r: { checks: Array<{ status: string }> }, status: string) => r.checks.filter((c) => c.status === status).length;

/** Where the production module comes from, in words. */
function current(p: ProductionHsm) {
  if (!p.module) return <p>Current module: <strong>none: production is unavailable</strong>. Rehearsals always run on a throwaway SoftHSM2 token.</p>;
  return (
    <>
      <p>
        Current module: <code>{p.module}</code>
        {p.initArgs ? " (with initialisation arguments)" : ""} —{" "}
        {p.source === "environment" ? "from the environment variable CUSTOS_PKCS11_MODULE, which overrides the settings" : "chosen here, remembered in the settings"}.
      </p>
      {p.overridden && p.chosen && (
        <p className="note">
          The module chosen here, <code>{p.chosen.module}</code>, is overridden by CUSTOS_PKCS11_MODULE while that variable is set.
        </p>
      )}
    </>
  );
}

/** The verdict of a check, each check's result in words. */
function Verdict({ r }: { r: HsmCheckResult }) {
  if (r.verdict === "cannot-run") {
    return (
      <div className="verdict bad panel">
        <h3>The check could not run</h3>
        <p>{r.message}</p>
        {r.hint && <p className="muted">{r.hint}</p>}
      </div>
    );
  }
  const rep = r.report;
  return (
    <div className={`verdict ${r.verdict === "fit" ? "good" : "bad"} panel`}>
      <h3>
        {r.verdict === "fit"
          ? `FIT for ${TASK[rep.side]} with ${rep.algorithmsPassed.join(", ")}`
          : "NOT FIT — do not generate or restore a root key on this token"}
      </h3>
      <p>
        Token “{rep.token.label}”, serial {rep.token.serial}, model {rep.token.model} ({rep.token.manufacturer}); module by {rep.module.manufacturer}.
        {rep.wrapMechanism ? ` Backups would use ${rep.wrapMechanism.name}.` : ""}
      </p>
      <p>
        {rep.checks.length} checks: {count(rep, "pass")} passed, {count(rep, "fail")} failed, {count(rep, "skip")} skipped.
      </p>
      {rep.reasons.length > 0 && (
        <>
          <p>Why not:</p>
          <ul>
            {rep.reasons.map((x, i) => (
              <li key={i}>{x}</li>
            ))}
          </ul>
        </>
      )}
      <table className="checks">
        <caption className="visually-hidden">Each check and what it found</caption>
        <thead>
          <tr>
            <th scope="col">Result</th>
            <th scope="col">Check</th>
            <th scope="col">What was found</th>
          </tr>
        </thead>
        <tbody>
          {rep.checks.map((c) => (
            <tr key={c.id} className={`check-${c.status}`}>
              <td>{RESULT[c.status]}</td>
              <td>{c.title}</td>
              <td>{c.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">All throwaway keys made by these checks were destroyed.</p>
    </div>
  );
}

/**
 * "HSM for production" on the home screen: the module in force, a form to name
 * a module and token and check it (the preflight of `custos hsm-check`), and
 * "Use this module", enabled only after a FIT verdict for exactly what is in the
 * form. The PIN fields are emptied as soon as a check ends.
 */
export function HsmChooser({ production, onChanged }: { production: ProductionHsm; onChanged: (p: ProductionHsm) => void }) {
  const [module, setModule] = useState(production.chosen?.module ?? "");
  const [initArgs, setInitArgs] = useState(production.chosen?.initArgs ?? "");
  const [slot, setSlot] = useState("");
  const [serial, setSerial] = useState("");
  const [label, setLabel] = useState("");
  const [side, setSide] = useState<"generate" | "restore" | "sign">("generate");
  const [soPin, setSoPin] = useState("");
  const [userPin, setUserPin] = useState("");
  const [checking, setChecking] = useState(false);
  const [result, setResult] = useState<HsmCheckResult | null>(null);
  const [checkedFor, setCheckedFor] = useState<string | null>(null);
  const [done, setDone] = useState("");
  const [error, setError] = useState<ErrorLike | null>(null);

  const formKey = `${module.trim()}\u0000${initArgs.trim()}`;
  const fitHere = result?.verdict === "fit" && checkedFor === formKey;

  async function check(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setDone("");
    setResult(null);
    setChecking(true);
    try {
      const token = { ...(slot.trim() ? { slot: slot.trim() } : {}), ...(serial.trim() ? { serial: serial.trim() } : {}), ...(label.trim() ? { label: label.trim() } : {}) };
      const r = await call<HsmCheckResult>("hsm:check", { module: module.trim(), ...(initArgs.trim() ? { initArgs: initArgs.trim() } : {}), token, side, soPin, userPin });
      setResult(r);
      setCheckedFor(formKey);
    } catch (err) {
      setError(err as ErrorLike);
    } finally {
      // The PINs served this check only.
      setSoPin("");
      setUserPin("");
      setChecking(false);
    }
  }

  async function use() {
    setError(null);
    try {
      const p = await call<ProductionHsm>("hsm:choose", { module: module.trim(), ...(initArgs.trim() ? { initArgs: initArgs.trim() } : {}) });
      onChanged(p);
      setDone(`Remembered: production ceremonies use ${p.chosen?.module ?? module.trim()}.`);
    } catch (err) {
      setError(err as ErrorLike);
    }
  }

  async function forget() {
    setError(null);
    try {
      onChanged(await call<ProductionHsm>("hsm:forget", {}));
      setDone("Forgotten: no module is remembered.");
    } catch (err) {
      setError(err as ErrorLike);
    }
  }

  return (
    <section className="panel hsm-chooser" aria-labelledby="hsm-h">
      <h2 id="hsm-h">HSM for production</h2>
      {current(production)}
      {production.settingsError && <p className="note">{production.settingsError}</p>}
      {production.chosen && (
        <button type="button" onClick={forget}>
          Forget the chosen module
        </button>
      )}
      <form onSubmit={check} aria-labelledby="hsm-form-h">
        <h3 id="hsm-form-h">Check an HSM</h3>
        <label>
          PKCS#11 module (full path to the vendor's .so file)
          <input value={module} onChange={(e) => setModule(e.target.value)} required autoComplete="off" spellCheck={false} placeholder="/opt/vendor/lib/libvendorpkcs11.so" />
        </label>
        <label>
          Initialisation arguments (only for modules that need them, such as NSS; usually empty)
          <input value={initArgs} onChange={(e) => setInitArgs(e.target.value)} autoComplete="off" spellCheck={false} />
        </label>
        <fieldset className="row">
          <legend>Token (leave empty when the module shows one token)</legend>
          <label>
            Slot
            <input value={slot} onChange={(e) => setSlot(e.target.value)} inputMode="numeric" autoComplete="off" size={8} />
          </label>
          <label>
            Serial
            <input value={serial} onChange={(e) => setSerial(e.target.value)} autoComplete="off" spellCheck={false} size={18} />
          </label>
          <label>
            Token label
            <input value={label} onChange={(e) => setLabel(e.target.value)} autoComplete="off" spellCheck={false} size={18} />
          </label>
        </fieldset>
        <label>
          Check it for
          <select value={side} onChange={(e) => setSide(e.target.value as typeof side)}>
            <option value="generate">a root key generation and its backup (everything)</option>
            <option value="restore">a recovery onto this token (the unwrap side)</option>
            <option value="sign">a signing ceremony (the user role only)</option>
          </select>
        </label>
        <fieldset className="row">
          <legend>PINs — used for this check only, never stored</legend>
          <label>
            Security officer PIN
            <input type="password" value={soPin} onChange={(e) => setSoPin(e.target.value)} autoComplete="off" size={16} />
          </label>
          <label>
            User PIN
            <input type="password" value={userPin} onChange={(e) => setUserPin(e.target.value)} autoComplete="off" size={16} />
          </label>
        </fieldset>
        <button type="submit" disabled={checking || !module.trim()}>
          {checking ? "Checking…" : "Check this HSM"}
        </button>
      </form>
      <div aria-live="polite">
        {checking && <p>Checking with throwaway keys on the token (they are destroyed afterwards); this can take a minute.</p>}
        {result && <Verdict r={result} />}
      </div>
      <button type="button" className="primary" onClick={use} disabled={!fitHere} aria-describedby="hsm-use-why">
        Use this module
      </button>
      <p id="hsm-use-why" className="muted">
        {fitHere
          ? "This module was found fit: production ceremonies will use it (module path and initialisation arguments are remembered; PINs never are)."
          : result && result.verdict !== "fit" && checkedFor === formKey
            ? "Not available: Custos does not remember a module that was not found fit."
            : "Available after a FIT verdict for the module in the form: Custos remembers only a module found fit."}
      </p>
      {done && <p role="status">{done}</p>}
      {error && <ErrorBox error={error} />}
    </section>
  );
}
