// The mirror's source through the Brook SDK (source.protocol=brook, the default): a group-less
// read_committed consumer assigned the task's partitions, and the SDK's admin for topics and groups.

import {
  type Admin,
  Brook,
  type ConsumedMessage,
  type Consumer,
  type GroupOffset,
  type Logger,
  type TopicPartition,
} from "@brook/client";
import { mirrorLimits } from "./config.js";
import type { MirrorSource, PartitionStart } from "./mirror-source.js";
import type { SourceTopic } from "./plans.js";

export interface BrookSourceOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

export class BrookSource implements MirrorSource {
  private readonly admin: Admin;
  private readonly consumer: Consumer;

  constructor({ brokers, clientId, logger }: BrookSourceOptions) {
    const source = new Brook({ brokers, clientId, logger });
    this.admin = source.admin();
    this.consumer = source.consumer({
      isolationLevel: "read_committed",
      fromBeginning: true,
      autoOffsetReset: "earliest",
      maxWaitMs: mirrorLimits.fetchMaxWaitMs,
    });
  }

  async topics(mirrored: (topic: string) => boolean): Promise<SourceTopic[]> {
    return (await this.admin.describeTopics())
      .filter(({ name }) => mirrored(name))
      .map(({ name, partitions, configEntries }) => ({
        name,
        partitions: partitions.length,
        cleanupPolicy: configEntries.find((entry) => entry.name === "cleanup.policy")?.value,
      }));
  }

  async listGroups(): Promise<string[]> {
    return (await this.admin.listGroups()).map(({ groupId }) => groupId);
  }

  fetchOffsets(groupId: string): Promise<GroupOffset[]> {
    return this.admin.fetchOffsets({ groupId });
  }

  async assign(starts: PartitionStart[]): Promise<void> {
    await this.consumer.assign(
      starts.map(({ topic, partition, offset }) =>
        offset === undefined ? { topic, partition, fromBeginning: true } : { topic, partition, offset },
      ),
    );
  }

  records(): AsyncIterable<ConsumedMessage> {
    return this.consumer;
  }

  stop(): void {
    void this.consumer.stop();
  }

  position(partition: TopicPartition): number | undefined {
    return this.consumer.position(partition);
  }

  highWatermark(partition: TopicPartition): number | undefined {
    return this.consumer.highWatermark(partition);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.consumer.close(), this.admin.close()]);
  }
}
