/**
 * Certificate profiles fixed by a signing script: what the root certifies is
 * decided in the script (hashed into the transcript), never typed in the room.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from "@peculiar/asn1-x509";
import type { CertificateProfile } from "../../script/profile";

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

/** The extensions a profile gives a certificate for `subjectKey`, issued by the root certificate. */
export async function profileExtensions(profile: CertificateProfile, subjectKey: x509.PublicKey, root: x509.X509Certificate, crypto: Crypto): Promise<x509.Extension[]> {
  const usage = profile.keyUsage.reduce((a, u) => a | x509.KeyUsageFlags[u], 0);
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(profile.ca, profile.ca ? profile.pathLength : undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    await x509.SubjectKeyIdentifierExtension.create(subjectKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(root, false, crypto),
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
