/**
 * §5: what a verifier reads from the script text stored with a ceremony. Only
 * the members the rules need are read, and loosely, so a script accepted by
 * any Custos that wrote format 2 can be verified; the engine's own loader
 * (script/load.ts) is stricter.
 */
import YAML from "yaml";
import { portableYamlIssues } from "../../script/yaml-strict";
import { ID_RE } from "../schema";

export type Who = "one" | "all" | "quorum";

export interface AttestRule {
  role: string;
  who: Who;
}

export interface ScriptRules {
  id: string;
  version: string;
  title: string;
  roles: Array<{ id: string; min: number; max?: number }>;
  separation: Array<[string, string]>;
  algorithms: string[];
  steps: Array<{ id: string; action: string; attest: AttestRule[]; sourceRoles: string[]; params: Record<string, unknown> }>;
  exceptions: AttestRule[];
  abort: AttestRule[];
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string" || v.length === 0) throw new Error(`${where} is not a non-empty string`);
  return v;
}

function id(v: unknown, where: string): string {
  const s = str(v, where);
  if (!ID_RE.test(s)) throw new Error(`${where} is not an id`);
  return s;
}

function int(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new Error(`${where} is not a whole number`);
  return v;
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${where} is not a list`);
  return v;
}

function attest(v: unknown, where: string): AttestRule[] {
  return list(v, where).map((a, i) => {
    const w = `${where}[${i}]`;
    if (!isMap(a)) throw new Error(`${w} is not a mapping`);
    const who = a.who === undefined ? "one" : a.who;
    if (who !== "one" && who !== "all" && who !== "quorum") throw new Error(`${w}.who is not one, all or quorum`);
    return { role: id(a.role, `${w}.role`), who };
  });
}

// Parsing YAML costs tens of milliseconds; a database or a test holds the same script many times.
const cache = new Map<string, ScriptRules | Error>();

/** Parses the stored script text into the rules of §5; throws Error(path: what) when it cannot. Results are cached by text. */
export function readScriptRules(text: string): ScriptRules {
  const hit = cache.get(text);
  if (hit instanceof Error) throw hit;
  if (hit) return structuredClone(hit);
  try {
    const rules = parseScriptRules(text);
    if (cache.size > 32) cache.clear();
    cache.set(text, rules);
    return structuredClone(rules);
  } catch (e) {
    cache.set(text, e as Error);
    throw e;
  }
}

function parseScriptRules(text: string): ScriptRules {
  let doc: unknown;
  try {
    // YAML 1.2 core schema, unique keys; the constructs where YAML 1.1 and 1.2 differ are refused (§5),
    // so a verifier with a YAML 1.1 parser reads exactly the same rules.
    const parsed = YAML.parseDocument(text, { uniqueKeys: false, schema: "core", version: "1.2" });
    if (parsed.errors.length) throw parsed.errors[0];
    const portable = portableYamlIssues(parsed, text); // duplicate keys included, in linear time
    if (portable.length) throw new Error(`${portable[0]!.path || "(top level)"}: ${portable[0]!.message}`);
    doc = parsed.toJS({ maxAliasCount: 0 });
  } catch (e) {
    throw new Error(`the script text is not YAML every verifier reads alike (${(e as Error).message.split("\n")[0]})`);
  }
  if (!isMap(doc)) throw new Error("the script text is not a YAML mapping");
  const roles = list(doc.roles, "roles").map((r, i) => {
    if (!isMap(r)) throw new Error(`roles[${i}] is not a mapping`);
    const max = r.max === undefined ? undefined : int(r.max, `roles[${i}].max`);
    return { id: id(r.id, `roles[${i}].id`), min: int(r.min, `roles[${i}].min`), ...(max === undefined ? {} : { max }) };
  });
  if (roles.length === 0) throw new Error("roles is empty");
  const roleIds = new Set(roles.map((r) => r.id));
  if (roleIds.size !== roles.length) throw new Error("roles defines a role twice");
  const inverted = roles.find((r) => r.max !== undefined && r.max < r.min);
  if (inverted) throw new Error(`role '${inverted.id}' has max below min`);
  const separation = list(doc.separation, "separation").map((p, i): [string, string] => {
    const pair = list(p, `separation[${i}]`);
    if (pair.length !== 2) throw new Error(`separation[${i}] is not a pair`);
    const out: [string, string] = [id(pair[0], `separation[${i}][0]`), id(pair[1], `separation[${i}][1]`)];
    for (const r of out) if (!roleIds.has(r)) throw new Error(`separation[${i}] names the undefined role '${r}'`);
    return out;
  });
  const policy = doc.policy;
  if (!isMap(policy)) throw new Error("policy is not a mapping");
  const algorithms = list(policy.algorithms, "policy.algorithms").map((a, i) => str(a, `policy.algorithms[${i}]`));
  const steps = list(doc.steps, "steps").map((s, i) => {
    if (!isMap(s)) throw new Error(`steps[${i}] is not a mapping`);
    const params = s.params === undefined ? {} : s.params;
    if (!isMap(params)) throw new Error(`steps[${i}].params is not a mapping`);
    const sourceRoles = list(params.sourceRoles, `steps[${i}].params.sourceRoles`).map((r, j) => id(r, `steps[${i}].params.sourceRoles[${j}]`));
    return { id: id(s.id, `steps[${i}].id`), action: id(s.action, `steps[${i}].action`), attest: attest(s.attest, `steps[${i}].attest`), sourceRoles, params };
  });
  if (steps.length === 0) throw new Error("steps is empty");
  const block = (name: "exceptions" | "abort"): AttestRule[] => {
    const b = doc[name];
    if (!isMap(b)) throw new Error(`${name} is not a mapping with an attest list`);
    return attest(b.attest, `${name}.attest`);
  };
  const undefinedRole = [...steps.flatMap((st) => st.attest), ...block("exceptions"), ...block("abort")].find((a) => !roleIds.has(a.role));
  if (undefinedRole) throw new Error(`an attest requirement names the undefined role '${undefinedRole.role}'`);
  const scalar = (k: "id" | "version" | "title") => str(doc[k], k);
  return {
    id: scalar("id"),
    version: scalar("version"),
    title: scalar("title"),
    roles,
    separation,
    algorithms,
    steps,
    exceptions: block("exceptions"),
    abort: block("abort"),
  };
}
