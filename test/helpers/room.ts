import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Ceremony } from "../../electron/core/engine/ceremony";
import type { Driver, EngineDeps, NetworkInterfaceState } from "../../electron/core/engine/types";
import { openRehearsalHsm, prepareRehearsalTokenDir, randomPin, type RehearsalTokenDir } from "../../electron/core/hsm";
import { renderReport } from "../../electron/core/report";
import { shareCardPdf } from "../../electron/core/rehearse/rehearse";
import { SimulatedRoom, simulatedAttendance, type SimulatedPerson } from "../../electron/core/rehearse/simulated-room";
import { loadScriptFile, type LoadedScript } from "../../electron/core/script/load";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { ROOT } from "./files";

/** A test room: a real throwaway SoftHSM2 token, a real SQLite file, simulated people. */
export interface TestRoom {
  dir: string;
  token: RehearsalTokenDir;
  people: SimulatedPerson[];
  soPin: string;
  userPin: string;
  loaded: LoadedScript;
  dbPath: string;
  /** Fresh deps (new store, new room) as a restarted process would build them. */
  deps(over?: Partial<EngineDeps> & { wrap?: (d: Driver) => Driver }): EngineDeps;
  cleanup(): void;
}

export const offline: NetworkInterfaceState[] = [{ name: "lo", state: "unknown", loopback: true, addresses: ["127.0.0.1/8"] }];

/** Builds a test room for a shipped script. */
export function makeRoom(script = "root-key-generation.yaml", custodians = 5): TestRoom {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-room-"));
  const token = prepareRehearsalTokenDir(dir);
  const loaded = loadScriptFile(path.join(ROOT, "ceremony-scripts", script));
  const people = simulatedAttendance(loaded.script, custodians);
  const soPin = randomPin();
  const userPin = randomPin();
  const dbPath = path.join(dir, "transcript.sqlite");
  const stores: TranscriptStore[] = [];
  return {
    dir,
    token,
    people,
    soPin,
    userPin,
    loaded,
    dbPath,
    deps(over = {}) {
      const store = TranscriptStore.open(dbPath);
      stores.push(store);
      const room: Driver = new SimulatedRoom({ outDir: dir, people, soPin, userPin, renderShareCard: shareCardPdf });
      const { wrap, ...rest } = over;
      return {
        store,
        driver: wrap ? wrap(room) : room,
        openHsm: () => openRehearsalHsm(token),
        networkInterfaces: () => offline,
        now: () => new Date(),
        kdfCost: "test",
        attestWindowMs: 60_000,
        renderReport: (b) => renderReport(b),
        ...rest,
      };
    },
    cleanup() {
      for (const s of stores) {
        try {
          s.close();
        } catch {
          // already closed
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A driver that behaves like `inner` but throws (a simulated crash) the first time `when` says so. */
export function crashing(inner: Driver, when: (method: keyof Driver, args: unknown[]) => boolean): Driver {
  let fired = false;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (!fired && when(prop as keyof Driver, args)) {
          fired = true;
          throw new Error("simulated power cut");
        }
        return v.apply(target, args);
      };
    },
  });
}

export { Ceremony };
