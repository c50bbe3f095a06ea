// A Kafka listener over a real, in-process Broker (@brook/broker's Broker.start on a temp directory):
// the metadata is an in-memory image the fixture advances record by record, and the controller is a
// stub that creates topics by applying their records, one partition led by this broker each. Enough for
// real Kafka clients (kafkajs, kcat) to produce, consume and commit group offsets through the listener.
// Users and ACLs are decided by the real controller's decisions (@brook/controller's planCreateAcls,
// planDeleteAcls, planAlterUserScramCredentials) over the image, their records applied at once.

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AccessPolicy,
  Broker,
  type ControllerChannel,
  type MetadataSource,
  OFFSETS_TOPIC,
} from "@brook/broker";
import { planAlterUserScramCredentials, planCreateAcls, planDeleteAcls } from "@brook/controller";
import { aclBindingFields, applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import { noError, toWireError } from "@brook/protocol";
import { pino } from "pino";
import { type KafkaListener, type KafkaListenerOptions, startKafkaListener } from "../src/index.js";

const BROKER_ID = 1;
export const silentLogger = pino({ level: "silent" });

class FixtureMetadata implements MetadataSource {
  image = MetadataImage.empty;
  private readonly listeners = new Set<(image: MetadataImage) => void>();

  onImage(listener: (image: MetadataImage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(records: readonly MetadataRecord[]): void {
    this.image = applyRecords(this.image, records, this.image.offset + 1);
    for (const listener of this.listeners) listener(this.image);
  }
}

function topicRecords(name: string, partitions: number): MetadataRecord[] {
  const topicId = randomUUID();
  return [
    { type: "topic", name, topicId },
    ...Array.from(
      { length: partitions },
      (_, partition): MetadataRecord => ({
        type: "partition",
        topicId,
        partition,
        replicas: [BROKER_ID],
        isr: [BROKER_ID],
        leader: BROKER_ID,
        leaderEpoch: 0,
        partitionEpoch: 0,
      }),
    ),
  ];
}

export interface ListenerFixture {
  readonly port: number;
  readonly bootstrap: string;
  readonly broker: Broker;
  /** Every topic the controller was asked to create, in order (auto-creation included). */
  readonly creations: string[];
  /** Whether the image has the topic. */
  hasTopic(name: string): boolean;
  createTopic(name: string, partitions?: number): Promise<void>;
  close(): Promise<void>;
}

export type FixtureListenerOptions = Partial<Omit<KafkaListenerOptions, "broker" | "host" | "port">> & {
  /** Who may do what on the broker (default: everyone everything). */
  readonly access?: AccessPolicy;
};

/** Starts a broker and a Kafka listener on 127.0.0.1 over it, registered as the broker's Kafka endpoint. */
export async function startListenerFixture(
  fixtureOptions: FixtureListenerOptions = {},
): Promise<ListenerFixture> {
  const { access, ...options } = fixtureOptions;
  const dataDir = mkdtempSync(join(tmpdir(), "brook-kafka-"));
  const metadata = new FixtureMetadata();
  const creations: string[] = [];
  metadata.apply(topicRecords(OFFSETS_TOPIC, 1));
  // Only what the broker asks of its controller in these tests; the cast keeps the fixture out of the way
  // of controller calls added for other features (a call to one of those fails the test loudly).
  const controller: Partial<ControllerChannel> = {
    createTopics: async (request) => {
      const topics = request.topics.map(({ name, numPartitions }) => {
        creations.push(name);
        if (metadata.image.topic(name) !== undefined) {
          return { name, error: { code: "TOPIC_ALREADY_EXISTS", message: `${name} exists` } };
        }
        metadata.apply(topicRecords(name, Math.max(1, numPartitions)));
        return { name, error: null };
      });
      return { topics };
    },
    deleteTopics: async () => ({ topics: [] }),
    createPartitions: async () => ({ topics: [] }),
    alterPartition: async () => ({}),
    allocateProducerIds: async () => ({ firstProducerId: 0, count: 1_000 }),
    quorumStatus: async () => [],
    activeControllerId: () => BROKER_ID,
    createAcls: async (request) => {
      const { records, results } = planCreateAcls(metadata.image, request.bindings);
      if (records.length > 0) metadata.apply(records);
      return { results: results.map(({ error }) => ({ error: error ? toWireError(error) : noError })) };
    },
    deleteAcls: async (request) => {
      const { records, results } = planDeleteAcls(metadata.image, request.filters);
      if (records.length > 0) metadata.apply(records);
      return {
        results: results.map(({ error, bindings }) => ({
          error: error ? toWireError(error) : noError,
          bindings: bindings.map(aclBindingFields),
        })),
      };
    },
    alterUserScramCredentials: async (request) => {
      const { records, results } = planAlterUserScramCredentials(metadata.image, request);
      if (records.length > 0) metadata.apply(records);
      return {
        results: results.map(({ user, error }) => ({ user, error: error ? toWireError(error) : noError })),
      };
    },
  };
  const broker = await Broker.start({
    brokerId: BROKER_ID,
    clusterId: "kafka-fixture",
    dataDir,
    metadata,
    controller: controller as ControllerChannel,
    logger: silentLogger,
    groups: { classicInitialRebalanceDelayMs: 0 }, // a lone test consumer need not wait for others
    access,
  });
  let listener: KafkaListener;
  try {
    listener = await startKafkaListener({
      host: "127.0.0.1",
      port: 0,
      broker: broker.api,
      autoCreateTopics: true,
      logger: silentLogger,
      ...options,
    });
  } catch (error) {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const incarnationId = randomUUID();
  metadata.apply([
    {
      type: "broker-registration",
      brokerId: BROKER_ID,
      incarnationId,
      host: "127.0.0.1",
      port: 1, // the gRPC port: unused here
      kafkaEndpoint: { host: "127.0.0.1", port: listener.port },
    },
    // A broker registers fenced; Kafka clients are only shown brokers in service.
    { type: "broker-unfence", brokerId: BROKER_ID, incarnationId },
  ]);
  await broker.metadataCaughtUp();
  return {
    port: listener.port,
    bootstrap: `127.0.0.1:${listener.port}`,
    broker,
    creations,
    hasTopic: (name) => metadata.image.topic(name) !== undefined,
    createTopic: async (name, partitions = 1) => {
      metadata.apply(topicRecords(name, partitions));
      await broker.metadataCaughtUp();
    },
    close: async () => {
      await listener.close();
      await broker.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
