// Public API of @brook/connect: the connector API (defineSource, defineSink), config schemas, transforms,
// the built-in connectors, and the workers that run them (docs/connect.md).

export {
  type AnyConnector,
  defineSink,
  defineSource,
  type Headers,
  type HeaderValue,
  RetriableError,
  type SentRecord,
  type SinkConnector,
  type SinkOffsets,
  type SinkRecord,
  type SinkTaskContext,
  type SourceConnector,
  type SourceOffset,
  type SourcePartition,
  type SourceRecord,
  type SourceTaskContext,
  type TaskContext,
} from "./api.js";
export type {
  ConfigKey,
  ConfigKeyError,
  ConfigSchema,
  ConfigType,
  ConfigValues,
  RawConfig,
} from "./config/config-def.js";
