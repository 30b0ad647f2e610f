import fs from "node:fs";
import path from "node:path";
import { expect, type Locator, type Page } from "@playwright/test";
import { decodeShare, encodeShare } from "../../electron/core/shares";
import { axe, ROOT, surfaceShot } from "./harness";

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

/** A share handed out in the e2e, as the custodian took it down. */
export interface HandedOut {
  ceremonyId: string;
  custodian: string;
  index: number;
  card: number;
  words: string[];
  hex: string;
  void: boolean;
}

/**
 * The room display's watcher: every share handed out so far, and a check of
 * the room display's whole DOM (text and markup) against them: no 3
 * consecutive words of any share, no 16 hex digits of one, no password field.
 */
export class Watch {
  readonly handed: HandedOut[] = [];
  checks = 0;
  constructor(readonly room: Page) {}

  add(h: Omit<HandedOut, "hex" | "void">) {
    const d = decodeShare(h.words.join(" "));
    const hex = encodeShare({ ceremonyId: h.ceremonyId, index: d.index, share: d.share }).hex;
    // A re-issued card voids the earlier card of the same share.
    for (const x of this.handed) if (x.ceremonyId === h.ceremonyId && x.index === h.index && x.card < h.card) x.void = true;
    this.handed.push({ ...h, hex, void: false });
  }

  async check(when: string) {
    const { text, html, passwords } = await this.room.evaluate(() => ({
      text: document.body.innerText,
      html: document.documentElement.outerHTML,
      passwords: document.querySelectorAll("input[type=password], textarea").length,
    }));
    const spaced = text.toLowerCase().replace(/\s+/g, " ");
    const compact = (text + html).toLowerCase().replace(/[^a-z0-9]/g, "");
    const htmlLow = html.toLowerCase();
    // Plain comparisons, one expect at the end: an expect per word triple (thousands per ceremony)
    // made Playwright's step bookkeeping, quadratic in the number of steps, take minutes.
    const found: string[] = [];
    if (passwords !== 0) found.push(`${passwords} input(s) on the room display`);
    for (const h of this.handed) {
      for (let i = 0; i + 3 <= h.words.length; i++) {
        const three = h.words.slice(i, i + 3);
        if (spaced.includes(three.join(" ")) || htmlLow.includes(three.join(" "))) found.push(`share ${h.index} words ${i + 1}-${i + 3}`);
        if (compact.includes(three.join(""))) found.push(`share ${h.index} words ${i + 1}-${i + 3} (run together)`);
      }
      const hex = h.hex.toLowerCase().replace(/[^0-9a-f]/g, "");
      for (let i = 0; i + 16 <= hex.length; i += 4) if (compact.includes(hex.slice(i, i + 16))) found.push(`share ${h.index} hex digits ${i + 1}-${i + 16}`);
    }
    expect(found, `secrets on the room display at ${when}`).toEqual([]);
    this.checks++;
  }

  write() {
    const f = path.join(ROOT, "test-results", "handed-out-shares.json");
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, JSON.stringify(this.handed, null, 2) + "\n");
  }
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
export class Room {
  readonly shares = new Map<string, string[]>();
  private serial = 100;
  pins = { so: "11223344", user: "55667788" };
  /** Runs once, on the first share card (to print and save it as an operator would). */
  onFirstCard?: (prompt: Locator) => Promise<void>;
  /** With the keyboard alone: Tab, Space, Enter, arrows and typing. */
  keyboard = false;
  deviations: Deviations = {};
  ceremonyId = "";

  constructor(
    readonly page: Page,
    readonly people: Person[],
    readonly watch?: Watch,
  ) {}

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

  // ---- input, by mouse or by keyboard ----
  async tabTo(target: Locator) {
    const page = this.page;
    await expect(target).toBeVisible();
    for (let round = 0; round < 40; round++) {
      // One look per round: reached, in the same radio group (arrows), or how many Tabs ahead in document order.
      const where = await target.evaluate((el) => {
        const a = document.activeElement as HTMLInputElement | null;
        if (el === a) return { done: true, radio: false, ahead: 0 };
        const t = el as HTMLInputElement;
        if (a && a.type === "radio" && t.type === "radio" && a.name === t.name && a.name !== "") return { done: false, radio: true, ahead: 0 };
        const all = [...document.querySelectorAll<HTMLElement>("button, input, select, textarea, a[href], [tabindex]")].filter((x) => {
          const i = x as HTMLInputElement;
          if (i.disabled || x.tabIndex < 0 || x.offsetParent === null) return false;
          // A radio group is one Tab stop: its checked radio, or (none checked) its first one.
          if (i.type === "radio" && i.name && !i.checked && document.querySelector(`input[type=radio][name="${i.name}"]:checked`)) return false;
          if (i.type === "radio" && i.name && !i.checked && document.querySelector(`input[type=radio][name="${i.name}"]`) !== i) return false;
          return true;
        });
        const from = a ? all.indexOf(a) : -1;
        const to = all.indexOf(el as HTMLElement);
        return { done: false, radio: false, ahead: from < 0 ? 1 : to - from };
      });
      if (where.done) return;
      if (where.radio) await page.keyboard.press("ArrowDown");
      else {
        // Forward with Tab, back with Shift+Tab, as far as the document order says.
        const key = where.ahead < 0 ? "Shift+Tab" : "Tab";
        for (let i = 0; i < Math.max(1, Math.min(Math.abs(where.ahead), 40)); i++) await page.keyboard.press(key);
      }
    }
    const seen = await target.evaluate((el) => {
      const a = document.activeElement as HTMLElement | null;
      const r = el.getBoundingClientRect();
      return `focus on ${(a?.outerHTML ?? "").slice(0, 200)}; target offsetParent ${(el as HTMLElement).offsetParent ? "set" : "null"}, box ${Math.round(r.x)},${Math.round(r.y)} ${Math.round(r.width)}x${Math.round(r.height)}`;
    });
    throw new Error(`could not reach ${target} with Tab (${seen})`);
  }
  async click(target: Locator) {
    if (!this.keyboard) return target.click();
    await this.tabTo(target);
    await this.page.keyboard.press("Enter");
  }
  async check(target: Locator) {
    if (!this.keyboard) return target.check();
    if (await target.isChecked()) return;
    await this.tabTo(target);
    if (!(await target.isChecked())) await this.page.keyboard.press("Space");
    await expect(target).toBeChecked();
  }
  async fill(target: Locator, text: string) {
    if (!this.keyboard) return target.fill(text);
    await this.tabTo(target);
    await this.page.keyboard.press("Control+A");
    await this.page.keyboard.type(text);
  }
  async select(target: Locator, label: string) {
    if (!this.keyboard) return void (await target.selectOption({ label }));
    await this.tabTo(target);
    const options = await target.locator("option").allTextContents();
    const cur = await target.evaluate((el) => (el as HTMLSelectElement).selectedIndex);
    const want = options.indexOf(label);
    for (let i = cur; i < want; i++) await this.page.keyboard.press("ArrowDown");
    for (let i = cur; i > want; i--) await this.page.keyboard.press("ArrowUp");
    await expect(target.locator("option:checked")).toHaveText(label);
  }

  /** Runs steps until the ceremony is complete (or aborted). */
  /** The core's own state, for a failure message (set by the spec: the harness's host). */
  coreState?: () => Promise<unknown>;

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
      await this.answer(kind);
      // Answered when that question is gone (the next one has another id), or when it stays with an error
      // of its own; the same question still on screen while its answer travels is not a new one.
      await expect
        .poll(async () => (await asked.count()) === 0 || ((await asked.getByRole("alert").count()) > 0 && (await fingerprint()) !== before), { timeout: 60_000 })
        .toBe(true);
    }
    throw new Error(`step "${title}" did not finish`);
  }

  private person(text: string): Person {
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

  private async answer(kind: string) {
    const page = this.page;
    const prompt = page.getByTestId(`prompt-${kind}`);
    await this.observe(`prompt-${kind}`);
    if (this.deviations.exceptionAt === kind && (await page.getByRole("button", { name: "Record an exception" }).count()) > 0) {
      this.deviations.exceptionAt = undefined;
      await this.exception("The HSM bag serial was read aloud twice because the camera lost focus.");
    }
    switch (kind) {
      case "checklist": {
        for (const box of await prompt.getByRole("checkbox").all()) await this.check(box);
        for (const input of await prompt.locator("input[data-field]").all()) await this.fill(input, `TEB-${++this.serial}`);
        await this.click(prompt.getByRole("button", { name: "Confirm and record" }));
        return;
      }
      case "enrol":
        return this.enrol(prompt);
      case "passphrase": {
        const who = this.person((await prompt.getByRole("heading").textContent()) ?? "");
        if (who.token) await expect(prompt.getByLabel(`PIN of ${who.name}\u2019s own token (serial ${who.token.serial})`)).toBeVisible();
        await this.fill(prompt.locator("input[type=password]"), who.token?.pin ?? who.passphrase);
        await this.click(prompt.getByRole("button", { name: "Attest" }));
        return;
      }
      case "choose-signers": {
        const n = Number(/Choose (\d+)/.exec((await prompt.getByRole("heading").textContent()) ?? "")![1]);
        const boxes = await prompt.getByRole("checkbox").all();
        for (const b of boxes.slice(0, n)) await this.check(b);
        await this.click(prompt.getByRole("button", { name: "These people attest" }));
        return;
      }
      case "choose-token":
        await this.check(prompt.getByRole("radio").first());
        await this.click(prompt.getByRole("button", { name: "Use this token" }));
        return;
      case "pin": {
        const heading = (await prompt.getByRole("heading").textContent()) ?? "";
        let pin = /ecurity officer/.test(heading) ? this.pins.so : this.pins.user;
        if (this.deviations.wrongPin && /^User PIN/.test(heading)) {
          this.deviations.wrongPin = false;
          pin = "99999999";
        }
        for (const f of await prompt.locator("input[type=password]").all()) await this.fill(f, pin);
        await this.click(prompt.getByRole("button", { name: /Set PIN|Log in/ }));
        return;
      }
      case "hand-out-share":
        return this.handOut(prompt);
      case "reenter-share":
      case "collect-share": {
        const who = this.person((await prompt.getByRole("heading").textContent()) ?? "");
        let words = [...(this.shares.get(who.sourceName ?? who.name) ?? [])];
        if (!words.length) throw new Error(`no share noted for ${who.name}`);
        const fresh = /from your new card/.test((await prompt.getByRole("heading").textContent()) ?? "");
        if ((fresh || kind === "collect-share") && this.deviations.miscopy) {
          // Taken down wrongly: two words swapped (each a word of the list, so only the share check sees it).
          this.deviations.miscopy = false;
          words = [words[1]!, words[0]!, ...words.slice(2)];
        }
        await this.fill(prompt.getByLabel("Word 1", { exact: true }), words.join(" "));
        await expect(prompt.getByText(`${words.length} of ${words.length} words, ${words.length} on the word list`)).toBeVisible();
        // The room display shows how far, never what.
        if (this.watch) await expect(this.watch.room.getByTestId("room-now")).toContainText(`${words.length} of ${words.length} words entered`);
        await this.observe(`${kind}-typed`);
        await this.click(prompt.getByRole("button", { name: "Check this share" }));
        return;
      }
      case "select-source": {
        const want = prompt.getByRole("radio", { name: /Root key generation/ });
        await this.check((await want.count()) ? want.first() : prompt.getByRole("radio").first());
        await this.click(prompt.getByRole("button", { name: "Verify and load" }));
        return;
      }
      case "briefing":
        await expect(prompt.getByTestId("brief")).toContainText("Threshold");
        await this.click(prompt.getByRole("button", { name: /We have read this/ }));
        return;
      default:
        throw new Error(`no handler for prompt ${kind}`);
    }
  }

  private async enrol(prompt: Locator) {
    const page = this.page;
    const title = (p: Person) => p.title ?? roleTitle(p.role);
    for (const t of [...new Set(this.people.map(title))]) {
      const have = await prompt.locator("tr[data-testid=enrol-row]").evaluateAll(
        (rows, r) => rows.filter((row) => [...row.querySelectorAll("label")].some((l) => (l.querySelector("input") as HTMLInputElement).checked && l.textContent === r)).length,
        t,
      );
      const want = this.people.filter((p) => title(p) === t).length;
      for (let i = have; i < want; i++) await this.click(prompt.getByRole("button", { name: `Add ${t.toLowerCase()}` }));
    }
    const rows = await prompt.locator("tr[data-testid=enrol-row]").all();
    const byTitle = new Map<string, Person[]>();
    for (const p of this.people) byTitle.set(title(p), [...(byTitle.get(title(p)) ?? []), p]);
    const typed: string[] = [];
    for (const row of rows) {
      const t = await row.locator("label").filter({ has: page.locator("input:checked") }).first().textContent();
      const p = byTitle.get(t!)!.shift()!;
      const select = row.locator("select");
      if ((await select.count()) > 0) await this.select(select, p.sourceName ?? p.name);
      else await this.fill(row.getByRole("textbox", { name: / name$/ }), p.name);
      if (p.token) {
        await this.check(row.getByRole("radio", { name: "A key on my own token" }));
        await this.fill(row.getByLabel(/Token serial$/), p.token.serial);
        await this.fill(row.getByLabel(/Key label$/), p.token.keyLabel);
        await this.fill(row.getByLabel(/Token PIN$/), p.token.pin);
        await row.scrollIntoViewIfNeeded();
        await surfaceShot(page, "private", "prompt-enrol-own-token");
      } else {
        await this.fill(row.getByLabel(/passphrase$/), p.passphrase);
        await this.fill(row.getByLabel(/passphrase again$/), p.passphrase);
      }
      typed.push(p.name);
    }
    await this.observe("prompt-enrol-filled");
    await this.click(prompt.getByRole("button", { name: "Enrol everyone" }));
  }

  private async handOut(prompt: Locator) {
    const page = this.page;
    const heading = (await prompt.getByTestId("share-heading").textContent()) ?? "";
    const who = this.person(heading);
    const index = Number(/^Share (\d+)/.exec(heading)![1]);
    await expect(page.getByTestId("mode-badge")).toContainText("REHEARSAL");
    if (this.watch) await expect(this.watch.room.getByTestId("room-now")).toContainText(`Share ${index} of`);
    if (this.watch) await expect(this.watch.room.getByTestId("room-now")).toContainText(`is being handed to ${who.name}`);
    if (this.deviations.leaveAtShare === index) {
      this.deviations.leaveAtShare = undefined;
      return this.leaveAndResume();
    }
    if (this.onFirstCard) {
      const hook = this.onFirstCard;
      this.onFirstCard = undefined;
      await hook(prompt);
    }
    await this.check(prompt.getByRole("radio", { name: /Reveal here/ }));
    const reveal = prompt.getByTestId("reveal");
    await expect(prompt.getByTestId("share-words")).toHaveCount(0);
    // Held down: the words show while the key is down, and go when it is let go.
    await this.tabTo(reveal);
    await page.keyboard.down("Space");
    const words = await prompt.getByTestId("share-words").locator("li").allTextContents();
    expect(words).toHaveLength(32);
    this.ceremonyId = (await prompt.getByTestId("card-ceremony").textContent()) ?? "";
    this.shares.set(who.sourceName ?? who.name, words);
    const card = Number(/Card (\d+)/.exec((await prompt.textContent()) ?? "")?.[1] ?? "1");
    this.watch?.add({ ceremonyId: this.ceremonyId, custodian: who.name, index, card, words });
    await surfaceShot(page, "private", `share-card-revealed-${index}`);
    await this.observe("hand-out-revealed");
    await page.keyboard.up("Space");
    await expect(prompt.getByTestId("share-words")).toHaveCount(0);
    await this.check(prompt.getByRole("checkbox", { name: /have my card/ }));
    await this.click(prompt.getByRole("button", { name: "Done — check my card now" }));
  }

  /** Leaves during the hand-out (the cards out are named), resumes, and runs the step again. */
  private async leaveAndResume() {
    const page = this.page;
    await this.click(page.getByRole("button", { name: "Leave (resume later)" }));
    await expect(page.getByTestId("cards-to-collect")).toContainText("share 1");
    await this.observe("leave-confirm");
    await this.click(page.getByRole("button", { name: "The cards are collected — leave" }));
    for (const h of this.watch?.handed ?? []) if (h.ceremonyId === this.ceremonyId) h.void = true;
    await expect(page.getByRole("heading", { name: "Unfinished ceremonies" })).toBeVisible();
    await this.observe("home-unfinished");
    await this.click(page.getByRole("button", { name: "Resume" }).first());
    await this.click(page.getByRole("button", { name: /^Run this step/ }));
  }
}

const TITLES: Record<string, string> = {
  "ceremony-administrator": "Ceremony administrator",
  "security-officer": "Security officer",
  "internal-witness": "Internal witness",
  custodian: "Custodian",
  auditor: "External auditor",
  "recovery-officer": "Recovery officer",
  "new-custodian": "New custodian",
};
function roleTitle(role: string): string {
  return TITLES[role] ?? role;
}
