/**
 * How the people in the room answer each kind of question the private view
 * asks during a step: checklists, enrolment, passphrases and PINs, share
 * cards handed out and typed back, with the off-script moments the room's
 * deviations ask for.
 */
import { expect, type Locator } from "@playwright/test";
import { surfaceShot } from "./harness";
import type { Person, Room } from "./room";

/** Answers the question of this kind that is on screen. */
export async function answerPrompt(room: Room, kind: string) {
  const page = room.page;
  const prompt = page.getByTestId(`prompt-${kind}`);
  await room.observe(`prompt-${kind}`);
  if (room.deviations.exceptionAt === kind && (await page.getByRole("button", { name: "Record an exception" }).count()) > 0) {
    room.deviations.exceptionAt = undefined;
    await room.exception("The HSM bag serial was read aloud twice because the camera lost focus.");
  }
  switch (kind) {
    case "checklist": {
      for (const box of await prompt.getByRole("checkbox").all()) await room.check(box);
      for (const input of await prompt.locator("input[data-field]").all()) await room.fill(input, `TEB-${++room.serial}`);
      await room.click(prompt.getByRole("button", { name: "Confirm and record" }));
      return;
    }
    case "enrol":
      return enrol(room, prompt);
    case "passphrase": {
      const who = room.person((await prompt.getByRole("heading").textContent()) ?? "");
      if (who.token) await expect(prompt.getByLabel(`PIN of ${who.name}\u2019s own token (serial ${who.token.serial})`)).toBeVisible();
      await room.fill(prompt.locator("input[type=password]"), who.token?.pin ?? who.passphrase);
      await room.click(prompt.getByRole("button", { name: "Attest" }));
      return;
    }
    case "choose-signers": {
      const n = Number(/Choose (\d+)/.exec((await prompt.getByRole("heading").textContent()) ?? "")![1]);
      const boxes = await prompt.getByRole("checkbox").all();
      for (const b of boxes.slice(0, n)) await room.check(b);
      await room.click(prompt.getByRole("button", { name: "These people attest" }));
      return;
    }
    case "choose-token":
      await room.check(prompt.getByRole("radio").first());
      await room.click(prompt.getByRole("button", { name: "Use this token" }));
      return;
    case "pin": {
      const heading = (await prompt.getByRole("heading").textContent()) ?? "";
      let pin = /ecurity officer/.test(heading) ? room.pins.so : room.pins.user;
      if (room.deviations.wrongPin && /^User PIN/.test(heading)) {
        room.deviations.wrongPin = false;
        pin = "99999999";
      }
      for (const f of await prompt.locator("input[type=password]").all()) await room.fill(f, pin);
      await room.click(prompt.getByRole("button", { name: /Set PIN|Log in/ }));
      return;
    }
    case "hand-out-share":
      return handOut(room, prompt);
    case "reenter-share":
    case "collect-share": {
      const who = room.person((await prompt.getByRole("heading").textContent()) ?? "");
      let words = [...(room.shares.get(who.sourceName ?? who.name) ?? [])];
      if (!words.length) throw new Error(`no share noted for ${who.name}`);
      const fresh = /from your new card/.test((await prompt.getByRole("heading").textContent()) ?? "");
      if ((fresh || kind === "collect-share") && room.deviations.miscopy) {
        // Taken down wrongly: two words swapped (each a word of the list, so only the share check sees it).
        room.deviations.miscopy = false;
        words = [words[1]!, words[0]!, ...words.slice(2)];
      }
      await room.fill(prompt.getByLabel("Word 1", { exact: true }), words.join(" "));
      await expect(prompt.getByText(`${words.length} of ${words.length} words, ${words.length} on the word list`)).toBeVisible();
      // The room display shows how far, never what.
      if (room.watch) await expect(room.watch.room.getByTestId("room-now")).toContainText(`${words.length} of ${words.length} words entered`);
      await room.observe(`${kind}-typed`);
      await room.click(prompt.getByRole("button", { name: "Check this share" }));
      return;
    }
    case "select-source": {
      const want = prompt.getByRole("radio", { name: /Root key generation/ });
      await room.check((await want.count()) ? want.first() : prompt.getByRole("radio").first());
      await room.click(prompt.getByRole("button", { name: "Verify and load" }));
      return;
    }
    case "briefing":
      await expect(prompt.getByTestId("brief")).toContainText("Threshold");
      await room.click(prompt.getByRole("button", { name: /We have read this/ }));
      return;
    default:
      throw new Error(`no handler for prompt ${kind}`);
  }
}

async function enrol(room: Room, prompt: Locator) {
  const page = room.page;
  const title = (p: Person) => p.title ?? roleTitle(p.role);
  for (const t of [...new Set(room.people.map(title))]) {
    const have = await prompt.locator("tr[data-testid=enrol-row]").evaluateAll(
      (rows, r) => rows.filter((row) => [...row.querySelectorAll("label")].some((l) => (l.querySelector("input") as HTMLInputElement).checked && l.textContent === r)).length,
      t,
    );
    const want = room.people.filter((p) => title(p) === t).length;
    for (let i = have; i < want; i++) await room.click(prompt.getByRole("button", { name: `Add ${t.toLowerCase()}` }));
  }
  const rows = await prompt.locator("tr[data-testid=enrol-row]").all();
  const byTitle = new Map<string, Person[]>();
  for (const p of room.people) byTitle.set(title(p), [...(byTitle.get(title(p)) ?? []), p]);
  const typed: string[] = [];
  for (const row of rows) {
    const t = await row.locator("label").filter({ has: page.locator("input:checked") }).first().textContent();
    const p = byTitle.get(t!)!.shift()!;
    const select = row.locator("select");
    if ((await select.count()) > 0) await room.select(select, p.sourceName ?? p.name);
    else await room.fill(row.getByRole("textbox", { name: / name$/ }), p.name);
    if (p.token) {
      await room.check(row.getByRole("radio", { name: "A key on my own token" }));
      await room.fill(row.getByLabel(/Token serial$/), p.token.serial);
      await room.fill(row.getByLabel(/Key label$/), p.token.keyLabel);
      await room.fill(row.getByLabel(/Token PIN$/), p.token.pin);
      await row.scrollIntoViewIfNeeded();
      await surfaceShot(page, "private", "prompt-enrol-own-token");
    } else {
      await room.fill(row.getByLabel(/passphrase$/), p.passphrase);
      await room.fill(row.getByLabel(/passphrase again$/), p.passphrase);
    }
    typed.push(p.name);
  }
  await room.observe("prompt-enrol-filled");
  await room.click(prompt.getByRole("button", { name: "Enrol everyone" }));
}

async function handOut(room: Room, prompt: Locator) {
  const page = room.page;
  const heading = (await prompt.getByTestId("share-heading").textContent()) ?? "";
  const who = room.person(heading);
  const index = Number(/^Share (\d+)/.exec(heading)![1]);
  await expect(page.getByTestId("mode-badge")).toContainText("REHEARSAL");
  if (room.watch) await expect(room.watch.room.getByTestId("room-now")).toContainText(`Share ${index} of`);
  if (room.watch) await expect(room.watch.room.getByTestId("room-now")).toContainText(`is being handed to ${who.name}`);
  if (room.deviations.leaveAtShare === index) {
    room.deviations.leaveAtShare = undefined;
    return leaveAndResume(room);
  }
  if (room.onFirstCard) {
    const hook = room.onFirstCard;
    room.onFirstCard = undefined;
    await hook(prompt);
  }
  await room.check(prompt.getByRole("radio", { name: /Reveal here/ }));
  const reveal = prompt.getByTestId("reveal");
  await expect(prompt.getByTestId("share-words")).toHaveCount(0);
  // Held down: the words show while the key is down, and go when it is let go.
  await room.tabTo(reveal);
  await page.keyboard.down("Space");
  const words = await prompt.getByTestId("share-words").locator("li").allTextContents();
  expect(words).toHaveLength(32);
  room.ceremonyId = (await prompt.getByTestId("card-ceremony").textContent()) ?? "";
  room.shares.set(who.sourceName ?? who.name, words);
  const card = Number(/Card (\d+)/.exec((await prompt.textContent()) ?? "")?.[1] ?? "1");
  room.watch?.add({ ceremonyId: room.ceremonyId, custodian: who.name, index, card, words });
  await surfaceShot(page, "private", `share-card-revealed-${index}`);
  await room.observe("hand-out-revealed");
  await page.keyboard.up("Space");
  await expect(prompt.getByTestId("share-words")).toHaveCount(0);
  await room.check(prompt.getByRole("checkbox", { name: /have my card/ }));
  await room.click(prompt.getByRole("button", { name: "Done — check my card now" }));
}

/** Leaves during the hand-out (the cards out are named), resumes, and runs the step again. */
async function leaveAndResume(room: Room) {
  const page = room.page;
  await room.click(page.getByRole("button", { name: "Leave (resume later)" }));
  await expect(page.getByTestId("cards-to-collect")).toContainText("share 1");
  await room.observe("leave-confirm");
  await room.click(page.getByRole("button", { name: "The cards are collected — leave" }));
  for (const h of room.watch?.handed ?? []) if (h.ceremonyId === room.ceremonyId) h.void = true;
  await expect(page.getByRole("heading", { name: "Unfinished ceremonies" })).toBeVisible();
  await room.observe("home-unfinished");
  await room.click(page.getByRole("button", { name: "Resume" }).first());
  await room.click(page.getByRole("button", { name: /^Run this step/ }));
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
