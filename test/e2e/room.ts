import { expect, type Locator, type Page } from "@playwright/test";
import { axe, surfaceShot } from "./harness";
import { answerPrompt } from "./room-answers";
import { RoomInput } from "./room-input";
import type { Watch } from "./room-watch";

export { Watch, type HandedOut } from "./room-watch";

export interface Person {
  name: string;
  role: string;
  passphrase: string;
  /** Signs with a key on their own token (§2.4a) instead of the passphrase. */
  token?: { serial: string; keyLabel: string; pin: string };
  sourceName?: string;
  /** The role's title in this script, where it differs from the usual one. */
  title?: string;
}

/** What the room does off script, once each, when the moment comes. */
export interface Deviations {
  wrongPin?: boolean;
  /** The first card taken down wrongly (two words swapped) at its check. */
  miscopy?: boolean;
  /** An exception written during this prompt kind (a question open). */
  exceptionAt?: string;
  /** Leave while this share (1-based) is being handed out, then resume. */
  leaveAtShare?: number;
}

/**
 * The people in the room, clicking and typing (or typing only) as they
 * would on the private view, while the room display is checked at every
 * step and question.
 */
export class Room extends RoomInput {
  readonly shares = new Map<string, string[]>();
  /** The last bag serial typed into a checklist. */
  serial = 100;
  pins = { so: "11223344", user: "55667788" };
  /** Runs once, on the first share card (to print and save it as an operator would). */
  onFirstCard?: (prompt: Locator) => Promise<void>;
  deviations: Deviations = {};
  ceremonyId = "";

  constructor(
    page: Page,
    readonly people: Person[],
    readonly watch?: Watch,
  ) {
    super(page);
  }

  /** Checks the room display and keeps a screenshot of both surfaces, with axe on each new screen. */
  async observe(kind: string) {
    // Every screen is kept; axe runs once per kind of screen (every step screen is the same component).
    const axeKey = kind.startsWith("step-") ? "step" : kind;
    await surfaceShot(this.page, "private", kind);
    await axe(this.page, "private", axeKey);
    if (!this.watch) return;
    await this.watch.check(kind);
    await surfaceShot(this.watch.room, "room", kind);
    await axe(this.watch.room, "room", axeKey);
  }

  /** The core's own state, for a failure message (set by the spec: the harness's host). */
  coreState?: () => Promise<unknown>;

  /** Runs steps until the ceremony is complete (or aborted). */
  async runToEnd(max = 40): Promise<string[]> {
    const titles: string[] = [];
    try {
      for (let i = 0; i < max; i++) {
        if ((await this.page.getByRole("heading", { name: /^Ceremony (complete|aborted)$/ }).count()) > 0) return titles;
        titles.push(await this.runStep());
      }
    } catch (e) {
      // What the core thinks, next to what the page shows: a test failure here must say which side is wrong.
      if (this.coreState) {
        const s = (await this.coreState()) as { value?: { version: number; running: boolean; prompt: { kind: string } | null; lastError: unknown; step: unknown } };
        const v = s.value;
        console.log("core state at the failure:", JSON.stringify(v ? { version: v.version, running: v.running, prompt: v.prompt?.kind ?? null, lastError: v.lastError, step: v.step } : s).slice(0, 1500));
      }
      throw e;
    }
    throw new Error("the ceremony did not end");
  }

  /** Runs the current step through every prompt until the step counter moves on. */
  async runStep(): Promise<string> {
    const page = this.page;
    const title = (await page.getByTestId("step-title").textContent()) ?? "";
    const counter = (await page.getByTestId("step-counter").textContent()) ?? "";
    await this.observe(`step-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`);
    await this.click(page.getByRole("button", { name: /^Run this step/ }));
    for (let guard = 0; guard < 120; guard++) {
      const prompt = page.locator("[data-testid^=prompt-]");
      const moved = page.getByTestId("step-counter").filter({ hasNotText: counter });
      const doneView = page.getByRole("heading", { name: /^Ceremony (complete|aborted)$/ });
      const failed = page.getByRole("alert");
      await expect(prompt.or(moved).or(doneView).or(failed).first()).toBeVisible({ timeout: 60_000 });
      if ((await moved.count()) > 0 || (await doneView.count()) > 0) {
        if (this.watch) await this.watch.check(`after ${title}`);
        return title;
      }
      if ((await prompt.count()) === 0 && (await failed.count()) > 0) throw new Error(`step "${title}" failed: ${await failed.first().textContent()}`);
      const seen = await prompt.evaluateAll((els) => els.map((el) => ({ kind: el.getAttribute("data-testid") ?? "", id: el.getAttribute("data-prompt-id") ?? "" })));
      // The step may have ended between the two looks: look again.
      if (seen.length === 0) continue;
      const kind = seen[0]!.kind.replace("prompt-", "");
      const asked = page.locator(`[data-prompt-id="${seen[0]!.id}"]`);
      const fingerprint = () => asked.evaluateAll((els) => els.map((el) => el.outerHTML.length + ":" + (el.textContent ?? "").slice(0, 120)).join("|"));
      const before = await fingerprint();
      await answerPrompt(this, kind);
      // Answered when that question is gone (the next one has another id), or when it stays with an error
      // of its own; the same question still on screen while its answer travels is not a new one.
      await expect
        .poll(async () => (await asked.count()) === 0 || ((await asked.getByRole("alert").count()) > 0 && (await fingerprint()) !== before), { timeout: 60_000 })
        .toBe(true);
    }
    throw new Error(`step "${title}" did not finish`);
  }

  /** The person whose name (or source name) the text says. */
  person(text: string): Person {
    const p = this.people.find((x) => text.includes(x.sourceName ?? x.name));
    if (!p) throw new Error(`nobody in the room matches: ${text}`);
    return p;
  }

  /** The witness writes an exception while a question is open, signed with their passphrase. */
  async exception(text: string) {
    const page = this.page;
    const witness = this.people.find((p) => p.role === "internal-witness")!;
    await this.click(page.getByRole("button", { name: "Record an exception" }));
    const form = page.locator("form.exception");
    await this.fill(form.getByLabel("What happened"), text);
    await this.fill(form.getByLabel(/^Passphrase of the/), "not the witness passphrase");
    await this.click(form.getByRole("button", { name: "Sign and record the exception" }));
    await expect(form.getByRole("alert")).toContainText(`not ${witness.name}'s enrolled passphrase`);
    // The text stays; the passphrase is typed again.
    await expect(form.getByLabel("What happened")).toHaveValue(text);
    await this.observe("exception-form");
    await this.fill(form.getByLabel(/^Passphrase of the/), witness.passphrase);
    await this.click(form.getByRole("button", { name: "Sign and record the exception" }));
    await expect(form).toHaveCount(0);
    await expect(page.getByTestId("recorded")).toContainText(`signed by ${witness.name} (Internal witness)`);
  }
}
