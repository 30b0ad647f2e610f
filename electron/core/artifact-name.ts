import path from "node:path";
import { CustosError } from "./errors";

/** Artifacts are plain file names in the ceremony's folder: no path, no hidden file, nothing empty. */
export function checkArtifactName(name: string): string {
  if (!name || name !== path.basename(name) || name.startsWith(".") || /[\\/\0]/.test(name)) {
    throw new CustosError("ARTIFACT_NAME", `Refusing to write an artifact named ${JSON.stringify(name)}.`, "Artifact names are plain file names.");
  }
  return name;
}
