export * from "./ceremony";
export * from "./keyring";
export * from "./network";
export * from "./participants";
export * from "./registry";
export * from "./types";
