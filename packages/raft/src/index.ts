export * from "./conf-change.js";
export { NotControllerError } from "./driver/errors.js";
export { LevelLogStorage } from "./driver/level-storage.js";
export {
  entryBytesMax,
  pendingProposalsMax,
  proposalTimeoutMs,
  RaftNode,
  type RaftNodeOptions,
  type RaftNodeStatus,
  readTimeoutMs,
  type StateMachine,
  snapshotEntriesDefault,
  tickMsDefault,
  transferTimeoutMs,
} from "./driver/raft-node.js";
export { ManualTicker, type Random, systemRandom, systemTicker, type Ticker } from "./driver/runtime.js";
export * from "./errors.js";
export * from "./limits.js";
export * from "./log-storage.js";
export * from "./memory-log-storage.js";
export type { ProgressState } from "./progress.js";
export * from "./raft.js";
export { snapshotBytesMax, snapshotChunkBytes } from "./transport/codec.js";
export {
  GrpcTransport,
  type GrpcTransportOptions,
  peerQueueBytesMax,
  peerQueueMessagesMax,
  type StepMode,
  stepBatchBytesMax,
  stepCallTimeoutMs,
  type TransportStats,
} from "./transport/grpc-transport.js";
export type {
  DeliveryFailure,
  FailureHandler,
  MessageHandler,
  RaftTransport,
} from "./transport/transport.js";
export * from "./types.js";
