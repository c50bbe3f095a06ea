// Public API of @brook/protocol: the wire contract shared by every package.
export * from "./errors.js";
export * from "./clock.js";
