// What the runtime and connectors use of single message transforms: the specs, the record they act on,
// building a chain from specs or from a connector's flat config, applying it, and the error it throws.

export { applyTransforms, buildTransforms, type Transform, type TransformChain } from "./chain.js";
export { transformsFromConfig } from "./from-config.js";
export type {
  ConnectRecord,
  DropFieldSpec,
  FieldEqualsSpec,
  FieldSource,
  FilterSpec,
  HasHeaderSpec,
  InsertFieldSpec,
  IsTombstoneSpec,
  PredicateSpec,
  PredicateType,
  RenameSpec,
  RouteSpec,
  Scalar,
  Target,
  TimestampSpec,
  TopicMatchesSpec,
  TransformSpec,
  TransformType,
  UnixPrecision,
} from "./spec.js";
export { TransformError } from "./spec.js";
