// Public API of @brook/controller: the single writer of cluster metadata.
export { Controller, type ImageListener, type TopicOutcome } from "./controller.js";
export { LevelMetadataLog } from "./level-metadata-log.js";
export type { CommitListener, MetadataLog } from "./metadata-log.js";
export { assignReplicas, partitionsPerTopicMax } from "./placement.js";
export {
  type MetadataQuorumStatus,
  RaftMetadataLog,
  type RaftMetadataLogOptions,
} from "./raft-metadata-log.js";
export { controllerHandlers, createTopics, deleteTopics, fetchMetadata } from "./service.js";
export { type CreateTopicRequest, planCreateTopic, planDeleteTopic } from "./topic-decisions.js";
