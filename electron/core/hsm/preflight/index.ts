export * from "./mechanisms";
export * from "./run";
export * from "./software";
export * from "./text";
export * from "./pick";
