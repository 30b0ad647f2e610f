import { expect, type Page } from "@playwright/test";
import { screenshot } from "./harness";

export interface Person {
  name: string;
  role: string;
  passphrase: string;
  sourceName?: string;
}

/**
 * The people in the room, clicking and typing as they would: a page object
 * that answers whatever the ceremony asks next, by the prompt on screen.
 */
export class Room {
  readonly shares = new Map<string, string[]>();
  private seen = new Set<string>();
  private serial = 100;
  pins = { so: "11223344", user: "55667788" };
  /** Runs once, on the first share card shown (to print and save it as an operator would). */
  onFirstCard?: (prompt: import("@playwright/test").Locator) => Promise<void>;

  constructor(
    readonly page: Page,
    readonly people: Person[],
  ) {}

  private async shot(kind: string) {
    if (this.seen.has(kind)) return;
    this.seen.add(kind);
    await screenshot(this.page, kind);
  }

  /** Runs the current step through every prompt until the step counter moves on. */
  async runStep(): Promise<string> {
    const page = this.page;
    const title = (await page.getByTestId("step-title").textContent()) ?? "";
    const counter = (await page.getByTestId("step-counter").textContent()) ?? "";
    await this.shot(`step-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`);
    await page.getByRole("button", { name: /^Run this step/ }).click();
    for (let guard = 0; guard < 80; guard++) {
      const prompt = page.locator("[data-testid^=prompt-]");
      const moved = page.getByTestId("step-counter").filter({ hasNotText: counter });
      const doneView = page.getByRole("heading", { name: "Ceremony complete" });
      const failed = page.getByRole("alert");
      await expect(prompt.or(moved).or(doneView).or(failed).first()).toBeVisible({ timeout: 60_000 });
      if ((await moved.count()) > 0 || (await doneView.count()) > 0) return title;
      if ((await prompt.count()) === 0 && (await failed.count()) > 0) throw new Error(`step "${title}" failed: ${await failed.first().textContent()}`);
      const kind = ((await prompt.getAttribute("data-testid")) ?? "").replace("prompt-", "");
      // evaluateAll never waits for an element, so a prompt that vanishes cannot stall the check.
      const fingerprint = () => prompt.evaluateAll((els) => els.map((el) => el.outerHTML.length + ":" + (el.textContent ?? "").slice(0, 80)).join("|"));
      const id = await fingerprint();
      await this.answer(kind);
      // Wait for that prompt to be replaced before looking again.
      await expect.poll(async () => (await fingerprint()) !== id, { timeout: 60_000 }).toBe(true);
    }
    throw new Error(`step "${title}" did not finish`);
  }

  private person(text: string): Person {
    const p = this.people.find((x) => text.includes(x.sourceName ?? x.name));
    if (!p) throw new Error(`nobody in the room matches: ${text}`);
    return p;
  }

  private async answer(kind: string) {
    const page = this.page;
    const prompt = page.getByTestId(`prompt-${kind}`);
    await this.shot(`prompt-${kind}`);
    switch (kind) {
      case "checklist": {
        for (const box of await prompt.getByRole("checkbox").all()) await box.check();
        for (const input of await prompt.locator("input[data-field]").all()) await input.fill(`TEB-${++this.serial}`);
        await prompt.getByRole("button", { name: "Confirm and record" }).click();
        return;
      }
      case "enrol": {
        const rowsWanted = this.people;
        // Rows come pre-filled with one per required seat; add what is missing per role.
        for (const role of [...new Set(rowsWanted.map((p) => p.role))]) {
          const have = await prompt.locator("tr[data-testid=enrol-row]").filter({ has: page.locator(`input[type=checkbox]:checked`) }).evaluateAll(
            (rows, r) => rows.filter((row) => [...row.querySelectorAll("label")].some((l) => (l.querySelector("input") as HTMLInputElement).checked && l.textContent === r)).length,
            roleTitle(role),
          );
          const want = rowsWanted.filter((p) => p.role === role).length;
          for (let i = have; i < want; i++) await prompt.getByRole("button", { name: `Add ${roleTitle(role).toLowerCase()}` }).click();
        }
        const rows = await prompt.locator("tr[data-testid=enrol-row]").all();
        const byRole = new Map<string, Person[]>();
        for (const p of rowsWanted) byRole.set(p.role, [...(byRole.get(p.role) ?? []), p]);
        for (const row of rows) {
          const title = await row.locator("label").filter({ has: page.locator("input:checked") }).first().textContent();
          const role = rowsWanted.find((p) => roleTitle(p.role) === title)!.role;
          const p = byRole.get(role)!.shift()!;
          const select = row.locator("select");
          if ((await select.count()) > 0) await select.selectOption({ label: p.sourceName ?? p.name });
          else await row.getByRole("textbox", { name: / name$/ }).fill(p.name);
          await row.locator("input[type=password]").fill(p.passphrase);
        }
        await this.shot("prompt-enrol-filled");
        await prompt.getByRole("button", { name: "Enrol everyone" }).click();
        return;
      }
      case "passphrase": {
        const who = this.person((await prompt.getByRole("heading").textContent()) ?? "");
        await prompt.locator("input[type=password]").fill(who.passphrase);
        await prompt.getByRole("button", { name: "Attest" }).click();
        return;
      }
      case "choose-signers": {
        const n = Number(/Choose (\d+)/.exec((await prompt.getByRole("heading").textContent()) ?? "")![1]);
        const boxes = await prompt.getByRole("checkbox").all();
        for (const b of boxes.slice(0, n)) await b.check();
        await prompt.getByRole("button", { name: "These people attest" }).click();
        return;
      }
      case "choose-token":
        await prompt.getByRole("radio").first().check();
        await prompt.getByRole("button", { name: "Use this token" }).click();
        return;
      case "pin": {
        const heading = (await prompt.getByRole("heading").textContent()) ?? "";
        const pin = /ecurity officer/.test(heading) ? this.pins.so : this.pins.user;
        const fields = await prompt.locator("input[type=password]").all();
        for (const f of fields) await f.fill(pin);
        await prompt.getByRole("button", { name: /Set PIN|Log in/ }).click();
        return;
      }
      case "hand-out-share": {
        const heading = (await prompt.getByTestId("share-heading").textContent()) ?? "";
        const who = this.person(heading);
        await expect(page.getByTestId("mode-badge")).toContainText("REHEARSAL");
        const words = await prompt.getByTestId("share-words").locator("li").allTextContents();
        expect(words).toHaveLength(32);
        this.shares.set(who.name, words);
        if (this.onFirstCard) {
          const hook = this.onFirstCard;
          this.onFirstCard = undefined;
          await hook(prompt);
        }
        await screenshot(page, `share-card-${who.name.split(" ")[0]!.toLowerCase()}`);
        await prompt.getByRole("checkbox").check();
        await prompt.getByRole("button", { name: "Done — clear the screen" }).click();
        // The card leaves the screen: the next screen is another custodian's card or another step.
        await expect(page.getByTestId("share-heading").filter({ hasText: heading })).toHaveCount(0);
        return;
      }
      case "reenter-share":
      case "collect-share": {
        const who = this.person((await prompt.getByRole("heading").textContent()) ?? "");
        const words = this.shares.get(who.sourceName ?? who.name);
        if (!words) throw new Error(`no share noted for ${who.name}`);
        await prompt.getByRole("textbox").fill(words.join(" "));
        await prompt.getByRole("button", { name: "Check this share" }).click();
        return;
      }
      case "select-source":
        await prompt.getByRole("radio").first().check();
        await prompt.getByRole("button", { name: "Verify and load" }).click();
        return;
      case "briefing":
        await expect(prompt.getByTestId("brief")).toContainText("Threshold");
        await prompt.getByRole("button", { name: /We have read this/ }).click();
        return;
      default:
        throw new Error(`no handler for prompt ${kind}`);
    }
  }
}

const TITLES: Record<string, string> = {
  "ceremony-administrator": "Ceremony administrator",
  "security-officer": "Security officer",
  "internal-witness": "Internal witness",
  custodian: "Custodian",
  auditor: "External auditor",
  "recovery-officer": "Recovery officer",
};
function roleTitle(role: string): string {
  return TITLES[role] ?? role;
}
