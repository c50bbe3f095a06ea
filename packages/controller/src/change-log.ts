// What the active controller's commits changed, as log lines: brokers
// registered, fenced and unfenced, partition leaders elected, ISRs changed,
// topics created, grown and deleted, SCRAM credentials and ACLs changed. Pure:
// it compares the image before a commit with the one after, record by record
// (replay derives the epochs, so they are read from the image after); the
// Controller writes the lines. Only the active controller logs them, once per
// change for the whole cluster.

import {
  aclBindingOf,
  type MetadataImage,
  type MetadataRecord,
  sameIds,
  type TopicImage,
} from "@brook/metadata";
import { unreachable } from "@brook/protocol";
import { formatAclBinding } from "@brook/security";

/** The subset of pino's logger the controller uses (the server passes its pino logger). */
export interface ControllerLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export const silentControllerLogger: ControllerLogger = { info() {}, warn() {} };

export interface ChangeLine {
  readonly level: "info" | "warn";
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/**
 * Partition lines per commit; past it one summary line counts the rest. A
 * broker that leaves moves the leadership of every partition it led in one
 * commit, which may be thousands.
 */
export const partitionChangeLinesMax = 100;

/** The lines for one commit of `records`, decided for `reason`. */
export function describeCommit(
  before: MetadataImage,
  after: MetadataImage,
  records: readonly MetadataRecord[],
  reason: string,
): ChangeLine[] {
  const lines: ChangeLine[] = [];
  let partitionLines = 0;
  let aclLines = 0;
  for (const record of records) {
    const line = describeRecord(before, after, record, reason);
    if (!line) continue;
    if (record.type === "partition-change" || record.type === "partition") {
      partitionLines++;
      if (partitionLines > partitionChangeLinesMax) continue;
    }
    if (record.type === "acl" || record.type === "acl-removal") {
      aclLines++;
      if (aclLines > partitionChangeLinesMax) continue;
    }
    lines.push(line);
  }
  if (partitionLines > partitionChangeLinesMax) {
    lines.push(
      info("more partition changes in the same commit, not logged one by one", {
        partitions: partitionLines - partitionChangeLinesMax,
        reason,
      }),
    );
  }
  if (aclLines > partitionChangeLinesMax) {
    lines.push(
      info("more ACL changes in the same commit, not logged one by one", {
        acls: aclLines - partitionChangeLinesMax,
        reason,
      }),
    );
  }
  return lines;
}

function describeRecord(
  before: MetadataImage,
  after: MetadataImage,
  record: MetadataRecord,
  reason: string,
): ChangeLine | undefined {
  switch (record.type) {
    case "broker-registration": {
      const { brokerId, incarnationId, host, port, rack, kafkaEndpoint } = record;
      return info("broker registered (fenced until it catches up)", {
        brokerId,
        incarnationId,
        host,
        port,
        rack,
        kafkaEndpoint,
      });
    }
    case "broker-fence":
      return info("broker fenced", {
        brokerId: record.brokerId,
        incarnationId: record.incarnationId,
        ledPartitions: partitionsLedBy(before, record.brokerId),
        reason,
      });
    case "broker-log-dir-offline":
      return info("broker log dir offline: fenced until it restarts", {
        brokerId: record.brokerId,
        incarnationId: record.incarnationId,
        ledPartitions: partitionsLedBy(before, record.brokerId),
        reason,
      });
    case "broker-unfence":
      return info("broker unfenced", {
        brokerId: record.brokerId,
        incarnationId: record.incarnationId,
        reason,
      });
    case "partition-change":
      return describePartitionChange(
        before.topicsById.get(record.topicId),
        after.topicsById.get(record.topicId),
        record.partition,
        reason,
      );
    case "partition":
      return describeAddedPartition(before, after, record.topicId, record.partition, reason);
    case "topic": {
      const topic = after.topicsById.get(record.topicId);
      return info("topic created", {
        topic: record.name,
        topicId: record.topicId,
        partitions: topic?.partitions.length,
        replicationFactor: topic?.partitions[0]?.replicas.length,
      });
    }
    case "remove-topic":
      return info("topic deleted", {
        topic: before.topicsById.get(record.topicId)?.name,
        topicId: record.topicId,
      });
    // Never a salt or a key: who, which mechanism, how many iterations.
    case "user-scram-credential":
      return info(
        before.users.get(record.name)?.has(record.mechanism)
          ? "SCRAM credential replaced"
          : "SCRAM credential created",
        { user: record.name, mechanism: record.mechanism, iterations: record.iterations, reason },
      );
    case "user-scram-credential-removal":
      return info("SCRAM credential deleted", { user: record.name, mechanism: record.mechanism, reason });
    case "acl":
      return info("ACL added", { acl: formatAclBinding(aclBindingOf(record)), reason });
    case "acl-removal":
      return info("ACL removed", { acl: formatAclBinding(aclBindingOf(record)), reason });
    case "topic-config": // not logged: routine, and a topic's configs come with its creation
    case "producer-ids":
      return undefined;
    default:
      return unreachable(record, "metadata record type");
  }
}

/** A leader election (clean, unclean, or none possible), else an ISR change. */
function describePartitionChange(
  topicBefore: TopicImage | undefined,
  topicAfter: TopicImage | undefined,
  partition: number,
  reason: string,
): ChangeLine | undefined {
  const old = topicBefore?.partitions[partition];
  const now = topicAfter?.partitions[partition];
  if (!old || !now || !topicAfter) return undefined;
  const fields = {
    topic: topicAfter.name,
    partition,
    leaderEpoch: now.leaderEpoch,
    partitionEpoch: now.partitionEpoch,
    previousIsr: old.isr,
    isr: now.isr,
    reason,
  };
  if (now.leader !== old.leader) {
    const leaders = { previousLeader: old.leader, leader: now.leader };
    if (now.leader < 0)
      return warn("partition offline: no eligible replica to lead it", { ...fields, ...leaders });
    if (!old.isr.includes(now.leader)) {
      return warn("unclean leader election: an out-of-sync replica leads, records may be lost", {
        ...fields,
        ...leaders,
      });
    }
    return info("partition leader elected", { ...fields, ...leaders });
  }
  if (!sameIds(old.isr, now.isr)) return info("ISR changed", { ...fields, leader: now.leader });
  return undefined;
}

/** A partition added to an existing topic (CreatePartitions); a new topic's are in its own line. */
function describeAddedPartition(
  before: MetadataImage,
  after: MetadataImage,
  topicId: string,
  partition: number,
  reason: string,
): ChangeLine | undefined {
  const existed = before.topicsById.get(topicId);
  const now = after.topicsById.get(topicId)?.partitions[partition];
  if (!existed || !now) return undefined;
  return info("partition added", {
    topic: existed.name,
    partition,
    replicas: now.replicas,
    leader: now.leader,
    reason,
  });
}

function partitionsLedBy(image: MetadataImage, brokerId: number): number {
  let count = 0;
  for (const topic of image.topicsById.values()) {
    count += topic.partitions.filter((partition) => partition.leader === brokerId).length;
  }
  return count;
}

function info(message: string, fields: Record<string, unknown>): ChangeLine {
  return { level: "info", message, fields };
}

function warn(message: string, fields: Record<string, unknown>): ChangeLine {
  return { level: "warn", message, fields };
}
