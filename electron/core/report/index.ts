/** The PDF ceremony report and share cards. */
export { renderReport, bundleJsonText, keyFingerprint, participantsOf, extractBundleFromPdf, BUNDLE_ATTACHMENT_NAME } from "./report";
export type { ReportOptions, ReportParticipant } from "./report";
export { renderShareCard } from "./share-card";
export type { ShareCardInput } from "./share-card";
export { fontPaths, DEJAVU_DIR } from "./pdf";
export { renderFinalHeadSheet } from "./final-attestation";
export { checkReportBinding, extractReportBundle } from "./binding";
export { REPORT_RENDERER } from "./pdf";
