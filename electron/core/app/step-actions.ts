/**
 * The open ceremony at work: running its next step, the people's answers to
 * the step's questions (and how far they have typed), and what can be said
 * at any moment: an exception, an abort.
 */
import type { ChannelRequest } from "../../shared/ipc";
import type { Ceremony } from "../engine/ceremony";
import { CustosError } from "../errors";
import { detailOf, loggedError, shownOf, type AppLogger } from "./boundary";
import type { LiveSession } from "./live-session";
import { entryView } from "./session-view";

export interface StepActionDeps {
  live: LiveSession;
  /** Writes a closed ceremony's bundle and report. */
  finish: (c: Ceremony) => void;
  log: AppLogger;
}

/** The session:* handlers of the core for the state, the steps and the people's input. */
export function stepHandlers(d: StepActionDeps) {
  const { live, log } = d;
  const { broker } = live;
  return {
    async "session:state"(req: ChannelRequest<"session:state">) {
      await live.changedSince(req.since);
      return live.state(req.surface ?? "private");
    },
    async "session:run-step"() {
      const c = live.ceremony;
      if (!c) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "Start or resume one.");
      if (live.running || c.done) return live.state();
      const view = c.currentStep()!;
      const failed = live.failures.get(view.step.id) ?? 0;
      if (failed > 0) c.recordDeviation("retry", { step: view.step.id, stepTitle: view.step.title, attempt: failed + 1 });
      live.running = true;
      const run = ++live.runs;
      live.lastError = null;
      live.typing = null;
      live.driver?.newStep();
      live.bump();
      void c
        .runNextStep()
        .then((e) => {
          if (run !== live.runs) return;
          live.lastEntry = entryView(c, e);
          if (c.done) d.finish(c);
        })
        .catch((e: unknown) => {
          if (run !== live.runs) return;
          const err = loggedError(log, e, { intact: "Every step recorded before this one is kept in the transcript." });
          live.lastError = shownOf(err);
          broker.cancel("The step stopped.");
          if (live.ceremony === c && !c.done) {
            live.failures.set(view.step.id, failed + 1);
            // The message is built without secrets (share material, PINs and passphrases never enter errors).
            try {
              c.recordDeviation("step-failed", { step: view.step.id, stepTitle: view.step.title, reason: err.message.slice(0, 500), code: err.code });
            } catch (dev) {
              // Custos is closing (the store is shut): the step's failure is in the log only.
              log("warn", "the failed step could not be recorded as a deviation", detailOf(dev));
            }
          }
        })
        .finally(() => {
          // A step of a ceremony that was left since no longer owns the session.
          if (run !== live.runs) return;
          live.running = false;
          live.bump();
        });
      return live.state();
    },
    async "session:answer"(req: ChannelRequest<"session:answer">) {
      broker.answer(req.promptId, req.value);
      live.typing = null;
      return live.state();
    },
    async "session:exception"(req: ChannelRequest<"session:exception">) {
      const c = live.ceremony;
      if (!c) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "");
      // Refused before anything is checked: a closed transcript takes no more entries.
      if (c.done) throw new CustosError("CEREMONY_CLOSED", "The ceremony is closed; nothing more can be recorded in its transcript.", "Write the exception on the paper record.");
      // Any moment, a prompt open or a step running: the witness signs with the passphrase typed here,
      // so no other question is asked and the step's own entry is chained after this one.
      const e = await c.recordException(req.text, req.witnessId, req.passphrase);
      live.lastEntry = entryView(c, e);
      live.bump();
      return live.state();
    },
    async "session:abort"(req: ChannelRequest<"session:abort">) {
      const c = live.ceremony;
      if (!c) throw new CustosError("NO_CEREMONY", "No ceremony is open.", "");
      if (c.done) throw new CustosError("CEREMONY_CLOSED", "The ceremony is already closed.", "");
      const e = await c.abort(req.reason, [], req.signers);
      live.lastEntry = entryView(c, e);
      // A step waiting for a question stops; nothing of it is recorded after the abort.
      broker.cancel("The ceremony was aborted.");
      d.finish(c);
      live.bump();
      return live.state();
    },
    async "session:progress"(req: ChannelRequest<"session:progress">) {
      if (!broker.current()) return live.state();
      live.typing = { filled: req.filled, valid: req.valid, of: req.of };
      live.bump();
      return live.state();
    },
  };
}
