// Public API of @brook/server: configuration and the node that `brook server` runs.
export {
  CONFIG_SCHEMA,
  kafkaAdvertisedEndpoint,
  NON_NODE_ENV,
  type NodeConfig,
  type Role,
  resolveConfig,
} from "./config.js";
export { type RunningNode, startNode } from "./node.js";
