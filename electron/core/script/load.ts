import crypto from "node:crypto";
import YAML from "yaml";
import type { z } from "zod";
import { CustosError } from "../errors";
import { ACTION_PARAMS, type ActionName } from "./params";
import { checkAlgorithmPolicy } from "./policy";
import { closingRuleIssues } from "./closing-rules";
import { checkFieldPattern } from "./pattern";
import { MAX_SCRIPT_BYTES, readScriptFile } from "./read";
import { ScriptSchema, type CeremonyScript } from "./schema";
import { portableYamlIssues } from "./yaml-strict";

export { MAX_SCRIPT_BYTES } from "./read";

export interface LintIssue {
  file: string;
  /** Field path inside the script, e.g. steps[6].params.algorithm; "" for the whole file. */
  path: string;
  message: string;
}

export interface LoadedScript {
  script: CeremonyScript;
  text: string;
  sha256: string;
  file: string;
}

function fmtPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), "");
}

function zodIssues(file: string, error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): LintIssue[] {
  return error.issues.map((i) => {
    const extra = i.code === "unrecognized_keys" ? ` (${(i as { keys: string[] }).keys.join(", ")})` : "";
    return { file, path: fmtPath([...prefix, ...i.path]), message: i.message + (i.code === "unrecognized_keys" ? "" : extra) };
  });
}

/** Checks a script's text: YAML, schema, algorithm policy, roles, quorum, step order. */
export function lintScriptText(text: string, file = "<script>"): { script?: CeremonyScript; issues: LintIssue[] } {
  if (Buffer.byteLength(text, "utf8") > MAX_SCRIPT_BYTES) {
    return { issues: [{ file, path: "", message: `the script is larger than ${MAX_SCRIPT_BYTES / 1024} KiB; ceremony scripts are short documents` }] };
  }
  let raw: unknown;
  try {
    // Aliases are capped so an alias bomb cannot expand to gigabytes; duplicate keys are an error.
    const doc = YAML.parseDocument(text, { uniqueKeys: false, prettyErrors: true, schema: "core" });
    if (doc.errors.length) {
      return { issues: doc.errors.map((e) => ({ file, path: "", message: `YAML: ${e.message.split("\n")[0]}` })) };
    }
    const portable = portableYamlIssues(doc, text); // duplicate keys included, in linear time
    if (portable.length) return { issues: portable.map((i) => ({ file, path: i.path, message: i.message })) };
    raw = doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    const msg = e instanceof RangeError ? "the script is nested too deeply" : `YAML: ${(e as Error).message.split("\n")[0]}`;
    return { issues: [{ file, path: "", message: msg }] };
  }
  const issues: LintIssue[] = checkAlgorithmPolicy(raw).map((p) => ({ file, ...p }));
  const parsed = ScriptSchema.safeParse(raw);
  if (!parsed.success) {
    const seen = new Set(issues.map((i) => i.path));
    // The policy message already explains a weak algorithm; do not repeat it as "invalid option".
    issues.push(...zodIssues(file, parsed.error).filter((i) => !seen.has(i.path)));
    return { issues };
  }
  const script = parsed.data;
  issues.push(...semanticIssues(script, file), ...closingRuleIssues(script).map((i) => ({ file, ...i })));
  return { script: issues.length ? undefined : script, issues };
}

function semanticIssues(s: CeremonyScript, file: string): LintIssue[] {
  const out: LintIssue[] = [];
  const add = (path: string, message: string) => out.push({ file, path, message });
  const roleIds = new Set<string>();
  s.roles.forEach((r, i) => {
    if (roleIds.has(r.id)) add(`roles[${i}].id`, `role "${r.id}" is defined twice`);
    roleIds.add(r.id);
    if (r.max !== undefined && r.max < r.min) add(`roles[${i}].max`, `max ${r.max} is below min ${r.min}`);
  });
  s.separation.forEach(([a, b], i) => {
    if (!roleIds.has(a)) add(`separation[${i}][0]`, `unknown role "${a}"`);
    if (!roleIds.has(b)) add(`separation[${i}][1]`, `unknown role "${b}"`);
    if (a === b) add(`separation[${i}]`, "a role cannot be separated from itself");
  });
  const { threshold, shares } = s.quorum;
  if (threshold > shares) add("quorum.threshold", `threshold ${threshold} exceeds the ${shares} shares (one per custodian): the backup could never be restored`);
  const custodian = s.roles.find((r) => r.id === "custodian");
  const needsCustodians = s.steps.some((st) => ["wrap-and-split-backup", "verify-shares"].includes(st.action)) || (s.kind !== "generation" && s.kind !== "signing");
  if (needsCustodians && !custodian) add("roles", 'a ceremony with shares needs a "custodian" role');
  if (custodian) {
    const ci = s.roles.indexOf(custodian);
    if (custodian.min < 2 && s.kind !== "health-check") add(`roles[${ci}].min`, "at least two custodians are needed so no single person holds the backup");
    if (threshold > Math.max(custodian.max ?? shares, custodian.min)) {
      add("quorum.threshold", `threshold ${threshold} exceeds the custodian count (at most ${custodian.max ?? shares})`);
    }
    if (custodian.max !== undefined && shares > custodian.max) add("quorum.shares", `${shares} shares but at most ${custodian.max} custodians`);
    if (custodian.min > shares) add("quorum.shares", `${shares} shares for at least ${custodian.min} custodians: each custodian holds exactly one share`);
  }
  if (!s.policy.algorithms.includes(s.policy.defaultAlgorithm)) {
    add("policy.defaultAlgorithm", `${s.policy.defaultAlgorithm} is not in policy.algorithms`);
  }

  const stepIds = new Map<string, number>();
  let enrolAt = -1;
  s.steps.forEach((st, i) => {
    if (stepIds.has(st.id)) add(`steps[${i}].id`, `step id "${st.id}" is used twice (first at steps[${stepIds.get(st.id)}])`);
    stepIds.set(st.id, i);
    if (st.action === "enrol-participants" && enrolAt < 0) enrolAt = i;
    const schema = ACTION_PARAMS[st.action as ActionName];
    const p = schema.safeParse(st.params);
    if (!p.success) out.push(...zodIssues(file, p.error, ["steps", i, "params"]));
    else if (st.action === "checklist") {
      (p.data as unknown as { fields: Array<{ pattern?: string }> }).fields.forEach((f, j) => {
        const why = f.pattern === undefined ? null : checkFieldPattern(f.pattern);
        if (why) add(`steps[${i}].params.fields[${j}].pattern`, `not a valid field pattern (${why}); patterns use RE2 syntax: no backreferences or lookaround`);
      });
    }    else if (st.action === "generate-key-pair") {
      const alg = (p.data as { algorithm?: string }).algorithm;
      if (alg && !s.policy.algorithms.includes(alg as never)) add(`steps[${i}].params.algorithm`, `${alg} is not allowed by policy.algorithms`);
    }
    st.attest.forEach((a, j) => {
      if (!roleIds.has(a.role)) add(`steps[${i}].attest[${j}].role`, `unknown role "${a.role}"`);
      if (enrolAt < 0 || enrolAt > i) {
        if (st.action !== "enrol-participants") add(`steps[${i}].attest`, "attestations need the participants enrolled first (an enrol-participants step before this one)");
      }
    });
  });

  const first = (a: string) => s.steps.findIndex((st) => st.action === a);
  const order = (before: string, after: string) => {
    const b = first(before);
    const a = first(after);
    if (a >= 0 && (b < 0 || b > a)) add(`steps[${a}].action`, `"${after}" needs a "${before}" step before it`);
  };
  order("select-token", "init-token");
  order("select-token", "hsm-preflight");
  if (first("init-token") >= 0 && first("hsm-preflight") >= 0 && first("init-token") > first("hsm-preflight")) {
    add(`steps[${first("hsm-preflight")}].action`, '"hsm-preflight" checks the token as initialised: it comes after "init-token"');
  }
  // Invariant 12: no key and no share on a token that has not passed the preflight.
  for (const a of ["generate-key-pair", "wrap-and-split-backup", "collect-shares-and-restore", "resplit-backup", "prove-root-key"]) order("hsm-preflight", a);
  order("select-token", "generate-key-pair");
  order("generate-key-pair", "self-sign-certificate");
  order("generate-key-pair", "wrap-and-split-backup");
  const verify = first("verify-shares");
  const split = [first("wrap-and-split-backup"), first("resplit-backup")].filter((i) => i >= 0);
  if (verify >= 0 && !split.some((i) => i < verify)) add(`steps[${verify}].action`, '"verify-shares" needs a "wrap-and-split-backup" or "resplit-backup" step before it');
  for (const a of ["collect-shares-and-restore", "resplit-backup", "destroy-key"]) order("select-token", a);
  order("load-source-ceremony", "check-shares");
  order("enrol-participants", "check-shares");
  for (const a of ["enrol-participants", "collect-shares-and-restore", "resplit-backup", "quorum-approval", "destroy-key"]) {
    if (s.kind !== "generation") order("load-source-ceremony", a);
  }
  order("quorum-approval", "destroy-key");
  for (const a of ["sign-certificate", "issue-crl", "cross-certify"]) {
    order("prove-root-key", a);
    if (s.kind !== "signing" && first(a) >= 0) add(`steps[${first(a)}].action`, `"${a}" belongs in a signing ceremony (kind: signing)`);
  }
  order("select-token", "prove-root-key");
  order("load-source-ceremony", "prove-root-key");
  if (s.kind === "signing") {
    if (!["sign-certificate", "issue-crl", "cross-certify"].some((a) => first(a) >= 0)) add("steps", "a signing ceremony needs a sign-certificate, issue-crl or cross-certify step");
    const src = first("load-source-ceremony");
    if (src >= 0 && (s.steps[src]!.params as { purpose?: string }).purpose !== "root-key") add(`steps[${src}].params.purpose`, 'a signing ceremony loads its source for the root key: purpose: root-key');
    const inputs = new Map<string, number>();
    s.steps.forEach((st, i) => {
      if (st.action === "load-input") inputs.set((st.params as { name: string }).name, i);
      const wanted = (st.params as { input?: string }).input;
      if (["sign-certificate", "issue-crl", "cross-certify"].includes(st.action) && wanted !== undefined && !(inputs.has(wanted) && inputs.get(wanted)! < i)) {
        add(`steps[${i}].params.input`, `no load-input step named "${wanted}" comes before this step`);
      }
    });
  }
  order("collect-shares-and-restore", "test-signature");
  const needs: Record<CeremonyScript["kind"], string[]> = {
    generation: ["enrol-participants", "select-token", "hsm-preflight", "generate-key-pair", "wrap-and-split-backup", "seal-transcript"],
    recovery: ["load-source-ceremony", "enrol-participants", "select-token", "hsm-preflight", "collect-shares-and-restore", "seal-transcript"],
    resplit: ["load-source-ceremony", "enrol-participants", "select-token", "hsm-preflight", "resplit-backup"],
    destruction: ["load-source-ceremony", "enrol-participants", "select-token", "quorum-approval", "destroy-key"],
    signing: ["load-source-ceremony", "enrol-participants", "select-token", "hsm-preflight", "prove-root-key", "seal-transcript"],
    "health-check": ["load-source-ceremony", "enrol-participants", "check-shares", "seal-transcript"],
  };
  for (const needed of needs[s.kind]) if (first(needed) < 0) add("steps", `a ${s.kind} ceremony needs a "${needed}" step`);
  if (s.kind === "resplit" && !roleIds.has("new-custodian")) add("roles", 'a re-split needs a "new-custodian" role for the new shares');
  s.steps.forEach((st, i) => {
    if (st.action === "quorum-approval" && !st.attest.some((a) => a.role === "custodian" && a.who === "quorum")) {
      add(`steps[${i}].attest`, "a quorum approval must be attested by a quorum of custodians (role: custodian, who: quorum)");
    }
    if (s.kind === "generation" && ["load-source-ceremony", "collect-shares-and-restore", "resplit-backup", "destroy-key"].includes(st.action)) {
      add(`steps[${i}].action`, `"${st.action}" has no place in a generation ceremony`);
    }
  });
  const seal = first("seal-transcript");
  if (seal >= 0 && seal !== s.steps.length - 1) add(`steps[${seal}].action`, "seal-transcript must be the last step: nothing may follow the seal");
  return out;
}

/**
 * Reads and lints a script file exactly as loadScriptFile does (lint = load):
 * the same regular-file, size and UTF-8 checks, then the same lint.
 */
export function lintScriptFile(file: string): { script?: CeremonyScript; issues: LintIssue[] } {
  let text: string;
  try {
    text = readScriptFile(file).text;
  } catch (e) {
    if (e instanceof CustosError) return { issues: [{ file, path: "", message: e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message }] };
    throw e;
  }
  return lintScriptText(text, file);
}

/** Reads and lints a script file; throws CustosError "SCRIPT_INVALID" listing every issue. */
export function loadScriptFile(file: string): LoadedScript {
  const { bytes, text } = readScriptFile(file);
  return loadScriptText(text, file, bytes);
}

/** Lints script text already in memory; the hash is over the exact bytes. */
export function loadScriptText(text: string, file = "<script>", bytes: Buffer = Buffer.from(text, "utf8")): LoadedScript {
  const { script, issues } = lintScriptText(text, file);
  if (!script) {
    throw new CustosError(
      "SCRIPT_INVALID",
      `${file} is not a valid ceremony script:\n${issues.map((i) => `  ${i.path || "(file)"}: ${i.message}`).join("\n")}`,
      "Fix the script (or choose a shipped one) and load it again; nothing was started.",
    );
  }
  return { script, text, sha256: crypto.createHash("sha256").update(bytes).digest("hex"), file };
}
