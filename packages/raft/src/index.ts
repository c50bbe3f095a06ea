export * from "./log-storage.js";
export * from "./types.js";
