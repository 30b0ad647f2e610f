/**
 * A room that answers the core's prompts through the channel map, the way the
 * renderer would, but without a screen: for driving a ceremony through the
 * core host protocol (tests, `npm run bench`). Generation ceremonies only.
 */
import type { Prompt } from "../../electron/core/app/prompts";
import type { SessionState } from "../../electron/core/app/service";
import type { Result } from "../../electron/shared/ipc";

export type Call = (channel: string, payload: unknown) => Promise<Result<unknown>>;

interface Person {
  name: string;
  roles: string[];
  passphrase: string;
  /** §2.4a: signs with a key on their own token; its PIN answers the passphrase prompts. */
  token?: { serial: string; keyLabel: string; pin: string };
}

/** Throws a failed Result as an Error with its code. */
export async function value<T>(r: Promise<Result<unknown>>): Promise<T> {
  const x = await r;
  if (!x.ok) throw Object.assign(new Error(`${x.code}: ${x.message}`), { code: x.code });
  return x.value as T;
}

export class StateRoom {
  readonly shares = new Map<string, string[]>();
  private people: Person[] = [];
  /** Prompt kinds seen, in order (for assertions). */
  readonly seen: string[] = [];
  /** Called before each prompt is answered (a test may kill the host there). */
  beforeAnswer?: (p: Prompt, s: SessionState) => Promise<"answer" | "skip">;

  constructor(
    private readonly call: Call,
    private readonly o: { custodians: number; soPin?: string; userPin?: string; tokens?: Record<string, { serial: string; keyLabel: string; pin: string }> },
  ) {}

  async state(since?: number): Promise<SessionState> {
    return value<SessionState>(this.call("session:state", since === undefined ? {} : { since }));
  }

  /** Runs the current step until it is recorded; throws the step's error if it stops. */
  async runStep(): Promise<SessionState> {
    let s = await value<SessionState>(this.call("session:run-step", {}));
    const step = s.step?.id;
    for (;;) {
      if (s.prompt) {
        const go = this.beforeAnswer ? await this.beforeAnswer(s.prompt, s) : "answer";
        if (go === "skip") return s;
        this.seen.push(s.prompt.kind);
        s = await value<SessionState>(this.call("session:answer", { promptId: s.prompt.id, value: this.answer(s.prompt) }));
        continue;
      }
      if (!s.running && (s.step?.id !== step || s.ceremony?.done)) return s;
      if (!s.running && s.lastError) throw Object.assign(new Error(`${s.lastError.code}: ${s.lastError.message}`), { code: s.lastError.code });
      s = await this.state(s.version);
    }
  }

  private person(name: string): Person {
    const p = this.people.find((x) => x.name === name);
    if (!p) throw new Error(`nobody called ${name} in the room`);
    return p;
  }

  private answer(p: Prompt): unknown {
    switch (p.kind) {
      case "checklist": {
        const one = (kind: string, id: string) => (kind === "serial" ? `REH-${100000 + Math.floor(Math.random() * 899999)}` : kind === "confirm" ? "confirmed" : `value for ${id}`);
        return { confirmed: true, values: Object.fromEntries(p.fields.map((f) => [f.id, f.count !== undefined ? Array.from({ length: f.count }, () => one(f.kind, f.id)) : one(f.kind, f.id)])) };
      }
      case "enrol": {
        this.people = p.roles.flatMap((r) => {
          const seats = r.id === "custodian" ? this.o.custodians : r.min;
          // o.tokens[role id]: the first person in that role brings their own token.
          const token = this.o.tokens?.[r.id];
          return Array.from({ length: seats }, (_, i) => ({ name: `${r.title} ${i + 1}`, roles: [r.id], passphrase: `${r.id} ${i + 1} passphrase 2026`, ...(i === 0 && token ? { token } : {}) }));
        });
        return this.people.map((x) => ({ name: x.name, roles: x.roles, ...(x.token ? { token: x.token } : { passphrase: x.passphrase }) }));
      }
      case "passphrase": {
        const who = this.person(p.participant.name);
        if ((p.secret === "token-pin") !== !!who.token) throw new Error(`the prompt asks ${p.participant.name} for a ${p.secret}`);
        return { passphrase: who.token ? who.token.pin : who.passphrase };
      }
      case "choose-signers":
        return { ids: p.candidates.slice(0, p.count).map((c) => c.id) };
      case "choose-token":
        return { slotId: (p.tokens.find((t) => !t.initialized) ?? p.tokens[0]!).slotId };
      case "pin":
        return { pin: p.role === "so" ? (this.o.soPin ?? "87654321") : (this.o.userPin ?? "12345678") };
      case "hand-out-share":
        this.shares.set(p.card.custodianName, p.card.words);
        return { confirmed: true };
      case "reenter-share": {
        const words = this.shares.get(p.custodian.name);
        if (!words) throw new Error(`no share noted for ${p.custodian.name}`);
        return { share: words.join(" ") };
      }
      default:
        throw new Error(`the state room does not answer ${p.kind} prompts`);
    }
  }
}
