import type { RootKeyAlgorithm } from "../algorithms";
import type { WrapMechanism } from "../session";

/**
 * What Custos knows about a vendor's PKCS#11 module, as data. A profile is a
 * starting point, never trusted blindly: the preflight confirms each claim on
 * the token in the room before any key exists.
 */
export interface HsmProfile {
  id: string;
  name: string;
  /** "tested": run here against the real module by the integration tests; "not tested": from public documentation. */
  status: "tested" | "not tested";
  /** What the tests found (tested) or where the facts come from (not tested). */
  sources: string[];
  /** Module file names (basename) this profile applies to. */
  modules: RegExp[];
  /** C_Initialize reserved string, if the module needs one (NSS: configdir). */
  initArgsTemplate?: string;
  /** How to name its token unambiguously. */
  identify: Array<"slot" | "serial" | "label" | "model">;
  identifyNote?: string;
  /** custos: Custos may initialise a blank token; vendor: provisioned with the vendor's tools, Custos only verifies it. */
  initialise: "custos" | "vendor";
  initialiseNote?: string;
  /** Who can set CKA_TRUSTED on a wrapping key. */
  trustedSetBy: "security officer" | "nobody" | "unknown";
  pinFormat: string;
  labelMax: number;
  idMax: number;
  /** Extra attributes the module wants on an unwrapped private key. */
  extraUnwrapAttributes?: (alg: RootKeyAlgorithm, spki: Buffer) => Record<string, unknown>;
  /** Wrap mechanisms in the order to try (standard ones are tried first by the preflight anyway). */
  preferWrap: string[];
  vendorWrapMechanisms?: WrapMechanism[];
  /** What the preflight is expected to conclude here (tested profiles). */
  expectedVerdict?: "fit" | "not fit";
  knownLimits: string[];
}
