import crypto from "node:crypto";
import type { ActionParams } from "../../script/params";
import { exportBundle } from "../../transcript/bundle";
import type { ActionImpl } from "../types";
import { recordedBackup } from "./backup";
import { recordedRootKey } from "./util";

const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

/** Writes the public artifacts: root public key, root certificate, backup blob with its metadata. */
export const exportPublicArtifacts: ActionImpl<ActionParams<"export-public-artifacts">> = {
  async run(ctx) {
    const rk = recordedRootKey(ctx);
    const files: Array<{ name: string; data: Buffer }> = [{ name: "root-public.pem", data: Buffer.from(rk.publicKeyPem) }];
    const cert = ctx.outputsOf("self-sign-certificate")?.certificate as { pem?: string } | undefined;
    if (cert?.pem) files.push({ name: "root-cert.pem", data: Buffer.from(cert.pem) });
    const { backup, shares } = recordedBackup(ctx);
    const backupFile = {
      format: "custos-backup",
      version: 1,
      ceremonyId: ctx.ceremonyId,
      mode: ctx.mode,
      rootKey: { algorithm: rk.algorithm, fingerprint: rk.fingerprint, spki: rk.spki, label: rk.label, id: rk.id },
      wrapping: {
        format: backup.format ?? "rfc5649-pkcs8",
        formatDescription: "RFC 5649 AES key wrap with padding (AES-256 KEK) over the PKCS#8 PrivateKeyInfo of the root key",
        mechanism: backup.mechanism,
        ...(backup.mechanismCode !== undefined ? { mechanismCode: backup.mechanismCode, mechanismHex: `0x${backup.mechanismCode.toString(16).toUpperCase()}` } : {}),
        ...(backup.madeBy ? { madeBy: backup.madeBy } : {}),
        kcv: backup.kcv,
        threshold: backup.threshold,
        total: backup.total,
      },
      shareCommitments: shares,
      blob: backup.blob,
      blobSha256: backup.sha256,
    };
    files.push({ name: "backup.json", data: Buffer.from(JSON.stringify(backupFile, null, 2) + "\n") });
    for (const f of files) await ctx.driver.saveArtifact(f.name, f.data);
    return { inputs: {}, outputs: { files: files.map((f) => ({ name: f.name, sha256: sha256(f.data), bytes: f.data.length })) } };
  },
};

/** Prints the report of the transcript so far, for wet signatures; its hash is recorded. */
export const printReport: ActionImpl<ActionParams<"print-report">> = {
  async run(ctx) {
    const bundle = exportBundle(ctx.deps.store, ctx.ceremonyId);
    const pdf = await ctx.deps.renderReport(bundle);
    await ctx.driver.saveArtifact("printed-report.pdf", pdf);
    await ctx.driver.printDocument?.(`Custos report for signatures ${ctx.ceremonyId}`, pdf);
    return { inputs: {}, outputs: { report: { entries: bundle.entries.length, head: bundle.head, sha256: sha256(pdf), bytes: pdf.length } } };
  },
};
