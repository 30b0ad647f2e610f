/**
 * The root at work: signing ceremonies (issue 15). The root key stays on its
 * token; what it signs comes from outside the room on a medium, is hashed and
 * compared aloud before anything is signed, and is checked (its own
 * signature, its key's strength) by the same code before the HSM signs.
 * Which root signs is proved, not assumed: the token must produce a signature
 * that verifies with the key the source ceremony recorded.
 */
import "reflect-metadata";
import crypto from "node:crypto";
import * as x509 from "@peculiar/x509";
import { hashWords } from "../../app/words";
import { CustosError } from "../../errors";
import { verifyRootSignature } from "../../hsm/algorithms";
import type { ActionParams } from "../../script/params";
import { json, pem } from "./util";
import { hsmSigner, serialFrom } from "../pki/hsm-signer";
import { profileExtensionsFor, type CertificateProfile } from "../pki/profile";
import { certificateParts, inputSubjectAndKey } from "../../transcript/verify/x509-der";
import { CRL_REASONS, checkCsr, checkOtherRoot, parseRevocations } from "../pki/requests";
import type { ActionImpl, StepContext } from "../types";
import type { RecordedRootKey } from "./util";

const sha256 = (b: Uint8Array) => crypto.createHash("sha256").update(b).digest("hex");
const MAX_INPUT_BYTES = 1024 * 1024;

interface RootSource {
  key: RecordedRootKey;
  certificatePem?: string;
  ceremonyId: string;
}

/** The root key and certificate the source ceremony recorded (load-source-ceremony, purpose root-key). */
function rootSource(ctx: StepContext): RootSource {
  const o = ctx.outputsOf("load-source-ceremony") as { sourceRootKey?: RecordedRootKey; sourceCertificate?: { pem?: string }; source?: { ceremonyId?: string } } | undefined;
  if (!o?.sourceRootKey?.spki) throw new CustosError("CEREMONY_ORDER", "No source ceremony with a root key has been loaded.", "The script must load the generation (or recovery) ceremony of this root first.");
  return { key: o.sourceRootKey, certificatePem: o.sourceCertificate?.pem, ceremonyId: o.source?.ceremonyId ?? "?" };
}

/** The root key proved on this token by prove-root-key. */
function provedRoot(ctx: StepContext): RecordedRootKey {
  const rk = ctx.outputsOf("prove-root-key")?.rootKey as unknown as RecordedRootKey | undefined;
  if (!rk) throw new CustosError("CEREMONY_ORDER", "The root key has not been proved on this token yet.", "The script must run prove-root-key before the root signs.");
  return rk;
}

/**
 * Finds the source's root key on the selected token and proves it: a fresh
 * challenge signed inside the HSM must verify with the recorded public key.
 */
export const proveRootKey: ActionImpl<ActionParams<"prove-root-key">> = {
  async run(ctx) {
    const src = rootSource(ctx);
    const s = ctx.session();
    await ctx.login(s, "user");
    const label = src.key.label;
    const found = label ? s.listObjects(label) : [];
    if (!found.some((o) => o.class === "private")) {
      throw new CustosError(
        "ROOT_KEY_NOT_ON_TOKEN",
        `The selected token holds no private key labelled ${label || "(no label recorded)"}, the root key of ceremony ${src.ceremonyId}.`,
        "Select the token that holds this root (or restore it first with a recovery ceremony).",
      );
    }
    const challenge = Buffer.concat([Buffer.from(`Custos root key proof\nceremony ${ctx.ceremonyId}\nkey ${src.key.fingerprint}\n`), s.random(32)]);
    const signature = s.sign(label, src.key.algorithm, challenge);
    if (!verifyRootSignature(src.key.algorithm, Buffer.from(src.key.spki, "base64"), challenge, signature)) {
      throw new CustosError(
        "ROOT_KEY_MISMATCH",
        `The key labelled ${label} on this token is not the root key recorded by ceremony ${src.ceremonyId} (its signature does not verify with fingerprint ${src.key.fingerprint.slice(0, 16)}…).`,
        "Stop: this token does not hold the expected root. Record an exception.",
      );
    }
    return {
      inputs: {},
      outputs: {
        rootKey: json({ label, id: src.key.id, algorithm: src.key.algorithm, spki: src.key.spki, fingerprint: src.key.fingerprint, publicKeyPem: src.key.publicKeyPem }),
        proof: { challenge: challenge.toString("base64"), signature: signature.toString("base64"), verifies: true, sourceCeremonyId: src.ceremonyId },
      },
    };
  },
};

/** A short, readable account of an input for the room (subject, key, or number of revocations). */
async function describeInput(kind: string, bytes: Buffer): Promise<string> {
  try {
    if (kind === "certificate-request") {
      const text = bytes.toString("latin1");
      const csr = new x509.Pkcs10CertificateRequest(/-----BEGIN/.test(text) ? text : new Uint8Array(bytes).buffer);
      return `request for ${csr.subject}`;
    }
    if (kind === "certificate") {
      const text = bytes.toString("latin1");
      const cert = new x509.X509Certificate(/-----BEGIN/.test(text) ? text : new Uint8Array(bytes).buffer);
      return `certificate of ${cert.subject}, issued by ${cert.issuer}`;
    }
    return `${parseRevocations(bytes).length} certificate(s) to revoke`;
  } catch (e) {
    return e instanceof CustosError ? e.message : "a file that cannot be read as what the script expects";
  }
}

/**
 * Reads a file brought on a medium, shows its SHA-256 as hex and words, and
 * records it once the room has compared the hash with the one the requester
 * sent separately. A mismatch stops the step: nothing is recorded or signed.
 */
export const loadInput: ActionImpl<ActionParams<"load-input">> = {
  async run(ctx, params) {
    let error: CustosError | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const { fileName, bytes } = await ctx.driver.readInput(ctx.view, { name: params.name, kind: params.kind, description: params.description, error });
      if (bytes.length === 0 || bytes.length > MAX_INPUT_BYTES) {
        error = new CustosError("INPUT_FORM", `${fileName} is ${bytes.length === 0 ? "empty" : "larger than 1 MiB"}.`, "Choose the file the requester sent.");
        continue;
      }
      const hash = sha256(bytes);
      const summary = await describeInput(params.kind, bytes);
      const match = await ctx.driver.compareInputHash(ctx.view, { name: params.name, fileName, sha256: hash, words: hashWords(hash, 6), summary });
      if (!match) {
        throw new CustosError(
          "INPUT_HASH_MISMATCH",
          `The SHA-256 of ${fileName} is not the one the requester sent: this is not the file they asked to have signed.`,
          "Stop. Nothing was signed. Ask the requester to send the file again by the agreed channel, and record an exception.",
        );
      }
      return {
        inputs: { fileName, comparedAloud: true },
        outputs: { input: { name: params.name, kind: params.kind, fileName, sha256: hash, bytes: bytes.length, words: hashWords(hash, 6).join(" "), summary, content: bytes.toString("base64") } },
      };
    }
    throw error!;
  },
};

/** The bytes of the input recorded under `name` by load-input. */
function recordedInput(ctx: StepContext, name: string): Buffer {
  for (let i = ctx.history.length - 1; i >= 0; i--) {
    const b = ctx.history[i]!;
    const input = b.outputs.input as { name?: string; content?: string } | undefined;
    if (b.action === "load-input" && input?.name === name && typeof input.content === "string") return Buffer.from(input.content, "base64");
  }
  throw new CustosError("CEREMONY_ORDER", `No input "${name}" has been loaded.`, "The script must load that input (load-input) before this step.");
}

/** The root certificate the source recorded, checked to be of the proved key. */
function rootCertificate(ctx: StepContext, rk: RecordedRootKey): x509.X509Certificate {
  const src = rootSource(ctx);
  if (!src.certificatePem) {
    throw new CustosError("ROOT_CERT_MISSING", `Ceremony ${src.ceremonyId} records no root certificate.`, "Load the generation ceremony that issued the root certificate as the source.");
  }
  const cert = new x509.X509Certificate(src.certificatePem);
  if (Buffer.from(cert.publicKey.rawData).toString("base64") !== rk.spki) throw new CustosError("ROOT_CERT_MISMATCH", "The source's root certificate is not of the proved root key.", "Record an exception; this source cannot be used.");
  return cert;
}

interface Issued {
  pem: string;
  der: Buffer;
  sha256: string;
  serialNumber: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
}

/** The subject of an input (request or certificate) exactly as it encodes it: the issued certificate carries these bytes (§6.10). */
function inputSubject(bytes: Buffer, kind: "certificate-request" | "certificate"): Buffer {
  const parts = inputSubjectAndKey(bytes, kind);
  if (!parts) throw new CustosError("INPUT_FORM", "The input's subject name cannot be read.", "Bring the file the requester sent, unchanged.");
  return parts.subject;
}

/** Issues a certificate for `spki` with `subject` (DER) under the profile, signed inside the HSM; checked as an outside tool would. */
async function issue(ctx: StepContext, profile: CertificateProfile, subject: Buffer, spki: Buffer): Promise<{ issued: Issued; root: x509.X509Certificate }> {
  const rk = provedRoot(ctx);
  const root = rootCertificate(ctx, rk);
  const s = ctx.session();
  await ctx.login(s, "user");
  const signer = await hsmSigner(rk.algorithm, Buffer.from(rk.spki, "base64"), (tbs) => s.sign(rk.label, rk.algorithm, tbs));
  const subjectKey = new x509.PublicKey(new Uint8Array(spki).buffer);
  const notBefore = new Date(Math.floor(ctx.deps.now().getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + profile.validityDays * 86_400_000);
  const rootNotAfter = root.notAfter;
  if (notAfter > rootNotAfter) {
    throw new CustosError("PROFILE_VALIDITY", `The certificate would outlive the root certificate (${notAfter.toISOString()} > ${rootNotAfter.toISOString()}).`, "Shorten validityDays in the script's profile.");
  }
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialFrom(s.random(16)),
      subject: new x509.Name(new Uint8Array(subject)),
      issuer: new x509.Name(new Uint8Array(certificateParts(Buffer.from(root.rawData)).subject)),
      notBefore,
      notAfter,
      signingAlgorithm: signer.signingAlgorithm,
      publicKey: subjectKey,
      signingKey: signer.privateKey,
      extensions: profileExtensionsFor(profile, spki, Buffer.from(rk.spki, "base64")),
    },
    signer.crypto,
  );
  const der = Buffer.from(cert.rawData);
  const check = new crypto.X509Certificate(der);
  if (!check.verify(crypto.createPublicKey({ key: Buffer.from(rk.spki, "base64"), format: "der", type: "spki" })) || !check.checkIssued(new crypto.X509Certificate(Buffer.from(root.rawData)))) {
    throw new CustosError("CERT_INVALID", "The certificate the HSM signed does not verify under the root certificate.", "Record an exception; do not publish it.");
  }
  return {
    root,
    issued: { pem: cert.toString("pem") + "\n", der, sha256: sha256(der), serialNumber: cert.serialNumber, subject: cert.subject, issuer: cert.issuer, notBefore: notBefore.toISOString(), notAfter: notAfter.toISOString() },
  };
}

async function saveCertificate(ctx: StepContext, output: string, issued: Issued, root: x509.X509Certificate) {
  const chainName = output.replace(/\.pem$/, "-chain.pem");
  const chain = issued.pem + root.toString("pem") + "\n";
  await ctx.driver.saveArtifact(output, Buffer.from(issued.pem));
  await ctx.driver.saveArtifact(chainName, Buffer.from(chain));
  return [
    { name: output, sha256: sha256(Buffer.from(issued.pem)), bytes: Buffer.byteLength(issued.pem) },
    { name: chainName, sha256: sha256(Buffer.from(chain)), bytes: Buffer.byteLength(chain) },
  ];
}

/** Certifies an intermediate CA's key from its PKCS#10 request, under the script's profile. */
export const signCertificate: ActionImpl<ActionParams<"sign-certificate">> = {
  async run(ctx, params) {
    const csrBytes = recordedInput(ctx, params.input);
    const csr = await checkCsr(csrBytes, params.profile);
    const { issued, root } = await issue(ctx, params.profile, inputSubject(csrBytes, "certificate-request"), csr.spki);
    const files = await saveCertificate(ctx, params.output, issued, root);
    return {
      inputs: { input: params.input, inputSha256: sha256(csrBytes) },
      outputs: {
        request: { subject: csr.subject, key: csr.keyAlgorithm, spkiSha256: sha256(csr.spki), signature: csr.signatureAlgorithm, signatureVerifies: true },
        certificate: json({ ...issued, der: undefined, spkiSha256: sha256(csr.spki) }),
        files: json(files),
      },
    };
  },
};

/** The old root certifies another root's key (rollover): subject and key of the other root, this root as issuer. */
export const crossCertify: ActionImpl<ActionParams<"cross-certify">> = {
  async run(ctx, params) {
    const bytes = recordedInput(ctx, params.input);
    const other = await checkOtherRoot(bytes, params.profile);
    if (other.spki.toString("base64") === provedRoot(ctx).spki) throw new CustosError("INPUT_SAME_ROOT", "The other root's certificate is of this very root key.", "Bring the other root's certificate.");
    const { issued, root } = await issue(ctx, params.profile, inputSubject(bytes, "certificate"), other.spki);
    const files = await saveCertificate(ctx, params.output, issued, root);
    return {
      inputs: { input: params.input, inputSha256: sha256(bytes) },
      outputs: {
        otherRoot: { subject: other.subject, key: other.keyAlgorithm, spkiSha256: sha256(other.spki), certificateSha256: sha256(Buffer.from(other.cert.rawData)), selfSignatureVerifies: true },
        certificate: json({ ...issued, der: undefined, spkiSha256: sha256(other.spki) }),
        files: json(files),
      },
    };
  },
};

/** DER of a non-negative INTEGER (for the CRL number extension). */
function derInteger(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let body = Buffer.from(hex, "hex");
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

/**
 * Issues a CRL signed by the root. Its number grows across the ceremonies of
 * one root without shared state: the UTC time of the ceremony as
 * YYYYMMDDHHMMSS (RFC 5280 5.2.3 asks only that it increase).
 */
export const issueCrl: ActionImpl<ActionParams<"issue-crl">> = {
  async run(ctx, params) {
    const rk = provedRoot(ctx);
    const root = rootCertificate(ctx, rk);
    const listBytes = params.input ? recordedInput(ctx, params.input) : undefined;
    const list = listBytes ? parseRevocations(listBytes) : [];
    const s = ctx.session();
    await ctx.login(s, "user");
    const signer = await hsmSigner(rk.algorithm, Buffer.from(rk.spki, "base64"), (tbs) => s.sign(rk.label, rk.algorithm, tbs));
    const thisUpdate = new Date(Math.floor(ctx.deps.now().getTime() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + params.nextUpdateDays * 86_400_000);
    const number = BigInt(thisUpdate.toISOString().replace(/[^0-9]/g, "").slice(0, 14));
    const crl = await x509.X509CrlGenerator.create(
      {
        issuer: new x509.Name(new Uint8Array(certificateParts(Buffer.from(root.rawData)).subject)),
        thisUpdate,
        nextUpdate,
        signingAlgorithm: signer.signingAlgorithm,
        signingKey: signer.privateKey,
        entries: list.map((r) => ({ serialNumber: r.serial, revocationDate: thisUpdate, reason: CRL_REASONS[r.reason] })),
        extensions: [await x509.AuthorityKeyIdentifierExtension.create(root, false, signer.crypto), new x509.Extension("2.5.29.20", false, new Uint8Array(derInteger(number)).buffer)],
      },
      signer.crypto,
    );
    const der = Buffer.from(crl.rawData);
    if (!(await crl.verify({ publicKey: await root.publicKey.export(signer.crypto) }, signer.crypto))) {
      throw new CustosError("CRL_INVALID", "The CRL the HSM signed does not verify with the root key.", "Record an exception; do not publish it.");
    }
    const text = pem("X509 CRL", der);
    await ctx.driver.saveArtifact(params.output, Buffer.from(text));
    return {
      inputs: params.input && listBytes ? { input: params.input, inputSha256: sha256(listBytes) } : ({} as { [key: string]: never }),
      outputs: {
        crl: { pem: text, sha256: sha256(der), number: number.toString(), thisUpdate: thisUpdate.toISOString(), nextUpdate: nextUpdate.toISOString(), issuer: root.subject, revoked: json(list) },
        files: [{ name: params.output, sha256: sha256(Buffer.from(text)), bytes: Buffer.byteLength(text) }],
      },
    };
  },
};
