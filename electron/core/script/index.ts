export * from "./load";
export * from "./params";
export * from "./policy";
export * from "./schema";
