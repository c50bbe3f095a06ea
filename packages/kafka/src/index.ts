// Public API of @brook/kafka: the Kafka wire-protocol listener that serves Kafka clients from a broker,
// and the codec it speaks, built from the schemas in packages/kafka/schema (docs/kafka-protocol.md).

export { isSupported, supportedApiVersions } from "./codec/apis.js";
export type { Struct, TaggedField } from "./codec/compile.js";
export { KafkaDecodeError, KafkaEncodeError } from "./codec/errors.js";
export {
  type FrameLimit,
  FrameSplitter,
  KafkaFrameError,
  REQUEST_BYTES_MAX_DEFAULT,
} from "./codec/frame-splitter.js";
export {
  decodeRequestHeader,
  decodeResponseHeader,
  type RequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from "./codec/headers.js";
export {
  type DecodedRequest,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  FRAME_SIZE_BYTES,
  type KafkaRequest,
} from "./codec/messages.js";
export {
  type ApiSchema,
  elementType,
  type FieldSchema,
  inRange,
  isArrayType,
  isStructType,
} from "./codec/schema.js";
export { RECORDS_INLINE_BYTES_MAX } from "./codec/writer.js";
export {
  KAFKA_ERRORS,
  KafkaErrorCode,
  type KafkaErrorInfo,
  type KafkaErrorName,
  kafkaErrorName,
} from "./error-codes.js";
export { kafkaErrorCodeOf } from "./errors.js";
export type * from "./generated/messages.js";
export { ApiKey } from "./generated/messages.js";
/** The message schemas the codec is built from (packages/kafka/schema), for tools that make requests. */
export { API_SCHEMAS } from "./generated/schemas.js";
export {
  defaultKafkaListenerLimits,
  type KafkaListener,
  type KafkaListenerLimits,
  type KafkaListenerOptions,
  startKafkaListener,
} from "./listener/kafka-listener.js";
export {
  KafkaSaslConfigError,
  type KafkaSaslOptions,
  SASL_AUTHENTICATION_TIMEOUT_MS_DEFAULT,
  SASL_REQUEST_BYTES_MAX,
} from "./listener/sasl.js";
