// Public API of @brook/server: configuration and the node that `brook server` runs.
export { CONFIG_SCHEMA, type NodeConfig, resolveConfig, type Role } from "./config.js";
export { type RunningNode, startNode } from "./node.js";
