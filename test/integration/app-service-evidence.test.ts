// The app service's side of Invariant 11 and its clean refusals: one app per
// data folder, a refused start that leaves nothing and keeps the open
// ceremony, ids that are ids, share-card paths checked after symlinks, no
// exception after the seal, and one error boundary that logs the detail and
// shows a plain message.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dispatch } from "../../electron/core/app/dispatch";
import { checkedCardPath, createAppService } from "../../electron/core/app/service";
import { Ceremony } from "../../electron/core/engine/ceremony";
import type { Driver } from "../../electron/core/engine/types";
import { CustosError } from "../../electron/core/errors";
import { ROOT } from "../helpers/files";
import { makeRoom, type TestRoom } from "../helpers/room";

const dirs: string[] = [];
const services: Array<{ close(): void }> = [];
let room: TestRoom | undefined;
afterEach(() => {
  for (const s of services.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  room?.cleanup();
  room = undefined;
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "custos-app-"));
  dirs.push(d);
  return d;
};

function service(dataDir: string, log?: (line: string) => void, resourcesDir = ROOT) {
  const s = createAppService({ dataDir, resourcesDir, kdfCost: "test", networkInterfaces: () => [{ name: "lo", state: "unknown", loopback: true, addresses: ["127.0.0.1/8"] }], log });
  services.push(s);
  return s;
}

/** Every file and folder under dir. */
const listing = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).sort();

describe("the app service", () => {
  it("refuses a second service on the same data folder at once, naming the first; after close it opens", () => {
    const data = tmp();
    const first = service(data);
    let err: CustosError | undefined;
    try {
      service(data);
    } catch (e) {
      err = e as CustosError;
    }
    expect(err?.code).toBe("FOLDER_LOCKED");
    expect(err?.message).toMatch(new RegExp(`in use by process ${process.pid} on \\S+ \\(Custos desktop app`));
    first.close();
    services.splice(services.indexOf(first), 1);
    service(data);
  });

  it("a refused start leaves no folder behind and does not close the ceremony on screen", async () => {
    const data = tmp();
    const s = service(data);
    const started = await dispatch(s.handlers, "ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal" });
    expect(started.ok).toBe(true);
    const open = (started as { value: { ceremony: { id: string } } }).value.ceremony.id;
    const before = listing(data);
    for (const bad of [
      { script: "root-key-generation.yaml", mode: "rehearsal", threshold: 6 },
      { script: "root-key-generation.yaml", mode: "rehearsal", algorithm: "RSA-1024" },
      { script: "../../etc/passwd", mode: "rehearsal" },
      { script: "root-key-generation.yaml", mode: "production" },
    ]) {
      const r = await dispatch(s.handlers, "ceremony:start", bad);
      expect(r.ok, JSON.stringify(bad)).toBe(false);
      expect(listing(data), JSON.stringify(bad)).toEqual(before);
      const state = (await dispatch(s.handlers, "session:state", {})) as { ok: true; value: { ceremony: { id: string } | null } };
      expect(state.value.ceremony?.id).toBe(open);
    }
    // The ceremony on screen still runs.
    const step = await dispatch(s.handlers, "session:run-step", {});
    expect(step.ok).toBe(true);
  });

  it("resume takes only the id of a ceremony in this transcript, and never echoes a file it read", async () => {
    const data = tmp();
    const s = service(data);
    const started = (await dispatch(s.handlers, "ceremony:start", { script: "root-key-generation.yaml", mode: "rehearsal" })) as { ok: true; value: { ceremony: { id: string } } };
    const id = started.value.ceremony.id;
    fs.mkdirSync(path.join(data, "ceremonies", "x"), { recursive: true });
    fs.writeFileSync(path.join(data, "ceremonies", "x", "session.json"), "SECRET-LOOKING CONTENT");
    for (const bad of ["../../x", "../ceremonies/x", "x", `${id}/../x`, "root-key-generation-2026-01-01-00000000"]) {
      const r = await dispatch(s.handlers, "ceremony:resume", { ceremonyId: bad });
      expect(r, bad).toMatchObject({ ok: false, code: "CEREMONY_NOT_FOUND", message: "There is no such ceremony to resume." });
    }
    fs.writeFileSync(path.join(data, "ceremonies", id, "session.json"), '{"mode": "production", "modulePath": "SECRET-LOOKING CONTENT"');
    const damaged = await dispatch(s.handlers, "ceremony:resume", { ceremonyId: id });
    expect(damaged).toMatchObject({ ok: false, code: "SESSION_FILE" });
    expect(JSON.stringify(damaged)).not.toContain("SECRET-LOOKING");
  });

  it("one error boundary: a file-system failure is a plain message on screen and its detail goes to the log", async () => {
    const data = tmp();
    const logged: string[] = [];
    const s = service(data, (line) => logged.push(line), tmp()); // no ceremony-scripts/ there
    const r = await dispatch(s.handlers, "app:info", {});
    expect(r).toMatchObject({ ok: false, code: "NOT_FOUND" });
    const shown = JSON.stringify(r);
    expect(shown).toMatch(/no such file or folder/);
    expect(shown).not.toMatch(/\\n\s+at |ENOENT:/);
    expect(logged.length).toBe(1);
    expect(logged[0]).toMatch(/^error: app:info: NOT_FOUND: /);
    expect(logged[0]).toMatch(/ENOENT[\s\S]*\n\s+at /); // the stack is in the log, for the engineer
  });

  it("refuses the lock file as a file to verify (opening it in-process would drop the lock)", async () => {
    const data = tmp();
    const s = service(data);
    const { handle } = s.files.grant(path.join(data, ".custos-lock"), "verify");
    const r = await dispatch(s.handlers, "verify:file", { file: handle });
    expect(r).toMatchObject({ ok: false, code: "VERIFY_UNREADABLE" });
    expect(() => service(data)).toThrow(/in use by process/); // still held
  });
});

describe("share-card save paths", () => {
  it("are checked after following symlinks: a link elsewhere into the app's folder is refused", () => {
    const data = tmp();
    const usb = tmp();
    fs.mkdirSync(path.join(data, "ceremonies"), { recursive: true });
    fs.symlinkSync(path.join(data, "ceremonies"), path.join(usb, "stick"));
    expect(() => checkedCardPath(path.join(usb, "stick", "card-1.pdf"), data)).toThrow(/never stored in Custos's own folders/);
    fs.symlinkSync(data, path.join(usb, "data-link"));
    expect(() => checkedCardPath(path.join(usb, "card.pdf"), path.join(usb, "data-link"))).not.toThrow();
    expect(() => checkedCardPath(path.join(usb, "data-link", "card.pdf"), data)).toThrow(/never stored/);
    fs.symlinkSync(path.join(usb, "gone.pdf"), path.join(usb, "dangling.pdf"));
    expect(() => checkedCardPath(path.join(usb, "dangling.pdf"), data)).toThrow(/exists; Custos does not overwrite/);
    expect(checkedCardPath(path.join(usb, "card-2.pdf"), data)).toBe(path.join(usb, "card-2.pdf"));
  });
});

describe("an exception after the seal", () => {
  it("is refused before any passphrase is asked for", async () => {
    room = makeRoom();
    let asked = 0;
    const c = Ceremony.start(
      room.deps({
        wrap: (d: Driver) =>
          new Proxy(d, {
            get(t, k) {
              if (k === "passphrase") return async (...a: Parameters<Driver["passphrase"]>) => (asked++, t.passphrase(...a));
              const v = (t as unknown as Record<PropertyKey, unknown>)[k];
              return typeof v === "function" ? v.bind(t) : v;
            },
          }),
      }),
      room.loaded,
      { mode: "rehearsal" },
    );
    await c.runToEnd();
    const before = asked;
    const witness = c.enrolled().find((p) => p.roles.includes("internal-witness"))!;
    const err = (await c.recordException("late note", witness.id).catch((e: unknown) => e)) as CustosError;
    c.close();
    asked -= before;
    expect(err.code).toBe("CEREMONY_CLOSED");
    expect(asked).toBe(0);
  });
});
