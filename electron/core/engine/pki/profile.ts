/**
 * Certificate profiles fixed by a signing script: what the root certifies is
 * decided in the script (hashed into the transcript), never typed in the room.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from "@peculiar/asn1-x509";
import { createHash } from "node:crypto";
import type { CertificateProfile } from "../../script/profile";
import { tlv } from "../../transcript/verify/x509-der";

export { CertificateProfileSchema, type CertificateProfile } from "../../script/profile";

const EKU: Record<string, string> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  ocspSigning: "1.3.6.1.5.5.7.3.9",
};

function nameConstraintsExtension(nc: NonNullable<CertificateProfile["nameConstraints"]>): x509.Extension {
  const subtrees = (names: string[]) => (names.length ? new GeneralSubtrees(names.map((n) => new GeneralSubtree({ base: new GeneralName({ dNSName: n }) }))) : undefined);
  const value = new NameConstraints({ permittedSubtrees: subtrees(nc.permittedDns), excludedSubtrees: subtrees(nc.excludedDns) });
  // RFC 5280 4.2.1.10: conforming CAs mark name constraints critical.
  return new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(value));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits, from SubjectPublicKeyInfo DER. */
export function keyIdentifier(spki: Buffer): string {
  const outer = tlv(spki, 0);
  const alg = tlv(spki, outer.start);
  const bits = tlv(spki, alg.end);
  return createHash("sha1").update(spki.subarray(bits.start + 1, bits.end)).digest("hex");
}

/**
 * The extensions a profile gives a certificate for `subjectSpki` issued by the
 * root key `rootSpki` (§6.9 of the transcript format: the verifier expects
 * exactly these).
 */
export function profileExtensionsFor(profile: CertificateProfile, subjectSpki: Buffer, rootSpki: Buffer): x509.Extension[] {
  const usage = profile.keyUsage.reduce((a, u) => a | x509.KeyUsageFlags[u], 0);
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(profile.ca, profile.ca ? profile.pathLength : undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    new x509.SubjectKeyIdentifierExtension(keyIdentifier(subjectSpki), false),
    new x509.AuthorityKeyIdentifierExtension(keyIdentifier(rootSpki), false),
  ];
  if (profile.extendedKeyUsage?.length) exts.push(new x509.ExtendedKeyUsageExtension(profile.extendedKeyUsage.map((e) => EKU[e] ?? e), false));
  if (profile.certificatePolicies?.length) exts.push(new x509.CertificatePolicyExtension(profile.certificatePolicies, false));
  if (profile.crlDistributionPoints?.length) exts.push(new x509.CRLDistributionPointsExtension(profile.crlDistributionPoints, false));
  if (profile.caIssuers?.length || profile.ocsp?.length) {
    exts.push(new x509.AuthorityInfoAccessExtension({ caIssuers: (profile.caIssuers ?? []).map((u) => new x509.GeneralName("url", u)), ocsp: (profile.ocsp ?? []).map((u) => new x509.GeneralName("url", u)) }, false));
  }
  if (profile.nameConstraints && (profile.nameConstraints.permittedDns.length || profile.nameConstraints.excludedDns.length)) exts.push(nameConstraintsExtension(profile.nameConstraints));
  return exts;
}
