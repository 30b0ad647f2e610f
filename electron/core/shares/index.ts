/**
 * KEK handling, M-of-N splitting with per-share commitments, and the share
 * card encoding (words and hex) that names every typing mistake.
 */
export { kcv, mixEntropy, zeroize } from "./kek";
export { checkShareCommitment, combineShares, commitShare, shortCommitment, splitSecret } from "./split";
export { ceremonyTag, decodeShare, encodeShare, shareWordCount } from "./encoding";
export type { DecodedShare } from "./encoding";
