// Public API of @brook/broker: partitions, produce/fetch, and the Broker gRPC service.
export { Broker, type BrokerOptions } from "./broker.js";
export type { BrokerLimits, ControllerChannel, MetadataSource } from "./context.js";
export { defaultBrokerLimits } from "./context.js";
export { defaultReplicaFetcherOptions, type ReplicaFetcherOptions } from "./replica-fetcher.js";
export { defaultReplicaLagTimeMaxMs } from "./replica-manager.js";
