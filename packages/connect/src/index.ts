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
export { ConfigError, describeConfig, parseConfig, validateConfig } from "./config/validate.js";
export {
  brookMirror,
  builtinConnectors,
  fileSink,
  fileSource,
  httpSink,
  httpSource,
  pluginRegistry,
  postgresSink,
  postgresSource,
} from "./connectors/index.js";
export { ConversionError, type Converter, type ConverterName, converterFor } from "./converters.js";
export { restApi } from "./rest/rest-api.js";
export { allUnits, assignUnits, type ConnectorTasks, unitKey, type WorkUnit } from "./runtime/assignment.js";
export { type ConnectorPlan, commonConfigSchema, planConnector } from "./runtime/connector-config.js";
export { type ConnectorInfo, type ConnectorStatus, ConnectRestError, Herder } from "./runtime/herder.js";
export { ConnectMetrics } from "./runtime/metrics.js";
export { defaultTopicNames, type TopicNames } from "./runtime/storage.js";
export { Worker } from "./runtime/worker.js";
export {
  type DistributedWorkerOptions,
  type RunningWorker,
  type StandaloneWorkerOptions,
  startDistributedWorker,
  startStandaloneWorker,
  workerDefaults,
} from "./start-worker.js";
export {
  applyTransforms,
  buildTransforms,
  type ConnectRecord,
  TransformError,
  type TransformSpec,
  transformsFromConfig,
} from "./transforms/index.js";
