// brook-mirror's public face: the connector, and its pure parts (names, task split, offset syncs and
// translation) for tools and tests.

export { brookMirror } from "./brook-mirror.js";
export { type MirrorConfig, mirrorConfigSchema, mirrorLimits } from "./config.js";
export { type MirrorNames, mirrorNames } from "./names.js";
export {
  decodeOffsetSync,
  encodeOffsetSync,
  type OffsetSync,
  OffsetSyncTracker,
  offsetSyncKey,
} from "./offset-syncs.js";
export { OffsetTranslator, SyncHistory } from "./offset-translation.js";
export {
  forwardOnly,
  planTargetTopics,
  type SourceTopic,
  type TopicPlan,
  translateGroupOffsets,
} from "./plans.js";
export { ownerTask, partitionsOfTask } from "./task-split.js";
