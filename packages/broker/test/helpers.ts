// Test fixtures for the broker: a BrokerContext with a real ReplicaManager on
// a temp directory, an in-memory metadata source the test drives record by
// record, a stub controller, and record batches built with the real codec.

import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import {
  type Clock,
  encodeRecordBatch,
  type FetchRequest__Output,
  type ProduceRequest__Output,
  splitBatches,
  systemClock,
} from "@brook/protocol";
import { pino } from "pino";
import { vi } from "vitest";
import { AccessControl, allowEverything } from "../src/access.js";
import {
  type BrokerContext,
  type ControllerChannel,
  defaultBrokerLimits,
  type MetadataSource,
  noBrokerObserver,
} from "../src/context.js";
import { GroupCoordinator } from "../src/groups/coordinator.js";
import { GroupHandlers } from "../src/groups/handlers.js";
import { type LeaderLease, unleased } from "../src/leadership-lease.js";
import type { PartitionContext } from "../src/partition.js";
import { ReplicaManager } from "../src/replica-manager.js";

export const brokerId = 1;
export const silentLogger = pino({ level: "silent" });

/** A metadata source whose image the test advances by applying records. */
export class TestMetadata implements MetadataSource {
  image = MetadataImage.empty;
  private readonly listeners = new Set<(image: MetadataImage) => void>();

  onImage(listener: (image: MetadataImage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(records: readonly MetadataRecord[]): MetadataImage {
    this.image = applyRecords(this.image, records, this.image.offset + 1);
    for (const listener of this.listeners) listener(this.image);
    return this.image;
  }
}

export const stubController: ControllerChannel = {
  createTopics: async () => ({ topics: [] }),
  deleteTopics: async () => ({ topics: [] }),
  createPartitions: async () => ({ topics: [] }),
  alterPartition: async () => ({}),
  allocateProducerIds: async () => ({ firstProducerId: 0, count: 1_000 }),
  quorumStatus: async () => [],
  alterUserScramCredentials: async () => ({ results: [] }),
  createAcls: async () => ({ results: [] }),
  deleteAcls: async () => ({ results: [] }),
  activeControllerId: () => -1,
};

/** Records that create `name` with `partitions` partitions, each led by `leader` (this broker by default). */
export function topicRecords(
  name: string,
  options: { partitions?: number; configs?: Record<string, string>; leader?: number; topicId?: string } = {},
): MetadataRecord[] {
  const topicId = options.topicId ?? randomUUID();
  const leader = options.leader ?? brokerId;
  return [
    { type: "topic", name, topicId },
    ...Object.entries(options.configs ?? {}).map(
      ([key, value]): MetadataRecord => ({ type: "topic-config", topicId, key, value }),
    ),
    ...Array.from(
      { length: options.partitions ?? 1 },
      (_, partition): MetadataRecord => ({
        type: "partition",
        topicId,
        partition,
        replicas: [leader],
        isr: [leader],
        leader,
        leaderEpoch: 0,
        partitionEpoch: 0,
      }),
    ),
  ];
}

export interface TestBroker {
  readonly ctx: BrokerContext;
  readonly metadata: TestMetadata;
  readonly replicas: ReplicaManager;
  readonly dataDir: string;
  /** Every ctx.txnMarkerWritten call, in order. */
  readonly markersWritten: { topic: string; partition: number; producerId: number; committed: boolean }[];
  /** Applies records to the image and waits until the local replicas follow it. */
  apply(records: readonly MetadataRecord[]): Promise<void>;
  close(): Promise<void>;
}

export function startTestBroker(options: { clock?: Clock; lease?: LeaderLease } = {}): TestBroker {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-broker-"));
  const dataDir = path.join(root, "data");
  const metadata = new TestMetadata();
  const markersWritten: TestBroker["markersWritten"] = [];
  const replicas = new ReplicaManager({
    brokerId,
    dataDir,
    clock: options.clock ?? systemClock,
    logger: silentLogger,
  });
  const ctx: BrokerContext = {
    brokerId,
    clusterId: "test-cluster",
    replicas,
    metadata,
    controller: stubController,
    limits: defaultBrokerLimits,
    logger: silentLogger,
    observer: noBrokerObserver,
    access: new AccessControl(allowEverything, silentLogger),
    lease: options.lease ?? unleased,
    awaitMetadata: () => replicas.applyImage(metadata.image),
    txnMarkerWritten: (topic, partition, producerId, committed) =>
      markersWritten.push({ topic, partition, producerId, committed }),
  };
  return {
    ctx,
    metadata,
    replicas,
    dataDir,
    markersWritten,
    apply: (records) => replicas.applyImage(metadata.apply(records)),
    close: async () => {
      await replicas.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** One RecordBatch v2 of `recordCount` records with `valueBytes`-byte values. */
export function makeBatch(recordCount: number, valueBytes = 10): Buffer {
  const records = Array.from({ length: recordCount }, (_, i) => ({
    key: `k${i}`,
    value: Buffer.alloc(valueBytes, i % 256),
  }));
  return encodeRecordBatch(records, { nowMs: 1_700_000_000_000 });
}

/** Base and last offsets of the batches in `records`, in order. */
export function batchOffsets(records: Buffer): { baseOffset: number; lastOffset: number }[] {
  return splitBatches(records).map(({ baseOffset, lastOffset }) => ({ baseOffset, lastOffset }));
}

export function produceRequest(
  topic: string,
  partitions: Record<number, Buffer>,
  options: { acks?: number; timeoutMs?: number } = {},
): ProduceRequest__Output {
  return {
    acks: options.acks ?? -1,
    timeoutMs: options.timeoutMs ?? 5_000,
    topics: [
      {
        topic,
        partitions: Object.entries(partitions).map(([partition, records]) => ({
          partition: Number(partition),
          records,
        })),
      },
    ],
  };
}

export function fetchRequest(
  topic: string,
  offsets: Record<number, number>,
  options: {
    maxWaitMs?: number;
    minBytes?: number;
    maxBytes?: number;
    partitionMaxBytes?: number;
    isolationLevel?: number;
  } = {},
): FetchRequest__Output {
  return {
    replicaId: -1,
    isolationLevel: options.isolationLevel ?? 0,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    topics: [
      {
        topic,
        partitions: Object.entries(offsets).map(([partition, fetchOffset]) => ({
          partition: Number(partition),
          fetchOffset,
          partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024,
          currentLeaderEpoch: -1,
        })),
      },
    ],
  };
}

/** What a Partition needs of its broker, for tests: ISR changes are recorded, not sent. */
export function partitionContext(
  options: {
    clock?: Clock;
    alterPartition?: PartitionContext["alterPartition"];
    replicaLagTimeMaxMs?: number;
  } = {},
): PartitionContext {
  return {
    brokerId,
    clock: options.clock ?? systemClock,
    logger: silentLogger,
    alterPartition: options.alterPartition ?? (async () => ({})),
    replicaLagTimeMaxMs: options.replicaLagTimeMaxMs ?? 5_000,
  };
}

/**
 * A group coordinator on the test broker's __consumer_offsets, with its handlers, once it has loaded the
 * partition that holds `groupId` (what the coordinator tests start, and start again to replay the log).
 */
export async function startGroupCoordinator(
  broker: TestBroker,
  clock: Clock,
  groupId: string,
): Promise<{ coordinator: GroupCoordinator; handlers: GroupHandlers }> {
  const coordinator = new GroupCoordinator({
    brokerId: broker.ctx.brokerId,
    replicas: broker.replicas,
    metadata: broker.metadata,
    logger: silentLogger,
    clock,
  });
  const handlers = new GroupHandlers(broker.ctx, coordinator);
  coordinator.onImage(broker.metadata.image);
  await vi.waitFor(() => coordinator.locate(groupId), { timeout: 5_000, interval: 10 });
  return { coordinator, handlers };
}
