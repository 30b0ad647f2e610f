import crypto from "node:crypto";
import { CustosError } from "../../errors";
import { rootKeyId, rootKeyLabel, spkiFingerprint } from "../../hsm";
import type { ActionParams } from "../../script/params";
import { createRootCertificate } from "../certificate";
import type { ActionImpl } from "../types";
import { json, pem, recordedRootKey, rootKeyOnToken } from "./util";

/** Generates the root key pair inside the token. */
export const generateKeyPair: ActionImpl<ActionParams<"generate-key-pair">> = {
  async run(ctx, params) {
    const algorithm = params.algorithm ?? ctx.settings.algorithm;
    if (!ctx.script.policy.algorithms.includes(algorithm)) {
      throw new CustosError("POLICY_ALGORITHM", `${algorithm} is not allowed by this script's policy.`, `Choose one of: ${ctx.script.policy.algorithms.join(", ")}.`);
    }
    const s = ctx.session();
    await ctx.login(s, "user");
    const label = rootKeyLabel(ctx.ceremonyId);
    const id = rootKeyId(ctx.ceremonyId);
    // Objects carrying this ceremony's label but no recorded entry come from an
    // interrupted run: never generate a second key blindly beside them.
    const orphans = s.listObjects(label);
    if (orphans.length && params.onOrphan === "stop") {
      throw new CustosError(
        "HSM_ORPHAN",
        `The token already holds ${orphans.length} object(s) labelled ${label} from an interrupted run of this step.`,
        "Record an exception; the script says to stop here. Destroy them deliberately before retrying.",
      );
    }
    const destroyed = orphans.length ? s.destroyByLabel(label) : [];
    const { spki } = s.generateRootKeyPair(algorithm, label, id);
    const objects = s.listObjects(label);
    const priv = objects.find((o) => o.class === "private");
    if (!priv || !priv.sensitive || !priv.wrapWithTrusted) {
      throw new CustosError("HSM_POLICY", "The token did not create the private key as sensitive and wrap-with-trusted.", "This token cannot be used for a root key; record an exception.");
    }
    return {
      inputs: { algorithm },
      outputs: {
        rootKey: json({
          label,
          id: id.toString("hex"),
          algorithm,
          spki: spki.toString("base64"),
          fingerprint: spkiFingerprint(spki),
          publicKeyPem: pem("PUBLIC KEY", spki),
        }),
        privateKeyAttributes: json({
          sensitive: priv.sensitive,
          alwaysSensitive: priv.alwaysSensitive,
          extractable: priv.extractable,
          neverExtractable: priv.neverExtractable,
          wrapWithTrusted: priv.wrapWithTrusted,
        }),
        orphansDestroyed: json(destroyed),
      },
    };
  },
};

/** Self-signed root CA certificate, its TBS signed inside the HSM. */
export const selfSignCertificate: ActionImpl<ActionParams<"self-sign-certificate">> = {
  async run(ctx, params) {
    const rk = recordedRootKey(ctx);
    const s = ctx.session();
    await ctx.login(s, "user");
    const spki = Buffer.from(rk.spki, "base64");
    const cert = await createRootCertificate({
      algorithm: rk.algorithm,
      spki,
      subject: params.subject,
      notBefore: ctx.deps.now(),
      validityYears: params.validityYears,
      pathLength: params.pathLength,
      sign: (tbs) => s.sign(rk.label, rk.algorithm, tbs),
    });
    // Check the certificate the way an outside tool would before recording it.
    const x = new crypto.X509Certificate(cert.der);
    if (!x.verify(crypto.createPublicKey({ key: spki, format: "der", type: "spki" })) || !x.ca) {
      throw new CustosError("CERT_INVALID", "The certificate signed by the HSM does not verify.", "Record an exception; do not use this key.");
    }
    return {
      inputs: { subject: json(params.subject), validityYears: params.validityYears },
      outputs: {
        certificate: json({
          pem: cert.pem,
          sha256: cert.sha256,
          serialNumber: cert.serialNumber,
          subject: x.subject,
          notBefore: new Date(x.validFrom).toISOString(),
          notAfter: new Date(x.validTo).toISOString(),
        }),
      },
    };
  },
};

/**
 * The seal (docs/transcript-format.md §6.5): the last entry. Where the
 * ceremony holds a root key on its token, that key signs it too (proof of
 * possession; done by the engine once the body is final).
 */
export const sealTranscript: ActionImpl<ActionParams<"seal-transcript">> = {
  async run(ctx) {
    const rk = rootKeyOnToken(ctx);
    const count = (action: string) => ctx.history.filter((e) => e.action === action).length;
    return {
      inputs: {},
      outputs: {
        sealedEntries: ctx.history.length,
        exceptions: count("exception"),
        deviations: count("deviation"),
        ...(rk ? { rootKeyFingerprint: rk.fingerprint } : {}),
      },
      rootSigns: rk !== undefined,
    };
  },
};
