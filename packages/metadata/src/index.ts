// Public API of @brook/metadata: metadata records and the immutable image
// they build, shared by controllers (which write them) and brokers (which follow them).

export * from "./delta.js";
export * from "./image.js";
export * from "./records.js";
export * from "./snapshot.js";
export * from "./topic-config.js";
export * from "./topic-name.js";
export * from "./users-acls.js";
