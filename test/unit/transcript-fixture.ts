/**
 * Shared by the transcript*.test.ts files: the shipped generation script run
 * with software keys (test/vectors/builder.ts), written to a real SQLite file
 * through the store's own API (which re-checks every signature).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TranscriptStore, type Bundle, type CeremonyMeta } from "../../electron/core/transcript/index";
import { assemble, planCeremony, type Plan } from "../vectors/builder";

export const GENERATION_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "../../ceremony-scripts/root-key-generation.yaml");

/** Folders made here; test/helpers/temp-cleanup.ts (a Vitest setup file) removes them after each test file, so runs leave none behind. */
export function tempDir(prefix = "custos-transcript-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  ((globalThis as { __custosTempDirs?: string[] }).__custosTempDirs ??= []).push(d);
  return d;
}

export interface Fixture {
  dbPath: string;
  meta: CeremonyMeta;
  plan: Plan;
  bundle: Bundle;
}

/** Writes a bundle's ceremony into a store through createCeremony + appendEntry. */
export function storeBundle(store: TranscriptStore, bundle: Bundle): void {
  const [first, ...rest] = bundle.entries;
  const { status: _s, createdAt: _c, ...meta } = bundle.ceremony;
  store.createCeremony(meta, first!.body);
  for (const e of rest) store.appendEntry(e.body, e.signatures);
}

/** The sealed generation ceremony at dir/transcript.sqlite. */
export async function buildFixture(dir = tempDir(), given?: Plan): Promise<Fixture> {
  const plan = given ?? (await planCeremony(GENERATION_SCRIPT));
  const bundle = assemble(plan);
  const dbPath = join(dir, "transcript.sqlite");
  const store = TranscriptStore.open(dbPath);
  storeBundle(store, bundle);
  const meta = store.getCeremony(bundle.ceremony.id)!;
  store.close();
  return { dbPath, meta, plan, bundle };
}
