export * from "./algorithms";
export * from "./errors";
export * from "./hsm";
export * from "./session";
export * from "./module-path";
export * from "./softhsm";
export * from "./rehearsal-token";
export * from "./softhsm-guard";
