// Helpers for the decision tests: images built from a compact description
// through the same replay the controllers use, and the code of a refusal.
import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import { BrookError } from "@brook/protocol";
import type { BrokerRegistration, Controller } from "../../src/index.js";

export interface PartitionSpec {
  readonly replicas: number[];
  readonly isr?: number[];
  readonly leader?: number;
}

export interface ClusterSpec {
  /** Unfenced brokers. */
  readonly live?: number[];
  /** Registered but fenced brokers. */
  readonly fenced?: number[];
  /** Topic name → partitions (topic id is `id-<name>`). */
  readonly topics?: Record<string, PartitionSpec[]>;
  readonly configs?: Record<string, Record<string, string>>;
}

export const incarnation = (brokerId: number) => `inc-${brokerId}`;

export function imageOf(spec: ClusterSpec): MetadataImage {
  const live = spec.live ?? [];
  const records: MetadataRecord[] = [...live, ...(spec.fenced ?? [])]
    .sort((a, b) => a - b)
    .map((brokerId) => ({
      type: "broker-registration",
      brokerId,
      incarnationId: incarnation(brokerId),
      host: "127.0.0.1",
      port: 9000 + brokerId,
    }));
  for (const brokerId of live) {
    records.push({ type: "broker-unfence", brokerId, incarnationId: incarnation(brokerId) });
  }
  for (const [name, partitions] of Object.entries(spec.topics ?? {})) {
    const topicId = `id-${name}`;
    records.push({ type: "topic", name, topicId });
    for (const [key, value] of Object.entries(spec.configs?.[name] ?? {})) {
      records.push({ type: "topic-config", topicId, key, value });
    }
    partitions.forEach((p, partition) => {
      records.push({
        type: "partition",
        topicId,
        partition,
        replicas: p.replicas,
        isr: p.isr ?? p.replicas,
        leader: p.leader ?? p.replicas[0],
        leaderEpoch: 0,
        partitionEpoch: 0,
      });
    });
  }
  return applyRecords(MetadataImage.empty, records, 0);
}

/** The image after the decision's records, as every node would replay them. */
export function replay(image: MetadataImage, records: readonly MetadataRecord[]): MetadataImage {
  return applyRecords(image, records, image.offset + 1);
}

/** The error code a decision throws, or undefined when it returns. */
export function codeOf(plan: () => unknown): string | undefined {
  try {
    plan();
  } catch (error) {
    return error instanceof BrookError ? error.code : String(error);
  }
  return undefined;
}

/**
 * Registers a broker and heartbeats it from the registration's offset, as a
 * broker that has caught up would: it is then unfenced and may hold replicas.
 */
export async function registerLiveBroker(
  controller: Controller,
  registration: BrokerRegistration,
): Promise<void> {
  const { registrationOffset } = await controller.registerBroker(registration);
  const reply = await controller.heartbeat({
    brokerId: registration.brokerId,
    incarnationId: registration.incarnationId,
    metadataOffset: registrationOffset,
  });
  if (reply.fenced)
    throw new Error(`broker ${registration.brokerId} stayed fenced after a caught-up heartbeat`);
}
