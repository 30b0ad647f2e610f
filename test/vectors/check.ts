/** Runs custos's verifier over every vector of manifest.json; prints disagreements. Used by test/unit/vectors.test.ts. */
import fs from "node:fs";
import path from "node:path";
import { CustosError } from "../../electron/core/errors";
import { verifyAnyFile } from "../../electron/core/source";
import { exitStatus } from "../../electron/core/transcript/verify/index";
import type { Pins } from "../../electron/core/transcript/verify/pins";

export const VECTOR_DIR = path.dirname(new URL(import.meta.url).pathname);

export interface ManifestVector {
  file: string;
  expect: "complete" | "incomplete" | "aborted" | "not-intact" | "unreadable";
  code?: string;
  seq?: number;
  pins?: Pins;
  rule: string;
  description: string;
}

export function manifest(): ManifestVector[] {
  return (JSON.parse(fs.readFileSync(path.join(VECTOR_DIR, "manifest.json"), "utf8")) as { vectors: ManifestVector[] }).vectors;
}

const VERDICT = { 0: "complete", 1: "not-intact", 3: "incomplete", 4: "aborted" } as const;

/** What custos's verifier says of one vector, in the manifest's terms. */
export async function judge(v: ManifestVector): Promise<{ expect: string; code?: string; seq?: number }> {
  try {
    const r = await verifyAnyFile(path.join(VECTOR_DIR, v.file), { pins: v.pins ?? {} });
    const status = exitStatus(r);
    const failure = r.fileFailure ?? r.ceremonies.find((c) => !c.ok)?.failure;
    return { expect: VERDICT[status], ...(failure ? { code: failure.code } : {}), ...(failure?.seq ? { seq: failure.seq } : {}) };
  } catch (e) {
    if (e instanceof CustosError && ["VERIFY_UNREADABLE", "TRANSCRIPT_UNREADABLE", "TRANSCRIPT_TOO_NEW"].includes(e.code)) return { expect: "unreadable" };
    throw e;
  }
}

if (process.argv[1] && process.argv[1].endsWith("check.ts")) {
  let bad = 0;
  for (const v of manifest()) {
    const got = await judge(v);
    const ok = got.expect === v.expect && got.code === v.code && got.seq === v.seq;
    if (!ok) bad++;
    console.log(`${ok ? "ok  " : "FAIL"} ${v.file}: expected ${v.expect} ${v.code ?? ""} ${v.seq ?? ""}; got ${got.expect} ${got.code ?? ""} ${got.seq ?? ""}`);
  }
  process.exitCode = bad ? 1 : 0;
}
