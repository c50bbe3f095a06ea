// Keeps this broker's partition replicas in step with the metadata image:
// opens a log for every partition assigned here, updates leadership and
// configs as they change, and deletes the logs of deleted topics. Each
// partition directory records its topic id, so a topic deleted and re-created
// under the same name while this broker was down never inherits old records.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type MetadataImage, resolveTopicConfig, type TopicImage } from "@brook/metadata";
import { BrookError, type Clock } from "@brook/protocol";
import { PartitionLog } from "@brook/storage";
import type { Logger } from "pino";
import { Partition, toLogConfig } from "./partition.js";

const partitionMetadataFile = "partition.metadata";
const partitionDirPattern = /^(.+)-(\d+)$/;

export const partitionKey = (topic: string, partition: number) => `${topic}-${partition}`;

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly brokerId: number,
    private readonly dataDir: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    mkdirSync(dataDir, { recursive: true });
  }

  /** The partition if this broker hosts it, else the typed error a client should see. */
  get(image: MetadataImage, topic: string, partition: number): Partition {
    const local = this.partitions.get(partitionKey(topic, partition));
    if (local) return local;
    const topicImage = image.topic(topic);
    if (!topicImage) throw new BrookError("UNKNOWN_TOPIC", `topic '${topic}' does not exist`);
    if (!Number.isInteger(partition) || partition < 0 || partition >= topicImage.partitions.length) {
      throw new BrookError(
        "UNKNOWN_PARTITION",
        `topic '${topic}' has partitions 0-${topicImage.partitions.length - 1}, not ${partition}`,
      );
    }
    // Assigned elsewhere, or assigned here but not opened yet: either way, ask again after a metadata refresh.
    throw new BrookError("NOT_LEADER", `broker ${this.brokerId} does not host ${topic}-${partition}`);
  }

  local(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(partitionKey(topic, partition));
  }

  all(): IterableIterator<Partition> {
    return this.partitions.values();
  }

  /** Brings local replicas in line with `image`; calls are serialised in arrival order. */
  applyImage(image: MetadataImage): Promise<void> {
    const result = this.applying.then(() => this.reconcile(image));
    this.applying = result.catch((error: unknown) => {
      this.logger.error({ err: error }, "failed to apply metadata image to local partitions");
    });
    return result;
  }

  applyRetention(): void {
    for (const partition of this.partitions.values()) {
      try {
        partition.applyRetention();
      } catch (error) {
        this.logger.error(
          { err: error, topic: partition.topic, partition: partition.partition },
          "retention failed",
        );
      }
    }
  }

  async close(): Promise<void> {
    await this.applying;
    await Promise.all([...this.partitions.values()].map((partition) => partition.close()));
    this.partitions.clear();
  }

  private async reconcile(image: MetadataImage): Promise<void> {
    const wanted = new Map<string, { topic: TopicImage; partition: number }>();
    for (const topic of image.topicsById.values()) {
      for (const state of topic.partitions) {
        if (state.replicas.includes(this.brokerId))
          wanted.set(partitionKey(topic.name, state.partition), { topic, partition: state.partition });
      }
    }

    for (const [key, partition] of this.partitions) {
      const want = wanted.get(key);
      if (!want || want.topic.topicId !== partition.topicId) {
        this.partitions.delete(key);
        partition.delete();
        this.logger.info(
          { topic: partition.topic, partition: partition.partition },
          "deleted partition replica",
        );
      }
    }
    this.removeOrphanDirectories(wanted);

    for (const [key, { topic, partition }] of wanted) {
      const state = topic.partitions[partition];
      const config = resolveTopicConfig(topic.configs);
      const existing = this.partitions.get(key);
      if (existing) {
        existing.update(state, config);
        continue;
      }
      const dir = join(this.dataDir, key);
      this.claimDirectory(dir, topic.topicId);
      const log = await PartitionLog.open(dir, toLogConfig(config), {
        clock: this.clock,
        logger: this.logger,
      });
      this.partitions.set(
        key,
        new Partition(topic.name, topic.topicId, partition, log, state, config, this.brokerId, this.logger),
      );
      this.logger.info(
        { topic: topic.name, partition, leaderEpoch: state.leaderEpoch, logEndOffset: log.logEndOffset },
        "opened partition replica",
      );
    }
  }

  /** Makes `dir` belong to `topicId`, wiping it first if it held a different (deleted) topic of the same name. */
  private claimDirectory(dir: string, topicId: string): void {
    const file = join(dir, partitionMetadataFile);
    if (existsSync(file) && readFileSync(file, "utf8").trim() !== `topic_id: ${topicId}`) {
      rmSync(dir, { recursive: true, force: true });
    }
    mkdirSync(dir, { recursive: true });
    if (!existsSync(file)) writeFileSync(file, `topic_id: ${topicId}\n`);
  }

  /** Partition directories left by topics deleted while this broker was down. */
  private removeOrphanDirectories(wanted: ReadonlyMap<string, unknown>): void {
    for (const entry of readdirSync(this.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !partitionDirPattern.test(entry.name) || wanted.has(entry.name)) continue;
      if (!existsSync(join(this.dataDir, entry.name, partitionMetadataFile))) continue;
      rmSync(join(this.dataDir, entry.name), { recursive: true, force: true });
      this.logger.info({ dir: entry.name }, "removed directory of a deleted partition");
    }
  }
}
