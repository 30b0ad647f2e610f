// Once per Vitest run, before any test file: the Electron bundles the tests
// run (core host, main, CLI) are built from the current sources. Once, so no
// test file rewrites dist/electron while another one runs it.
import { buildElectronBundles } from "./host";

export default function setup(): void {
  buildElectronBundles();
}
