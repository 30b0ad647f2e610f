import { useEffect, useRef, useState } from "react";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { call } from "../api";
import { ErrorBox } from "../parts";

const WORDS = new Set(wordlist);
const PREFIXES = new Set(wordlist.map((w) => w.slice(0, 4)));

/** A word of the list, or its unique first four letters (the card's checksum does the rest). */
export function isListWord(w: string): boolean {
  const t = w.trim().toLowerCase();
  return WORDS.has(t) || (t.length >= 4 && PREFIXES.has(t.slice(0, 4)) && wordlist.some((x) => x.startsWith(t)));
}

/**
 * A share typed in on the private view: one masked field per word, each
 * checked against the word list as it is typed; the whole share (checksum,
 * commitment) is checked by the core. Nothing typed is echoed anywhere else:
 * the room display only learns how many words are filled. Typing or pasting
 * several words into one field spreads them over the next fields.
 */
export function ShareEntry({
  title,
  note,
  count,
  error,
  answer,
}: {
  title: string;
  note?: string;
  count: number;
  error?: { message: string; hint: string; details: Record<string, unknown> };
  answer: (v: unknown) => Promise<void>;
}) {
  const [words, setWords] = useState<string[]>(() => Array.from({ length: count }, () => ""));
  const [hex, setHex] = useState("");
  const [useHex, setUseHex] = useState(false);
  const [show, setShow] = useState(false);
  const refs = useRef<Array<HTMLInputElement | null>>([]);
  const filled = words.filter((w) => w.trim() !== "").length;
  const valid = words.filter((w) => w.trim() !== "" && isListWord(w)).length;
  const complete = useHex ? /^[0-9a-fA-F\s]{16,}$/.test(hex) : valid === count;

  // The room display shows progress (counts only).
  useEffect(() => {
    const t = setTimeout(() => void call("session:progress", { filled: useHex ? 0 : filled, valid: useHex ? 0 : valid, of: useHex ? 0 : count }).catch(() => {}), 150);
    return () => clearTimeout(t);
  }, [filled, valid, count, useHex]);

  const set = (i: number, v: string) => {
    const parts = v.split(/\s+/);
    if (parts.length === 1) {
      setWords(words.map((x, j) => (j === i ? v : x)));
      return;
    }
    // Several words: spread them from this field on, and move on to the next empty field.
    const next = [...words];
    let k = i;
    for (const part of parts) {
      if (k >= count) break;
      if (part === "" && k > i) continue;
      next[k] = part;
      if (part !== "") k++;
    }
    setWords(next);
    refs.current[Math.min(k, count - 1)]?.focus();
  };

  return (
    <form
      className="share-entry"
      onSubmit={(e) => {
        e.preventDefault();
        if (!complete) return;
        void answer({ share: useHex ? hex.replace(/\s+/g, "") : words.map((w) => w.trim().toLowerCase()).join(" ") });
      }}
    >
      <h2>{title}</h2>
      {note && <p className="muted">{note}</p>}
      {error && <ErrorBox error={error} />}
      <p className="muted">
        {useHex ? "Type the share's hex." : `${filled} of ${count} words, ${valid} on the word list. The first four letters of a word are enough.`}{" "}
        <label className="inline">
          <input type="checkbox" checked={show} onChange={(e) => setShow(e.target.checked)} /> show what I type
        </label>
        <label className="inline">
          <input type="checkbox" checked={useHex} onChange={(e) => setUseHex(e.target.checked)} /> enter hex instead
        </label>
      </p>
      {useHex ? (
        <label>
          Share in hex
          <input type={show ? "text" : "password"} value={hex} onChange={(e) => setHex(e.target.value)} autoComplete="off" spellCheck={false} autoFocus />
        </label>
      ) : (
        <ol className="word-fields" data-testid="word-fields">
          {words.map((w, i) => {
            const bad = w.trim() !== "" && !isListWord(w);
            return (
              <li key={i} className={bad ? "bad" : w.trim() ? "good" : ""}>
                <input
                  ref={(el) => {
                    refs.current[i] = el;
                  }}
                  type={show ? "text" : "password"}
                  aria-label={`Word ${i + 1}`}
                  aria-invalid={bad}
                  value={w}
                  onChange={(e) => set(i, e.target.value)}
                  autoComplete="off"
                  autoCapitalize="off"
                  spellCheck={false}
                  autoFocus={i === 0}
                />
                <span className="mark" aria-hidden="true">
                  {bad ? "✗" : w.trim() ? "✓" : ""}
                </span>
                {bad && <span className="visually-hidden">not a word of the list</span>}
              </li>
            );
          })}
        </ol>
      )}
      <button type="submit" className="primary" disabled={!complete}>
        Check this share
      </button>
    </form>
  );
}
