// What a mirror task needs of the cluster it copies from, whichever protocol reaches it: the topics to
// mirror, the consumer groups' committed offsets (for checkpoints), and a reader of the task's partitions
// from given offsets. source.protocol picks the implementation: brook-source.ts (the Brook SDK, gRPC) or
// kafka-source.ts (kafkajs, the Kafka protocol). Records are the SDK's shape either way.

import type { ConsumedMessage, GroupOffset, TopicPartition } from "@brook/client";
import type { SourceTaskContext } from "../../api.js";
import { BrookSource } from "./brook-source.js";
import type { MirrorConfig } from "./config.js";
import { KafkaSource } from "./kafka-source.js";
import type { SourceTopic } from "./plans.js";

/** Where reading a partition starts: the next offset to read, or (undefined) its beginning. */
export interface PartitionStart extends TopicPartition {
  offset: number | undefined;
}

/** The source's consumer groups, as the checkpoints read them. */
export interface SourceGroups {
  /** Every consumer group's id, except any the mirror itself uses on the source. */
  listGroups(): Promise<string[]>;
  /** A group's committed offsets (each the next offset it reads; -1 for none). */
  fetchOffsets(groupId: string): Promise<GroupOffset[]>;
}

export interface MirrorSource extends SourceGroups {
  /** The source's topics that `mirrored` accepts, with partition counts and cleanup.policy. */
  topics(mirrored: (topic: string) => boolean): Promise<SourceTopic[]>;
  /** Adds partitions to read (read_committed), each from its start. */
  assign(starts: PartitionStart[]): Promise<void>;
  /** Every record of the assigned partitions, each partition's in offset order, once; ends after stop(). */
  records(): AsyncIterable<ConsumedMessage>;
  /** Ends records() at once (what it read ahead is dropped: the task's place is its source offsets). */
  stop(): void;
  /** The next offset to read of an assigned partition. */
  position(partition: TopicPartition): number | undefined;
  /** The partition's high watermark, as last seen. */
  highWatermark(partition: TopicPartition): number | undefined;
  close(): Promise<void>;
}

/** The source the task's config asks for. */
export function openMirrorSource(context: SourceTaskContext<MirrorConfig>): MirrorSource {
  const { config, connector, taskId, taskCount, logger } = context;
  const options = {
    brokers: config["source.bootstrap.servers"].map((broker) => broker.trim()),
    clientId: `${connector}-${taskId}`,
    logger,
  };
  if (config["source.protocol"] !== "kafka") return new BrookSource(options);
  return new KafkaSource({
    ...options,
    groupId: mirrorGroupId(connector),
    task: { taskId, taskCount },
    metadataMaxAgeMs: config["refresh.topics.interval.ms"],
  });
}

/** The source group through which a Kafka-protocol source's tasks share its partitions (never committed). */
export function mirrorGroupId(connector: string): string {
  return `${connector}-mirror`;
}
