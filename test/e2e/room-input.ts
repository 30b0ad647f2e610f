import { expect, type Locator, type Page } from "@playwright/test";

/** The room's hands on the private view: the mouse, or (keyboard = true) Tab, Space, Enter, arrows and typing alone. */
export class RoomInput {
  /** With the keyboard alone: Tab, Space, Enter, arrows and typing. */
  keyboard = false;

  constructor(readonly page: Page) {}

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
}
