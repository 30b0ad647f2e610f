import crypto from "node:crypto";
import path from "node:path";
import * as graphene from "graphene-pk11";
import type { HsmProfile } from "./types";

export type { HsmProfile } from "./types";

/** NSS's CKA_NSS_DB (CKA_NSS + 34): the public value NSS keeps beside a private key in its database. */
export const CKA_NSS_DB = 0xce534350 + 34;
graphene.registerAttribute("nssDb", CKA_NSS_DB, "buffer");

function ecPoint(spki: Buffer): Buffer {
  const jwk = crypto.createPublicKey({ key: spki, format: "der", type: "spki" }).export({ format: "jwk" });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
}

export const PROFILES: HsmProfile[] = [
  {
    id: "softhsm2",
    name: "SoftHSM2 (OpenDNSSEC)",
    status: "tested",
    sources: ["test/integration/hsm-modules.test.ts on Debian softhsm2 2.6.1"],
    modules: [/^libsofthsm2\.so$/],
    identify: ["serial", "label"],
    identifyNote: "An initialised token moves to a new slot id; the serial is unique per token.",
    initialise: "custos",
    trustedSetBy: "security officer",
    pinFormat: "4-255 characters",
    labelMax: 32,
    idMax: 255,
    preferWrap: ["CKM_AES_KEY_WRAP_PAD"],
    expectedVerdict: "fit",
    knownLimits: ["No CKM_AES_KEY_WRAP_KWP (0x210B) in 2.6.1; its 0x210A is RFC 5649 (SoftHSMv2 issue #726).", "Cannot wrap EdDSA keys.", "Software only: rehearsals and tests, never production."],
  },
  {
    id: "nss-softokn",
    name: "NSS softoken (libsoftokn3)",
    status: "tested",
    sources: ["test/integration/hsm-modules.test.ts on Debian libnss3 3.87"],
    modules: [/^libsoftokn3\.so$/],
    initArgsTemplate: "configdir='sql:DIR' certPrefix='' keyPrefix='' secmod='secmod.db' flags=",
    identify: ["slot", "label"],
    identifyNote: "Both slots have serial 0000000000000000: name the token by label (NSS Certificate DB) or slot.",
    initialise: "vendor",
    initialiseNote: "Create the database with certutil -N -d sql:DIR.",
    trustedSetBy: "nobody",
    pinFormat: "the database password (may be empty)",
    labelMax: 32,
    idMax: 255,
    extraUnwrapAttributes: (alg, spki) => (alg.startsWith("EC") ? { nssDb: ecPoint(spki) } : {}),
    preferWrap: ["CKM_AES_KEY_WRAP_KWP"],
    expectedVerdict: "not fit",
    knownLimits: [
      "No security officer role (CKR_USER_TYPE_INVALID): nobody can mark a wrapping key trusted.",
      "Does not enforce CKA_WRAP_WITH_TRUSTED: an untrusted key wraps a key marked wrap-with-trusted.",
      "Its CKM_AES_KEY_WRAP_PAD (0x210A) is RFC 3394 over PKCS#7 padding; CKM_AES_KEY_WRAP_KWP (0x210B) is RFC 5649.",
      "EC unwrap needs CKA_NSS_DB (the public point).",
    ],
  },
  {
    id: "opencryptoki-soft",
    name: "openCryptoki soft token (swtok)",
    status: "tested",
    sources: ["test/integration/hsm-modules.test.ts on Debian opencryptoki 3.8.1 (pkcsslotd started by the test)"],
    modules: [/^libopencryptoki\.so(\.\d+)*$/, /^PKCS11_API\.so(\.\d+)*$/],
    identify: ["slot", "label"],
    initialise: "vendor",
    initialiseNote: "Initialise with pkcsconf -I (factory SO PIN 87654321), then set the PINs with pkcsconf -P / -u.",
    trustedSetBy: "unknown",
    pinFormat: "4-8 characters",
    labelMax: 32,
    idMax: 255,
    preferWrap: [],
    expectedVerdict: "not fit",
    knownLimits: ["No AES key wrap mechanism in 3.8.1 (only AES-CBC-PAD).", "CKA_WRAP_WITH_TRUSTED unknown (CKR_ATTRIBUTE_TYPE_INVALID).", "No EC key generation in this build."],
  },
  {
    id: "tpm2-pkcs11",
    name: "tpm2-pkcs11 (a TPM 2.0 as a PKCS#11 token)",
    status: "tested",
    sources: [
      "test/integration/hsm-tpm2.test.ts on Debian libtpm2-pkcs11-1 1.9.0, tpm2-tss 3.2.1, tpm2-abrmd 3.0.0 and swtpm 0.7.1 (libtpms 0.9.2); swtpm, a private D-Bus session bus and tpm2-abrmd started by the test",
    ],
    modules: [/^libtpm2_pkcs11\.so(\.\d+)*$/],
    identify: ["label"],
    identifyNote: "Every token reports serial 0000000000000000 (measured with two tokens), and an empty slot follows them: name the token by label.",
    initialise: "vendor",
    initialiseNote:
      "tpm2_ptool init, then tpm2_ptool addtoken --pid=1 --sopin … --userpin … --label …, with TPM2_PKCS11_STORE naming the store folder. Through tpm2-abrmd (TPM2_PKCS11_TCTI=tabrmd): straight to a TPM's three object slots, addtoken and the module run out (TPM_RC 0x902).",
    trustedSetBy: "nobody",
    pinFormat: "any",
    labelMax: 32,
    idMax: 255,
    preferWrap: [],
    expectedVerdict: "not fit",
    knownLimits: [
      "Refuses CKA_EXTRACTABLE=true on a generated private key (CKR_ATTRIBUTE_VALUE_INVALID), even with CKA_SENSITIVE=false and CKA_PRIVATE=false: a root key there could never be backed up.",
      "No AES key wrap mechanism (no 0x210A, no 0x210B); C_CreateObject takes no AES key at all (session or token object), so no wrapping key can be brought in either.",
      "The security officer may create no object (CKR_USER_NOT_LOGGED_IN under an SO login): nobody can mark a wrapping key CKA_TRUSTED.",
      "RSA 1024-3072 bits only (RSA-4096 is not offered); EC P-256, P-384 and P-521 keys generate.",
      "With CKA_EXTRACTABLE=false, CKA_DECRYPT=false on the private key or CKA_ENCRYPT=false on the public key fails with CKR_GENERAL_ERROR (the module logs a user/TPM attribute mismatch).",
      "No session objects (CKA_TOKEN=false is refused).",
      "Keeps both objects of every key pair it generated loaded until the module is closed, even once destroyed: through tpm2-abrmd (27 transient objects per connection by default; 30 pairs with --max-transients 60) a process makes 14 key pairs, then CKR_GENERAL_ERROR (TPM_RC 0x902); straight to swtpm (3 object slots), one.",
    ],
  },
  {
    id: "thales-luna",
    name: "Thales Luna Network HSM 7",
    status: "not tested",
    sources: ["Thales Luna HSM 7 documentation, PKCS#11 vendor extensions (CKM_AES_KWP, CKA_WRAP_WITH_TRUSTED under partition policy)"],
    modules: [/^libCryptoki2(_64)?\.so$/],
    identify: ["serial", "label"],
    identifyNote: "Each partition is a slot with its own serial and label.",
    initialise: "vendor",
    initialiseNote: "Partitions are created and initialised with lunash/lunacm by the HSM administrator; Custos verifies.",
    trustedSetBy: "security officer",
    pinFormat: "7-255 characters (partition policy)",
    labelMax: 32,
    idMax: 255,
    preferWrap: ["CKM_AES_KEY_WRAP_KWP", "CKM_AES_KWP (vendor 0x80000171)"],
    vendorWrapMechanisms: [{ code: 0x80000171, name: "CKM_AES_KWP (Luna vendor)" }],
    knownLimits: ["Older firmware offers RFC 5649 only as the vendor mechanism CKM_AES_KWP; the preflight proves which one is RFC 5649."],
  },
  {
    id: "entrust-nshield",
    name: "Entrust nShield (nCipher)",
    status: "not tested",
    sources: ["Entrust nShield PKCS#11 library documentation (cknfast); CKNFAST_* environment variables"],
    modules: [/^libcknfast\.so$/],
    identify: ["label", "serial"],
    identifyNote: "Softcards and OCS card sets appear as slots; with CKNFAST_LOADSHARING=1 one virtual slot per card set.",
    initialise: "vendor",
    initialiseNote: "Security World, card sets and softcards are made with nShield tools; Custos verifies.",
    trustedSetBy: "security officer",
    pinFormat: "card set passphrase",
    labelMax: 32,
    idMax: 255,
    preferWrap: ["CKM_AES_KEY_WRAP_KWP", "CKM_AES_KEY_WRAP_PAD"],
    knownLimits: ["Export of keys depends on Security World policy (CKNFAST_OVERRIDE_SECURITY_ASSURANCES); the preflight shows the effect."],
  },
  {
    id: "yubihsm2",
    name: "Yubico YubiHSM 2",
    status: "not tested",
    sources: ["Yubico YubiHSM 2 PKCS#11 module documentation (yubihsm_pkcs11.so, yubihsm_pkcs11.conf connector)"],
    modules: [/^yubihsm_pkcs11\.so$/],
    identify: ["serial"],
    initialise: "vendor",
    initialiseNote: "Set up with yubihsm-shell (authentication keys); the PIN is the auth key id followed by its password.",
    trustedSetBy: "unknown",
    pinFormat: "4 hex digits of the authentication key id followed by its password",
    labelMax: 40,
    idMax: 2,
    preferWrap: ["CKM_AES_KEY_WRAP_KWP"],
    knownLimits: ["Object ids are 16 bits; key export uses YubiHSM wrap keys with its own format: the preflight must prove RFC 5649 before use."],
  },
  {
    id: "aws-cloudhsm",
    name: "AWS CloudHSM (client SDK 5)",
    status: "not tested",
    sources: ["AWS CloudHSM client SDK 5 PKCS#11 library documentation (supported mechanisms: CKM_AES_KEY_WRAP_PAD, CKM_CLOUDHSM_AES_KEY_WRAP_*; CKA_WRAP_WITH_TRUSTED, CKA_TRUSTED set by the CO)"],
    modules: [/^libcloudhsm_pkcs11\.so$/],
    identify: ["slot"],
    initialise: "vendor",
    initialiseNote: "The cluster is activated with cloudhsm-cli; the crypto user PIN is USER:PASSWORD.",
    trustedSetBy: "security officer",
    pinFormat: "crypto user name and password as USER:PASSWORD",
    labelMax: 127,
    idMax: 255,
    preferWrap: ["CKM_AES_KEY_WRAP_PAD"],
    knownLimits: ["CKA_TRUSTED is set by a crypto officer with cloudhsm-cli, not over PKCS#11: the preflight's trusted-KEK check may need a pre-made trusted key."],
  },
];

/** The profile for a module path (by file name), if Custos knows it. */
export function profileFor(modulePath: string): HsmProfile | undefined {
  const base = path.basename(modulePath);
  return PROFILES.find((p) => p.modules.some((m) => m.test(base)));
}
