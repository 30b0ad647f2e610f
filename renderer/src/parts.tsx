import { useEffect, useState } from "react";

/** An error as people read it: what happened, then what to do. */
export function ErrorBox({ error }: { error: { message: string; hint?: string; details?: Record<string, unknown> } }) {
  return (
    <div className="error" role="alert">
      <p>{error.message}</p>
      {error.details?.suggestion ? <p className="suggestion">{String(error.details.suggestion)}</p> : null}
      {error.hint && <p className="hint">{error.hint}</p>}
    </div>
  );
}

/** A wall clock for the strip, so video frames can be matched to entries. */
export function Clock() {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 1000);
    return () => clearInterval(t);
  }, []);
  return <time dateTime={now.toISOString()}>{now.toISOString().slice(11, 19)} UTC</time>;
}
