import { describe, expect, it } from "vitest";
import { CustosError } from "../../electron/core/errors";
import { toHsmError } from "../../electron/core/hsm/errors";
import { algorithmNeeds, wrapCandidates } from "../../electron/core/hsm/preflight/mechanisms";
import { softwareUnwrapRfc5649, softwareWrapRfc5649 } from "../../electron/core/hsm/preflight/software";
import { preflightText, type PreflightReport } from "../../electron/core/hsm/preflight";
import { diagnosisText } from "../../electron/core/hsm/preflight/diagnose";
import { slotNumber } from "../../electron/core/hsm";

const pkcs11 = (name: string) => Object.assign(new Error(name), { code: 0 });

describe("plain PKCS#11 errors", () => {
  it("name the operation, the mechanism and the step, with the CKR code kept for the vendor's documentation", () => {
    const e = toHsmError(pkcs11("CKR_USER_TYPE_INVALID"), "Logging in to the token as security officer", { mechanism: "CKM_AES_KEY_WRAP_KWP", step: "hsm-preflight" });
    expect(e).toBeInstanceOf(CustosError);
    expect(e.code).toBe("HSM_NO_SO_ROLE");
    expect(e.message).toBe(
      "Logging in to the token as security officer (mechanism CKM_AES_KEY_WRAP_KWP, step hsm-preflight): The token has no such login role (this module offers no security officer role). [CKR_USER_TYPE_INVALID]",
    );
    expect(e.hint).toMatch(/security officer role/);
    expect(toHsmError(pkcs11("CKR_ATTRIBUTE_TYPE_INVALID"), "Generating", { attribute: "CKA_WRAP_WITH_TRUSTED" }).message).toMatch(/attribute CKA_WRAP_WITH_TRUSTED.*does not know/);
    expect(toHsmError(pkcs11("CKR_ARGUMENTS_BAD"), "Initialising").hint).toMatch(/--init-args/);
    expect(toHsmError(pkcs11("CKR_VENDOR_DEFINED_42"), "Wrapping").message).toBe("Wrapping: the token answered CKR_VENDOR_DEFINED_42.");
  });
});

describe("mechanism needs", () => {
  const sign = 0x800;
  const gen = 0x10000;
  const wrap = 0x20000 | 0x40000;
  it("key sizes are checked in bits or bytes, and a missing mechanism is named with its number", () => {
    const list = [
      { code: 0x1040, name: "EC_KEY_PAIR_GEN", minKeySize: 32, maxKeySize: 48, flags: gen },
      { code: 0x1041, name: "ECDSA", minKeySize: 256, maxKeySize: 384, flags: sign },
    ];
    expect(algorithmNeeds(list, "EC-P384").every((n) => n.ok)).toBe(true);
    const p521 = algorithmNeeds(list, "EC-P521");
    expect(p521.map((n) => n.ok)).toEqual([false, false]);
    expect(p521[0]!.detail).toMatch(/supports key sizes 32–48, not 521 bits/);
    expect(algorithmNeeds(list, "RSA-3072")[0]!.detail).toBe("CKM_RSA_PKCS_KEY_PAIR_GEN (0x0) is not in the token's mechanism list: it cannot generate RSA-3072 keys.");
  });
  it("RFC 5649 by its PKCS#11 v3 number first; 0x210A only as a second candidate", () => {
    const list = [
      { code: 0x210a, name: "AES_KEY_WRAP_PAD", minKeySize: 16, maxKeySize: 32, flags: wrap },
      { code: 0x210b, name: "unknown", minKeySize: 16, maxKeySize: 32, flags: wrap },
    ];
    expect(wrapCandidates(list, "wrap").candidates.map((c) => c.code)).toEqual([0x210b, 0x210a]);
    expect(wrapCandidates([list[0]!], "wrap").candidates.map((c) => c.code)).toEqual([0x210a]);
    expect(wrapCandidates([], "unwrap").candidates).toEqual([]);
  });
});

describe("software RFC 5649", () => {
  it("round-trips and refuses a blob under another key", () => {
    const kek = Buffer.alloc(32, 7);
    const blob = softwareWrapRfc5649(kek, Buffer.from("a PKCS#8 stand-in of odd length"));
    expect(softwareUnwrapRfc5649(kek, blob)?.toString()).toBe("a PKCS#8 stand-in of odd length");
    expect(softwareUnwrapRfc5649(Buffer.alloc(32, 8), blob)).toBeUndefined();
  });
});

describe("the preflight as a custodian reads it", () => {
  it("prints each check and a verdict with its reasons", () => {
    const r: PreflightReport = {
      fit: false,
      side: "generate",
      module: { path: "/x/lib.so", manufacturer: "M", description: "D", libraryVersion: "1.0", initArgs: false },
      token: { slotId: "01", label: "L", serial: "S", manufacturer: "TM", model: "TModel", firmware: "1.0" },
      algorithmsChecked: ["EC-P384"],
      algorithmsPassed: [],
      wrapMechanism: null,
      checks: [{ id: "untrusted-refused:EC-P384", title: "Untrusted wrapping key refused (EC-P384)", status: "fail", detail: "it wrapped" }],
      reasons: ["The token does not enforce CKA_WRAP_WITH_TRUSTED."],
    };
    const t = preflightText(r);
    expect(t).toMatch(/\[FAIL\] Untrusted wrapping key refused \(EC-P384\): it wrapped/);
    expect(t).toMatch(/VERDICT: NOT FIT[^\n]*\n  - The token does not enforce CKA_WRAP_WITH_TRUSTED\./);
  });
  it("slot handles are shown as the slot numbers people see", () => {
    expect(slotNumber("0200000000000000")).toBe("2");
  });
});

describe("a refused root template, narrowed to the attribute", () => {
  const base = { refusal: "CKR_ATTRIBUTE_VALUE_INVALID", probes: 10 };
  it("one attribute whose change lifts the refusal is named with what it would cost, and what the token answered next", () => {
    const t = diagnosisText({ ...base, implicated: [{ key: "private", name: "extractable", value: true, change: "flipped", answer: "CKR_GENERAL_ERROR" }] });
    expect(t).toBe(
      "it refuses CKA_EXTRACTABLE=true [CKR_ATTRIBUTE_VALUE_INVALID], so the root key could never be wrapped for its backup; with CKA_EXTRACTABLE=false that refusal goes away (the generation then fails otherwise: CKR_GENERAL_ERROR)",
    );
  });
  it("sensitive and extractable, each lifting the refusal, are named as the pair", () => {
    const t = diagnosisText({
      ...base,
      implicated: [
        { key: "private", name: "sensitive", value: true, change: "flipped", answer: "made" },
        { key: "private", name: "extractable", value: true, change: "flipped", answer: "made" },
      ],
    });
    expect(t).toMatch(/^it will not make a private key both sensitive and extractable \(CKA_SENSITIVE=true with CKA_EXTRACTABLE=true\) \[CKR_ATTRIBUTE_VALUE_INVALID\]/);
    expect(t).toMatch(/with either one false that refusal goes away and the key is made$/);
  });
  it("an attribute the token does not know is said so (left out, not flipped)", () => {
    const t = diagnosisText({ refusal: "CKR_ATTRIBUTE_TYPE_INVALID", probes: 10, implicated: [{ key: "private", name: "wrapWithTrusted", value: true, change: "omitted", answer: "made" }] });
    expect(t).toBe(
      "it does not know CKA_WRAP_WITH_TRUSTED [CKR_ATTRIBUTE_TYPE_INVALID], so the key's export could not be limited to the security officer's trusted wrapping key; without CKA_WRAP_WITH_TRUSTED that refusal goes away and the key is made",
    );
  });
  it("nothing implicated is said too, with the code", () => {
    expect(diagnosisText({ ...base, implicated: [] })).toBe("no single attribute of the template causes the refusal [CKR_ATTRIBUTE_VALUE_INVALID] (each changed alone, it is still refused)");
  });
});
