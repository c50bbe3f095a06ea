// Keeps this broker's partition replicas in step with the metadata image:
// opens a log for every partition assigned here, updates leadership and
// configs as they change, hands followed partitions to the replica fetchers,
// runs the leaders' ISR checks and high-watermark checkpoints, and deletes
// the logs of deleted topics. Each
// partition directory records its topic id, so a topic deleted and re-created
// under the same name while this broker was down never inherits old records.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type MetadataImage, resolveTopicConfig, type TopicImage } from "@brook/metadata";
import {
  type AlterPartitionRequest__Output,
  asBrookError,
  BrookError,
  type ChannelSecurity,
  type Clock,
  isAssertionError,
  stopOnAssertion,
} from "@brook/protocol";
import { type FileSystem, nodeFileSystem, PartitionLog } from "@brook/storage";
import type { Logger } from "pino";
import { defaultLogCleanerConfig, LogCleaner, type LogCleanerConfig } from "./log-cleaner.js";
import { Partition, type PartitionContext, toLogConfig } from "./partition.js";
import { grpcLeaderTransport, ReplicaFetcherManager, type ReplicaFetcherOptions } from "./replica-fetcher.js";
import { systemTimers, type Timers } from "./timers.js";

const partitionMetadataFile = "partition.metadata";
const partitionDirPattern = /^(.+)-(\d+)$/;
const topicIdPattern = /^topic_id: (\S+)$/;

export const partitionKey = (topic: string, partition: number) => `${topic}-${partition}`;

export interface ReplicaManagerOptions {
  readonly brokerId: number;
  readonly dataDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Whether the image may already be trusted to list every partition this
   * broker hosts. A broker that starts on a lagging image (one rebuilt from
   * a local log that may be behind the quorum) must not take a directory
   * missing from it for a deleted topic's: it waits for metadataCaughtUp().
   */
  readonly imageComplete?: boolean;
  /**
   * Whether this broker is in service in `image`: registered as this very
   * process and unfenced. Until it is, it neither leads nor follows (a
   * restarted broker must not act on the leaderships of its previous
   * incarnation). Default: always.
   */
  readonly inService?: (image: MetadataImage) => boolean;
  /** Asks the active controller for an ISR change. */
  readonly alterPartition?: (request: AlterPartitionRequest__Output) => Promise<unknown>;
  /** Kafka's replica.lag.time.max.ms. */
  readonly replicaLagTimeMaxMs?: number;
  readonly fetcher?: ReplicaFetcherOptions;
  /** How fetchers secure their channels to leaders (TLS, node identity). */
  readonly peerSecurity?: ChannelSecurity;
  /** The waits of fetchers, fetch long polls and acks=all produces; the event loop's timers by default. */
  readonly timers?: Timers;
  /** The log cleaner of compacted topics (docs/compaction.md). */
  readonly logCleaner?: Partial<LogCleanerConfig>;
  /**
   * Called when replicaFailures() changes (the log dir went offline), so the
   * controller hears of it at once rather than at the next heartbeat.
   */
  readonly onReplicaFailure?: () => void;
  /** The disk the partition logs are on; default: the real one. */
  readonly fileSystem?: FileSystem;
}

/** What this broker can no longer serve, as its heartbeats report it to the controller. */
export interface ReplicaFailures {
  readonly logDirOffline: boolean;
  readonly resignedReplicas: readonly { topic: string; partition: number; partitionEpoch: number }[];
}

/**
 * A follower that has not caught up for this long leaves the ISR. Kafka
 * uses 30 s; Brook fails over in about 1.5 s, and a stuck follower should
 * not hold acks=all back much longer than that (docs/replication.md).
 */
export const defaultReplicaLagTimeMaxMs = 5_000;
/** How often leaders check their ISR (Kafka: half the lag time). */
const isrCheckIntervalMs = 500;
/** How often high watermarks are checkpointed (Kafka's replica.high.watermark.checkpoint.interval.ms). */
const highWatermarkCheckpointIntervalMs = 5_000;

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  /** Why a partition assigned here could not be opened; clients see this instead of NOT_LEADER. */
  private readonly failures = new Map<string, BrookError>();
  private applying: Promise<void> = Promise.resolve();
  private readonly brokerId: number;
  private readonly dataDir: string;
  private readonly clock: Clock;
  /** What fetch long polls wait on (fetch.ts), as the partitions and fetchers here do. */
  readonly waitTimers: Timers;
  private readonly logger: Logger;
  private imageComplete: boolean;
  private readonly inService: (image: MetadataImage) => boolean;
  /** Whether the last image applied had this broker in service; undefined before the first. */
  private serving: boolean | undefined;
  private readonly partitionContext: PartitionContext;
  private readonly fetchers: ReplicaFetcherManager;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Compacts the dirtiest compacted replica, one bounded pass per tick. */
  readonly cleaner: LogCleaner;
  /**
   * Why the log dir went offline (a failed fsync, or a write or read that
   * failed other than for a full disk): from then on, until the process
   * restarts, no replica here leads or follows, no new one is opened, and
   * the controller keeps this broker fenced.
   */
  private logDirFailure: BrookError | undefined;
  private readonly onReplicaFailure: () => void;
  private readonly fileSystem: FileSystem;
  /** The last image applied, to apply again when the log dir fails. */
  private lastImage: MetadataImage | undefined;

  constructor(options: ReplicaManagerOptions) {
    this.brokerId = options.brokerId;
    this.dataDir = options.dataDir;
    this.clock = options.clock;
    this.waitTimers = options.timers ?? systemTimers;
    this.logger = options.logger;
    this.imageComplete = options.imageComplete ?? true;
    this.inService = options.inService ?? (() => true);
    const alterPartition =
      options.alterPartition ??
      (() => Promise.reject(new BrookError("NOT_CONTROLLER", "this broker has no controller channel")));
    this.partitionContext = {
      brokerId: options.brokerId,
      clock: options.clock,
      timers: this.waitTimers,
      logger: options.logger,
      alterPartition,
      replicaLagTimeMaxMs: options.replicaLagTimeMaxMs ?? defaultReplicaLagTimeMaxMs,
      logDirFailed: (partition, error) => this.logDirFailed(partition, error),
      diskFilled: (partition, error) => this.diskFilled(partition, error),
      freeBytes: (dir) => this.freeBytes(dir),
    };
    this.onReplicaFailure = options.onReplicaFailure ?? (() => undefined);
    this.fileSystem = options.fileSystem ?? nodeFileSystem;
    this.fetchers = new ReplicaFetcherManager(
      options.brokerId,
      options.logger,
      options.fetcher,
      grpcLeaderTransport(options.peerSecurity ?? {}),
      this.waitTimers,
    );
    this.cleaner = new LogCleaner(
      () => this.partitions.values(),
      { ...defaultLogCleanerConfig, ...options.logCleaner },
      this.logger,
      options.clock,
    );
    mkdirSync(this.dataDir, { recursive: true });
  }

  /** Starts the leaders' ISR checks and the high-watermark checkpoints. */
  startMaintenance(): void {
    const every = (ms: number, task: (partition: Partition) => void, what: string) => {
      const timer = setInterval(() => {
        if (this.logDirFailure) return; // nothing to maintain on a failed disk
        for (const partition of this.partitions.values()) {
          try {
            task(partition);
          } catch (error) {
            this.logger.error({ err: error, topic: partition.topic, partition: partition.partition }, what);
          }
        }
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    this.cleaner.start();
    every(isrCheckIntervalMs, (partition) => partition.checkIsr(), "ISR check failed");
    every(
      highWatermarkCheckpointIntervalMs,
      (partition) => partition.checkpointHighWatermark(),
      "high watermark checkpoint failed",
    );
  }

  /** What the heartbeats report to the controller. */
  get replicaFailures(): ReplicaFailures {
    const resignedReplicas = [...this.partitions.values()]
      .filter((partition) => partition.resigns)
      .map(({ topic, partition, partitionEpoch }) => ({ topic, partition, partitionEpoch }));
    return { logDirOffline: this.logDirFailure !== undefined, resignedReplicas };
  }

  /** Why the log dir is offline; undefined while it is online. */
  get logDirOfflineReason(): BrookError | undefined {
    return this.logDirFailure;
  }

  /** How many partitions the replica fetchers follow. */
  get followedCount(): number {
    return this.fetchers.followedCount();
  }

  /** The broker has caught up with the metadata log: directories its image lacks are deleted topics' now. */
  metadataCaughtUp(image: MetadataImage): Promise<void> {
    this.imageComplete = true;
    return this.applyImage(image);
  }

  /** The partition if this broker hosts it, else the typed error a client should see. */
  get(image: MetadataImage, topic: string, partition: number): Partition {
    const key = partitionKey(topic, partition);
    const local = this.partitions.get(key);
    if (local) return local;
    const failure = this.failures.get(key);
    if (failure) throw failure;
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
      if (isAssertionError(error)) stopOnAssertion(error); // a broken invariant is not logged and lived with
      this.logger.error({ err: error }, "failed to apply metadata image to local partitions");
    });
    return result;
  }

  applyRetention(): void {
    for (const partition of this.partitions.values()) {
      try {
        partition.applyRetention();
      } catch (error) {
        if (isAssertionError(error)) stopOnAssertion(error);
        this.logger.error(
          { err: error, topic: partition.topic, partition: partition.partition },
          "retention failed",
        );
      }
    }
  }

  async close(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.cleaner.stop();
    this.fetchers.close();
    await this.applying;
    await Promise.all([...this.partitions.values()].map((partition) => partition.close()));
    this.partitions.clear();
  }

  private async reconcile(image: MetadataImage): Promise<void> {
    this.lastImage = image;
    const wanted = new Map<string, { topic: TopicImage; partition: number }>();
    for (const topic of image.topicsById.values()) {
      for (const state of topic.partitions) {
        if (state.replicas.includes(this.brokerId))
          wanted.set(partitionKey(topic.name, state.partition), { topic, partition: state.partition });
      }
    }

    for (const [key, partition] of this.partitions) {
      const want = wanted.get(key);
      if (!want || want.topic.topicId !== partition.topicId) this.deletePartition(key, partition);
    }
    if (this.imageComplete) this.removeOrphanDirectories(wanted);

    for (const key of this.failures.keys()) if (!wanted.has(key)) this.failures.delete(key);
    const serving = this.inService(image) && this.logDirFailure === undefined;
    if (serving !== this.serving) this.logServing(serving, image, wanted.size);
    // One partition that cannot open or take its new config must not keep the others from following the image.
    for (const [key, { topic, partition }] of wanted) {
      try {
        await this.openOrUpdate(key, topic, partition, serving);
        this.failures.delete(key);
      } catch (error) {
        if (isAssertionError(error)) stopOnAssertion(error);
        if (!this.partitions.has(key)) this.failures.set(key, asBrookError(error));
        this.logger.error(
          { err: error, topic: topic.name, partition },
          "could not apply metadata to partition",
        );
      }
    }
    this.fetchers.reconcile(image, this.partitions.values());
  }

  /**
   * The log dir is offline (KIP-858's offline log dir; this broker has one):
   * every replica here stops leading and following at once, without waiting
   * for the controller, and the controller is told so it moves leaderships
   * and keeps this broker fenced. The broker stays up (metadata, requests for
   * partitions elsewhere, the controller it may host); a restart retries the disk.
   */
  private logDirFailed(partition: Partition, error: BrookError): void {
    if (this.logDirFailure) return;
    this.logDirFailure = error;
    this.logger.error(
      { err: error, dataDir: this.dataDir, topic: partition.topic, partition: partition.partition },
      "log dir offline: this broker gives up every replica it holds until it restarts",
    );
    this.onReplicaFailure();
    if (this.lastImage) this.applyImage(this.lastImage).catch(() => undefined); // applyImage logs failures
  }

  /**
   * A replica's write found the disk full: it resigns if another in-sync
   * replica can serve (the heartbeat goes out at once, so an acks=all
   * produce need not wait replica.lag.time.max.ms for it to be dropped), and
   * rejoins the ISR the usual way once space returns; as the last in-sync
   * copy it stays, refusing produce with the disk full error.
   */
  private diskFilled(partition: Partition, error: BrookError): void {
    const fields = { topic: partition.topic, partition: partition.partition, isr: partition.isr, err: error };
    if (partition.resigns) {
      this.logger.error(fields, "disk full: resigning the replica so an in-sync replica serves");
      this.onReplicaFailure();
    } else if (partition.isr.includes(this.brokerId)) {
      this.logger.error(fields, "disk full on the last in-sync copy: refusing produce until space returns");
    } else {
      this.logger.warn(fields, "disk full on a replica out of the ISR: it catches up once space returns");
    }
  }

  /** Bytes free on the disk holding `dir`; when the disk cannot tell, room enough (the write will say). */
  private freeBytes(dir: string): number {
    try {
      return this.fileSystem.freeBytes?.(dir) ?? Number.POSITIVE_INFINITY;
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  private logServing(serving: boolean, image: MetadataImage, partitions: number): void {
    this.serving = serving;
    this.logger.info(
      { brokerId: this.brokerId, partitions, metadataOffset: image.offset },
      serving
        ? "broker in service: its replicas lead and follow as the metadata says"
        : this.logDirFailure
          ? "broker out of service (its log dir is offline): its replicas neither lead nor follow"
          : "broker out of service (fenced, or not registered as this process yet): its replicas neither lead nor follow",
    );
  }

  private deletePartition(key: string, partition: Partition): void {
    this.partitions.delete(key);
    try {
      partition.delete();
      this.logger.info(
        { topic: partition.topic, partition: partition.partition },
        "deleted partition replica",
      );
    } catch (error) {
      // The replica is closed either way; removeOrphanDirectories retries the files on the next image.
      this.logger.error(
        { err: error, topic: partition.topic, partition: partition.partition },
        "could not delete partition replica",
      );
    }
  }

  private async openOrUpdate(
    key: string,
    topic: TopicImage,
    partition: number,
    serving: boolean,
  ): Promise<void> {
    const state = topic.partitions[partition];
    const config = resolveTopicConfig(topic.configs);
    const existing = this.partitions.get(key);
    if (existing) {
      existing.update(state, config, serving);
      return;
    }
    if (this.logDirFailure) throw this.logDirFailure;
    const dir = join(this.dataDir, key);
    await this.claimDirectory(dir, topic.topicId);
    const log = await PartitionLog.open(dir, toLogConfig(config), {
      clock: this.clock,
      logger: this.logger,
      fileSystem: this.fileSystem,
      // Later, not inside the read that found it: the repair truncates the log that read is reading.
      onCorruption: () => queueMicrotask(() => this.corruptionFound(key)),
    });
    // Logged before the replica exists, so that it comes before the replica's own first lines (its role).
    this.logger.info(
      { topic: topic.name, partition, leaderEpoch: state.leaderEpoch, logEndOffset: log.logEndOffset },
      "opened partition replica",
    );
    this.partitions.set(
      key,
      new Partition(topic.name, topic.topicId, partition, log, state, config, this.partitionContext, serving),
    );
    if (log.damage) this.corruptionFound(key, "at recovery");
  }

  /**
   * A replica's log holds a corrupt batch (a read found it, or recovery): it
   * resigns if another in-sync replica can lead (the heartbeat goes out at
   * once), repairs itself once out of the ISR, and as the last in-sync copy
   * stays, serving what verifies, and says the partition is damaged.
   */
  private corruptionFound(key: string, when = "on read"): void {
    const partition = this.partitions.get(key);
    if (!partition) return; // found while opening: reported once the replica exists
    const damage = partition.log.damage;
    const fields = {
      topic: partition.topic,
      partition: partition.partition,
      isr: partition.isr,
      ...damage,
      when,
    };
    if (partition.resigns) {
      this.logger.error(
        fields,
        "corrupt replica: resigning it so an in-sync replica with a good copy serves",
      );
      this.onReplicaFailure();
    } else if (partition.isr.includes(this.brokerId)) {
      this.logger.error(fields, "damaged partition: this is its last in-sync copy; serving what verifies");
    } else {
      this.logger.warn(fields, "corrupt replica out of the ISR: repairing it from the leader");
    }
    try {
      partition.repairIfDamaged();
    } catch (error) {
      this.logger.error(
        { err: error, topic: partition.topic, partition: partition.partition },
        "repair failed",
      );
    }
  }

  /**
   * Makes `dir` belong to `topicId`, wiping it first if it held a different
   * (deleted) topic of the same name. A file that names no topic id is not
   * proof of another topic, so its records are kept.
   */
  private async claimDirectory(dir: string, topicId: string): Promise<void> {
    const file = join(dir, partitionMetadataFile);
    const owner = existsSync(file) ? topicIdPattern.exec(readFileSync(file, "utf8").trim())?.[1] : undefined;
    if (owner !== undefined && owner !== topicId) rmSync(dir, { recursive: true, force: true });
    if (owner === topicId) return;
    const created = mkdirSync(dir, { recursive: true }) !== undefined;
    // Atomic and fsynced: a torn or empty file after a power loss would otherwise look like another topic's.
    nodeFileSystem.writeFileAtomic(file, `topic_id: ${topicId}\n`);
    // The log fsyncs its own directory, not the entry that makes it reachable from the data directory.
    if (created) await nodeFileSystem.syncDir(this.dataDir);
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
