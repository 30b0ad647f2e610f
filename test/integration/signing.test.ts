/**
 * Issue 15: the root at work. Rehearsals of the signing ceremonies against the
 * root of a generation rehearsal (real SoftHSM2 token), checked with outside
 * tools: openssl verifies the intermediate, the CRL and the cross-certificates;
 * a request with a bad signature or a weak key is refused before the HSM
 * signs; each transcript verifies, names its source, and records the input
 * hashes that were compared aloud.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rehearse, rehearseFrom } from "../../electron/core/rehearse/rehearse";
import { TranscriptStore } from "../../electron/core/transcript/store";
import { ROOT, custos, tool } from "../helpers/files";
import { verdictOf } from "../helpers/verdict";

const script = (n: string) => path.join(ROOT, "ceremony-scripts", `${n}.yaml`);
let dir: string;
let rootA: string;
let rootB: string;

function csr(name: string, keyArgs: string[], subject: string): string {
  const out = path.join(dir, `${name}.csr`);
  tool("openssl", ["req", "-new", ...keyArgs, "-nodes", "-keyout", path.join(dir, `${name}.key`), "-out", out, "-subj", subject]);
  return out;
}

function entries(folder: string) {
  const store = TranscriptStore.openReadOnly(path.join(folder, "transcript.sqlite"));
  try {
    const id = store.listCeremonies()[0]!.id;
    return store.entries(id).map((e) => e.body);
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "custos-signing-"));
  rootA = path.join(dir, "root-a");
  rootB = path.join(dir, "root-b");
  await rehearse({ scriptPath: script("root-key-generation"), outDir: rootA, custodians: 3, threshold: 2 });
  // A second root with its own name, for the rollover.
  const renamed = path.join(dir, "generation-2027.yaml");
  fs.writeFileSync(renamed, fs.readFileSync(script("root-key-generation"), "utf8").replace("commonName: Example Root CA 2026", "commonName: Example Root CA 2027"));
  await rehearse({ scriptPath: renamed, outDir: rootB, custodians: 3, threshold: 2, algorithm: "EC-P256" });
}, 240_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("signing ceremonies rehearsed on the root's own token", () => {
  it("certifies an intermediate CA from an openssl CSR with the script's profile; openssl verifies it; the transcript names its source and the compared hash", async () => {
    const request = csr("intermediate", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "/C=CH/O=Example Organisation/CN=Example Intermediate CA 2026");
    const out = path.join(dir, "sign");
    await rehearseFrom({ scriptPath: script("sign-intermediate"), fromDir: rootA, outDir: out, inputs: { csr: request } });
    const cert = path.join(out, "intermediate.pem");
    expect(tool("openssl", ["verify", "-x509_strict", "-CAfile", path.join(rootA, "root-cert.pem"), cert]).trim()).toBe(`${cert}: OK`);
    const text = tool("openssl", ["x509", "-in", cert, "-noout", "-text"]);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(text).toMatch(/Policy: X509v3 Any Policy/);
    expect(text).toContain("URI:http://pki.example.org/root.crl");
    expect(text).toContain("CA Issuers - URI:http://pki.example.org/root.crt");
    expect(text).toMatch(/Subject: C ?= ?CH, O ?= ?Example Organisation, CN ?= ?Example Intermediate CA 2026/);
    // The key certified is the request's key.
    const pub = (f: string, cmd: string[]) => tool("openssl", [...cmd, "-in", f, "-pubkey", "-noout"]);
    expect(pub(cert, ["x509"])).toBe(pub(request, ["req"]));
    // The chain file holds the intermediate and the root.
    expect((fs.readFileSync(path.join(out, "intermediate-chain.pem"), "utf8").match(/BEGIN CERTIFICATE/g) ?? []).length).toBe(2);

    expect((await verdictOf(path.join(out, "report.pdf"))).complete).toBe(true);
    const bodies = entries(out);
    const source = bodies.find((b) => b.action === "load-source-ceremony")!.outputs.source as { ceremonyId: string; head: string };
    const genBundle = JSON.parse(fs.readFileSync(path.join(rootA, "bundle.json"), "utf8")) as { ceremony: { id: string }; head: string };
    expect(source).toMatchObject({ ceremonyId: genBundle.ceremony.id, head: genBundle.head });
    const input = bodies.find((b) => b.action === "load-input")!.outputs.input as { sha256: string };
    expect(input.sha256).toBe(tool("sha256sum", [request]).split(" ")[0]);
    expect(tool("pdftotext", [path.join(out, "report.pdf"), "-"]).replace(/\s+/g, "")).toContain(input.sha256);
    // The seal is signed by the root proved on the token.
    const seal = JSON.parse(fs.readFileSync(path.join(out, "bundle.json"), "utf8")).entries.at(-1).signatures as Array<{ kind: string }>;
    expect(seal.some((s) => s.kind === "root-key")).toBe(true);
  }, 180_000);

  it("refuses a request whose own signature does not verify, and one with a key weaker than the profile, before the HSM signs", async () => {
    const good = csr("tampered", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "/CN=Tampered Intermediate");
    const der = Buffer.from(tool("openssl", ["req", "-in", good, "-outform", "PEM"]).replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
    der[der.length - 10] = der[der.length - 10]! ^ 0x01; // inside the signature
    const bad = path.join(dir, "tampered-bad.csr");
    fs.writeFileSync(bad, `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END CERTIFICATE REQUEST-----\n`);
    const weak = csr("weak", ["-newkey", "rsa:2048"], "/CN=Weak Intermediate");
    for (const [file, reason] of [
      [bad, /own signature does not verify/],
      [weak, /RSA key of 2048 bits; the script's profile needs at least 3072/],
    ] as const) {
      const out = path.join(dir, `refused-${path.basename(file)}`);
      const r = custos(["rehearse", script("sign-intermediate"), "--from", rootA, "--input", `csr=${file}`, "--out", out]);
      expect(r.status, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(/"The root signs the intermediate certificate" \(sign\) failed/);
      expect(r.stderr).toMatch(reason);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(fs.existsSync(path.join(out, "intermediate.pem"))).toBe(false);
      expect(entries(out).some((b) => b.action === "sign-certificate")).toBe(false);
    }
  }, 180_000);

  it("issues a CRL with the entered serials and reasons, which openssl verifies against the root certificate", async () => {
    const list = path.join(dir, "revoked.txt");
    fs.writeFileSync(list, "# serial reason\n0a1b2c keyCompromise\n01:23:45 superseded\n\n");
    const out = path.join(dir, "crl");
    await rehearseFrom({ scriptPath: script("issue-crl"), fromDir: rootA, outDir: out, inputs: { revoked: list } });
    const crl = path.join(out, "crl.pem");
    const verifyOut = tool("openssl", ["crl", "-CAfile", path.join(rootA, "root-cert.pem"), "-in", crl, "-noout"]).trim();
    expect(verifyOut === "" || verifyOut === "verify OK").toBe(true);
    const text = tool("openssl", ["crl", "-in", crl, "-noout", "-text"]);
    expect(text).toMatch(/Serial Number: 0A1B2C[\s\S]*?Key Compromise/);
    expect(text).toMatch(/Serial Number: 012345[\s\S]*?Superseded/);
    expect(text).toMatch(/X509v3 CRL Number:\s+\d{14}/);
    expect((await verdictOf(path.join(out, "transcript.sqlite"))).complete).toBe(true);
  }, 180_000);

  it("cross-certifies the old root and the new one both ways; each cross-certificate verifies against the other root, and a path runs through it", async () => {
    const ab = path.join(dir, "cross-ab");
    const ba = path.join(dir, "cross-ba");
    await rehearseFrom({ scriptPath: script("cross-certify"), fromDir: rootA, outDir: ab, inputs: { "other-root": path.join(rootB, "root-cert.pem") } });
    await rehearseFrom({ scriptPath: script("cross-certify"), fromDir: rootB, outDir: ba, inputs: { "other-root": path.join(rootA, "root-cert.pem") } });
    const crossAB = path.join(ab, "cross-certificate.pem");
    const crossBA = path.join(ba, "cross-certificate.pem");
    expect(tool("openssl", ["verify", "-x509_strict", "-CAfile", path.join(rootA, "root-cert.pem"), crossAB]).trim()).toBe(`${crossAB}: OK`);
    expect(tool("openssl", ["verify", "-x509_strict", "-CAfile", path.join(rootB, "root-cert.pem"), crossBA]).trim()).toBe(`${crossBA}: OK`);
    expect(tool("openssl", ["x509", "-in", crossAB, "-noout", "-subject"])).toMatch(/Example Root CA 2027/);
    // An intermediate of the new root, trusted through the old root and the cross-certificate.
    const request = csr("b-intermediate", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "/CN=Intermediate under the 2027 root");
    const signed = path.join(dir, "sign-b");
    await rehearseFrom({ scriptPath: script("sign-intermediate"), fromDir: rootB, outDir: signed, inputs: { csr: request } });
    const leaf = path.join(signed, "intermediate.pem");
    expect(tool("openssl", ["verify", "-CAfile", path.join(rootA, "root-cert.pem"), "-untrusted", crossAB, leaf]).trim()).toBe(`${leaf}: OK`);
    for (const f of [ab, ba]) expect((await verdictOf(path.join(f, "bundle.json"))).complete).toBe(true);
  }, 300_000);
});
