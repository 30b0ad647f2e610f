/**
 * The one ceremony session of the app as it stands: the open ceremony, whether
 * a step runs, the question on screen, the last error and entry. Every change
 * bumps a version, which the screens' long poll (session:state) waits on.
 */
import type { Ceremony } from "../engine/ceremony";
import { PromptBroker, type ShownError } from "./prompts";
import type { UiDriver } from "./ui-driver";
import { ceremonyView, forRoom, type SessionState } from "./session-view";

export class LiveSession {
  private version = 1;
  private readonly waiters: Array<() => void> = [];
  readonly broker = new PromptBroker(() => this.bump());
  ceremony: Ceremony | null = null;
  running = false;
  lastError: ShownError | null = null;
  lastEntry: SessionState["lastEntry"] = null;
  typing: SessionState["typing"] = null;
  /** Counts step runs: a run abandoned by leaving must not touch the session any more. */
  runs = 0;
  /** Steps that failed in this session, by step id (a later run of it is a retry). */
  readonly failures = new Map<string, number>();
  /** The driver of the open ceremony's questions (made with its engine dependencies). */
  driver: UiDriver | null = null;

  constructor(
    /** The folder of a ceremony's artifacts. */
    private readonly ceremonyDir: (id: string) => string,
  ) {}

  /** Something the screens show changed: wakes every waiting poll. */
  bump(): void {
    this.version++;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Returns once the state is newer than `since` (at once when it already is), or after 20 s. */
  async changedSince(since: number | undefined): Promise<void> {
    if (since !== undefined && since >= this.version) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20_000);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  state(surface: "room" | "private" = "private"): SessionState {
    const c = this.ceremony;
    const view = c?.currentStep();
    const full: SessionState = {
      version: this.version,
      ceremony: c ? ceremonyView(c, this.ceremonyDir(c.id)) : null,
      step: view ? { index: view.index, total: view.total, id: view.step.id, title: view.step.title, read: view.step.read, action: view.step.action, attest: view.step.attest } : null,
      running: this.running,
      prompt: this.broker.current(),
      lastError: this.lastError,
      lastEntry: this.lastEntry,
      handedOut: this.driver && this.running ? this.driver.handedOut.map((h) => ({ ...h })) : [],
      typing: this.broker.current() ? this.typing : null,
    };
    return surface === "room" ? forRoom(full) : full;
  }
}
