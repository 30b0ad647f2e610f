/** The custody register across the ceremonies of one root (issue 16; docs/custody-register.md). */
export { addMonths, assemble, buildRegister, type RegisterOptions } from "./register";
export { readTranscripts, transcriptFiles, TRANSCRIPT_NAMES } from "./read";
export { ceremonyFacts, readScriptView, bagEvents } from "./facts";
export { registerLines, bagLifeText, lastCheckText } from "./summary";
export { renderRegisterPdf } from "./pdf";
export type * from "./types";
