// Public API of @brook/streams: the DSL (StreamsBuilder, KStream, KTable, windows), serdes, state stores,
// the Topology and the task that runs it, the TopologyTestDriver, and KafkaStreams, which runs a topology
// on a cluster (docs/streams.md).

export { type Aggregator, KGroupedStream, type Reducer } from "./dsl/kgrouped-stream.js";
export type { ValueJoiner } from "./dsl/kstream.js";
export { BranchedKStream, KStream, type Predicate } from "./dsl/kstream.js";
export { KTable } from "./dsl/ktable.js";
export type { Joined, Repartitioned, StreamJoined } from "./dsl/options.js";
export { type Consumed, type Grouped, Materialized, type Produced } from "./dsl/options.js";
export { StreamsBuilder } from "./dsl/streams-builder.js";
export { type Merger, SessionWindowedKStream, TimeWindowedKStream } from "./dsl/windowed-streams.js";
export { InvalidStateStoreError, SerializationError, TopologyError } from "./errors.js";
export { JoinWindows } from "./join-windows.js";
export type {
  Cancellable,
  Change,
  DropReason,
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  PunctuationType,
  StreamRecord,
} from "./processor.js";
export { type ProcessingGuarantee, type StreamsConfig, streamsDefaults } from "./runtime/config.js";
export {
  decodeInstanceMetadata,
  encodeInstanceMetadata,
  type InstanceMetadata,
  type RestoreStatus,
  type StoreStatus,
} from "./runtime/instance-metadata.js";
export {
  type InternalTopic,
  planInternalTopics,
  type Subtopology,
  subtopologiesOf,
} from "./runtime/internal-topics.js";
export {
  KafkaStreams,
  type KeyQueryMetadata,
  type LocalTask,
  type StreamsState,
} from "./runtime/kafka-streams.js";
export type { ReadOnlyKeyValueStore, ReadOnlyWindowStore } from "./runtime/queryable-stores.js";
export { type Serde, Serdes } from "./serdes.js";
export { InMemoryKeyValueStore, type KeyValueStore } from "./stores/key-value-store.js";
export { InMemorySessionStore, type SessionStore } from "./stores/session-store.js";
export {
  type ChangeLogger,
  type ChangelogRecord,
  changelogTopic,
  type KeyValue,
  restoreFromChangelog,
  type StateStore,
} from "./stores/state-store.js";
export { InMemoryWindowStore, type WindowStore } from "./stores/window-store.js";
export {
  type OutputRecord,
  type RecordCollector,
  StreamTask,
  type TaskConfig,
  type TaskMetrics,
} from "./task.js";
export {
  internalRecordsPerInputMax,
  TestInputTopic,
  TestOutputTopic,
  type TestRecord,
  TopologyTestDriver,
  type TopologyTestDriverConfig,
} from "./test-driver.js";
export {
  type ProcessorNode,
  type SinkNode,
  type SourceNode,
  type StoreSpec,
  Topology,
  type TopologyNode,
} from "./topology.js";
export { SessionWindows, TimeWindows, type Window, type Windowed, windowedSerde } from "./windows.js";
