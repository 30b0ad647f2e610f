/**
 * Weak-algorithm policy (DESIGN.md invariant 5). Runs over the raw parsed
 * script before the schema, so a weak choice is refused with its own reason
 * and the path of the offending field, not a generic "invalid option".
 */

export interface PolicyIssue {
  path: string;
  message: string;
}

const WEAK: Array<{ re: RegExp; why: string }> = [
  { re: /^(3des|des3|des-ede3?|tdes|triple-?des|des-ede3-cbc)$/i, why: "3DES is refused: 64-bit blocks and a 112-bit effective key" },
  { re: /^des(-cbc|-ecb)?$/i, why: "DES is refused: a 56-bit key" },
  { re: /^rc4|arcfour/i, why: "RC4 is refused: a broken stream cipher" },
  { re: /^md5|md5(with|-)rsa/i, why: "MD5 is refused: collisions are practical" },
  { re: /^(sha-?1|sha1with|ecdsa-?sha-?1|rsa-?sha-?1|sha1-?rsa)/i, why: "SHA-1 signatures are refused: collisions are practical" },
  { re: /(^|-)(p-?192|p-?224|secp(112|128|160|192|224)[rk]\d|prime192v\d|brainpoolp(160|192|224)r1)$/i, why: "curves under 256 bits are refused" },
];

/** Returns the reason a single algorithm name is weak, or undefined. */
export function weakAlgorithmReason(value: string): string | undefined {
  const v = value.trim();
  for (const w of WEAK) if (w.re.test(v)) return w.why;
  const rsa = /^rsa[-_ ]?(\d+)$/i.exec(v);
  if (rsa && Number(rsa[1]) < 2048) return `RSA-${rsa[1]} is refused: RSA keys under 2048 bits are weak`;
  const ec = /^ec[-_ ]?p-?(\d+)$/i.exec(v);
  if (ec && Number(ec[1]) < 256) return `EC P-${ec[1]} is refused: curves under 256 bits are weak`;
  if (/^ed25519$/i.test(v)) return "Ed25519 is refused for ceremonies with a backup: SoftHSM 2.6 and many HSMs cannot wrap EdDSA keys";
  return undefined;
}

const ALG_KEY = /(algorithm|algorithms|alg|hash|digest|curve|cipher|mechanism|signature)/i;
const BITS_KEY = /^(bits|keySize|keyBits|modulusBits|rsaBits)$/i;

function fmt(path: Array<string | number>): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

/** Walks any parsed script and lists every weak algorithm with its field path. */
export function checkAlgorithmPolicy(raw: unknown): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const walk = (v: unknown, path: Array<string | number>, keyIsAlg: boolean, depth: number) => {
    if (depth > 64) return; // the schema rejects such nesting with its own message
    if (typeof v === "string") {
      if (keyIsAlg) {
        const why = weakAlgorithmReason(v);
        if (why) issues.push({ path: fmt(path), message: why });
      }
      return;
    }
    if (typeof v === "number") {
      const last = path[path.length - 1];
      if (typeof last === "string" && BITS_KEY.test(last) && v < 2048) {
        issues.push({ path: fmt(path), message: `${v}-bit RSA keys are refused: RSA keys under 2048 bits are weak` });
      }
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...path, i], keyIsAlg, depth + 1));
      return;
    }
    if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k], ALG_KEY.test(k), depth + 1);
    }
  };
  walk(raw, [], false, 0);
  return issues;
}
