// Public API of @brook/metadata: metadata records and the immutable image
// they build, shared by controllers (which write them) and brokers (which follow them);
// and the pure rules the active controller decides by (partition-rules.ts, broker-rules.ts),
// which the replication simulator runs too.

export * from "./broker-rules.js";
export * from "./delta.js";
export * from "./image.js";
export * from "./partition-rules.js";
export * from "./records.js";
export * from "./snapshot.js";
export * from "./topic-config.js";
export * from "./topic-name.js";
export * from "./users-acls.js";
