import fs from "node:fs";
import path from "node:path";
import { expect, type Page } from "@playwright/test";
import { decodeShare, encodeShare } from "../../electron/core/shares";
import { ROOT } from "./harness";

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
