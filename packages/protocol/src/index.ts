// Public API of @brook/protocol: the wire contract shared by every package.

export {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_MIN,
  BATCH_LENGTH_OFFSET,
  type BatchCountOptions,
  type BatchHeader,
  type BatchScan,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  incrementSequence,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  type ProducerStamp,
  patchBaseOffset,
  patchPartitionLeaderEpoch,
  RECORD_BYTES_MIN,
  RECORD_COUNT_OFFSET,
  readBatchHeader,
  readInt64,
  type ScanOptions,
  scanBatches,
  splitBatches,
  stampProducer,
  TIMESTAMP_TYPE_MASK,
  type TimestampType,
  TRANSACTIONAL_FLAG_MASK,
  validateBatch,
} from "./batch-header.js";
export { CallStream, type StreamCallOptions, type StreamedCall, type StreamedCalls } from "./call-stream.js";
export {
  anonymousCaller,
  anonymousCallerOf,
  anonymousPrincipal,
  type Caller,
  type CallerOf,
  peerHost,
  requireNode,
  type SurfaceCall,
} from "./caller.js";
export * from "./clock.js";
export { Compression, type CompressionName } from "./compression.js";
export {
  CONSUMER_PROTOCOL_TYPE,
  CONSUMER_PROTOCOL_VERSION_MAX,
  type ConsumerProtocolAssignment,
  type ConsumerProtocolSubscription,
  type ConsumerTopicPartitions,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
} from "./consumer-protocol.js";
export {
  CONTROL_TYPE_ABORT,
  CONTROL_TYPE_COMMIT,
  type ControlBatchInput,
  type ControlRecord,
  decodeControlRecord,
  encodeControlBatch,
  readControlRecord,
} from "./control-batch.js";
export { crc32c } from "./crc32c.js";
export * from "./errors.js";
export * from "./grpc.js";
export {
  type IncomingCall,
  NodeAuthenticator,
  type NodeIdentity,
  nodeTokenInterceptor,
  nodeTokenKey,
} from "./node-auth.js";
export {
  createDefaultPartitioner,
  murmur2,
  type PartitionArgs,
  type Partitioner,
  partitionForKey,
  type RandomSource,
  StickyPartitioner,
  toPositive,
} from "./partitioner.js";
export {
  DECOMPRESSED_BATCH_BYTES_MAX,
  type DecodedBatch,
  type DecodeOptions,
  decodeRecordBatch,
  decodeRecordBatches,
  type EmptyBatchFields,
  type EncodeBatchOptions,
  encodeEmptyBatch,
  encodeRecordBatch,
  type Record,
  type RecordHeader,
  type RecordInput,
  rewriteBatch,
} from "./record-batch.js";
export { type CallLimits, type CallObserver, type StreamedHandlers, serveCalls } from "./serve-calls.js";
export { type TransactionStateName, transactionStates } from "./transaction-states.js";
export type * from "./wire.js";
