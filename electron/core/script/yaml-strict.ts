/**
 * docs/transcript-format.md §5: an auditor's verifier reads the stored script
 * with whatever YAML parser their language has — often YAML 1.1 (PyYAML).
 * Scripts may therefore only use YAML whose meaning is the same in 1.1 and
 * 1.2: no anchors, aliases, merge keys or tags, and no plain scalar that one
 * version reads as a number, boolean, null or date and the other does not.
 */
import YAML, { isAlias, isMap, isScalar, isSeq, type Document, type Node } from "yaml";

export interface YamlIssue {
  path: string;
  message: string;
}

// Plain scalars YAML 1.1 (or 1.2) gives a non-string meaning to, beyond the two forms allowed below.
const AMBIGUOUS = [
  /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|True|TRUE|False|FALSE)$/,
  /^(~|null|Null|NULL)$/,
  /^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$/, // numbers of every base-10 form
  /^[-+]?0[box]?[0-9a-fA-F_]+$/, // octal, hexadecimal, binary
  /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/, // sexagesimal
  /^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/,
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$/, // dates and timestamps
  /^<<$/, // merge key
];
const DECIMAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

function walk(node: Node | null | undefined, path: string, out: YamlIssue[]): void {
  if (!node) return;
  if (isAlias(node)) {
    out.push({ path, message: "aliases (*name) are not allowed in a ceremony script; write the value out" });
    return;
  }
  const n = node as Node & { anchor?: string; tag?: string };
  if (n.anchor) out.push({ path, message: `anchors (&${n.anchor}) are not allowed in a ceremony script` });
  if (n.tag) out.push({ path, message: `tags (${n.tag}) are not allowed in a ceremony script` });
  if (isScalar(node)) {
    if (node.type === "PLAIN") {
      const src = typeof node.source === "string" ? node.source : String(node.value);
      const ok = src === "true" || src === "false" || DECIMAL_INTEGER.test(src) || !AMBIGUOUS.some((re) => re.test(src));
      if (!ok) out.push({ path, message: `the unquoted value ${JSON.stringify(src)} means different things in YAML 1.1 and 1.2; put it in quotes` });
    }
    return;
  }
  if (isMap(node)) {
    // Keys are unique by their text (1 and "1" are one key: JavaScript objects and YAML 1.1 readers
    // disagree on them otherwise), checked here in one pass: the parser's own uniqueKeys check compares
    // every key with every other, and a script of 100,000 keys took minutes.
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isScalar(pair.key)) {
        out.push({ path, message: "a mapping key that is not plain text (a list or a mapping as a key) is not allowed in a ceremony script" });
        continue;
      }
      const key = String(pair.key.value);
      if (seen.has(key)) out.push({ path: path ? `${path}.${key}` : key, message: `the key ${JSON.stringify(key)} appears twice in one mapping` });
      seen.add(key);
      walk(pair.key as Node, path ? `${path}.${key}` : key, out);
      walk(pair.value as Node, path ? `${path}.${key}` : key, out);
    }
    return;
  }
  if (isSeq(node)) node.items.forEach((item, i) => walk(item as Node, `${path}[${i}]`, out));
}

/** U+0085, U+2028, U+2029: line breaks to YAML 1.1 (PyYAML), ordinary characters to YAML 1.2 (a rule hidden in a comment). */
const YAML11_LINE_BREAKS = /[\u0085\u2028\u2029]/;

/** Issues of the text itself (before parsing) that a portable verifier could read differently. */
export function portableTextIssues(text: string): YamlIssue[] {
  const m = YAML11_LINE_BREAKS.exec(text);
  if (!m) return [];
  const line = text.slice(0, m.index).split("\n").length;
  const code = `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  return [{ path: "", message: `line ${line} holds ${code}, which YAML 1.1 reads as a line break and YAML 1.2 does not; remove it` }];
}

/**
 * Issues for every construct of §5 a portable verifier could read differently:
 * the text's line breaks, then (parse with uniqueKeys: false; duplicates are
 * found here) anchors, aliases, tags, ambiguous plain scalars, duplicate keys.
 */
export function portableYamlIssues(doc: Document, text?: string): YamlIssue[] {
  const out: YamlIssue[] = text === undefined ? [] : portableTextIssues(text);
  walk(doc.contents as Node, "", out);
  return out;
}

/** Convenience for tests: parse and check text. */
export function portableYamlIssuesOf(text: string): YamlIssue[] {
  return portableYamlIssues(YAML.parseDocument(text, { uniqueKeys: false }), text);
}
