// Metadata and admin requests. Reads are answered from this broker's metadata
// image (plus its local logs for offsets); writes are forwarded to the active
// controller, and answered once this broker's image shows their effect, so a
// client that creates a topic can use it on this broker straight away.

import type { BrokerImage, MetadataImage, PartitionImage, TopicImage } from "@brook/metadata";
import {
  type BrokerInfo,
  BrookError,
  type Caller,
  type CreatePartitionsRequest__Output,
  type CreatePartitionsResponse,
  type CreateTopicsRequest__Output,
  type CreateTopicsResponse,
  type DeleteTopicsRequest__Output,
  type DeleteTopicsResponse,
  type DescribeClusterResponse,
  type DescribeTopicsRequest__Output,
  type DescribeTopicsResponse,
  type MetadataRequest__Output,
  type MetadataResponse,
  noError,
  type PartitionDescription,
  type PartitionInfo,
  type TopicInfo,
  toWireError,
} from "@brook/protocol";
import type { Refusals } from "./access.js";
import type { BrokerContext } from "./context.js";
import { isInternalTopic } from "./groups/records.js";

const unknownTopic = (name: string) =>
  toWireError(new BrookError("UNKNOWN_TOPIC", `topic '${name}' does not exist`));

function partitionInfo(p: PartitionImage): PartitionInfo {
  return {
    partition: p.partition,
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    replicas: [...p.replicas],
    isr: [...p.isr],
    partitionEpoch: p.partitionEpoch,
  };
}

/** Its gRPC address, and its Kafka listener's (empty and 0 when it has none). */
function brokerInfo(broker: BrokerImage): BrokerInfo {
  return {
    id: broker.brokerId,
    host: broker.host,
    port: broker.port,
    rack: broker.rack ?? "",
    kafkaHost: broker.kafkaEndpoint?.host ?? "",
    kafkaPort: broker.kafkaEndpoint?.port ?? 0,
  };
}

/** The registered brokers that hold a replica of `topic`, by id. */
function replicaBrokers(image: MetadataImage, topic: TopicImage): BrokerInfo[] {
  const ids = new Set(topic.partitions.flatMap((partition) => partition.replicas));
  return [...ids]
    .sort((a, b) => a - b)
    .flatMap((id) => {
      const broker = image.brokers.get(id);
      return broker ? [brokerInfo(broker)] : [];
    });
}

function configEntries(topic: TopicImage) {
  return [...topic.configs].map(([key, value]) => ({ key, value }));
}

function selectTopics(image: MetadataImage, names: readonly string[]): Array<TopicImage | string> {
  return names.length === 0 ? image.topics() : names.map((name) => image.topic(name) ?? name);
}

/** Topics the caller may not describe are left out of an all-topics answer, and refused when named. */
export function metadata(
  ctx: BrokerContext,
  request: MetadataRequest__Output,
  caller: Caller,
): MetadataResponse {
  const image = ctx.metadata.image;
  const refusalOf = (name: string) => ctx.access.refusal(caller, "describe", "topic", name);
  const describable = (name: string) => refusalOf(name) === undefined;
  return {
    clusterId: ctx.clusterId,
    controllerId: ctx.controller.activeControllerId(),
    // As in Kafka, only brokers in service: a fenced one leads nothing, and
    // may be a dead process a client should not pick to bootstrap from.
    brokers: [...image.brokers.values()].filter((b) => !b.fenced).map(brokerInfo),
    topics: selectTopics(image, request.topics)
      .filter(
        (topic) => request.topics.length > 0 || describable(typeof topic === "string" ? topic : topic.name),
      )
      .map(
        (topic): TopicInfo =>
          typeof topic === "string" || !describable(topic.name)
            ? {
                name: typeof topic === "string" ? topic : topic.name,
                error:
                  typeof topic === "string"
                    ? unknownTopic(topic)
                    : toWireError(refusalOf(topic.name) as BrookError),
                topicId: "",
                partitions: [],
                configs: [],
              }
            : {
                name: topic.name,
                error: noError,
                topicId: topic.topicId,
                partitions: topic.partitions.map(partitionInfo),
                configs: configEntries(topic),
              },
      ),
    // A broker cut off from the controller still names itself leader of what it led: say so.
    mayBeStale: ctx.lease.lapsed() !== undefined,
  };
}

export function describeTopics(
  ctx: BrokerContext,
  request: DescribeTopicsRequest__Output,
  caller: Caller,
): DescribeTopicsResponse {
  const image = ctx.metadata.image;
  const refusalOf = (name: string) => ctx.access.refusal(caller, "describe", "topic", name);
  const describable = (name: string) => refusalOf(name) === undefined;
  const selected = selectTopics(image, request.names).filter(
    (topic) => request.names.length > 0 || typeof topic === "string" || describable(topic.name),
  );
  return {
    topics: selected.map((topic) => {
      if (typeof topic === "string" || !describable(topic.name)) {
        const name = typeof topic === "string" ? topic : topic.name;
        return {
          name,
          error: typeof topic === "string" ? unknownTopic(topic) : toWireError(refusalOf(name) as BrookError),
          topicId: "",
          partitions: [],
          configs: [],
          brokers: [],
        };
      }
      return {
        name: topic.name,
        error: noError,
        topicId: topic.topicId,
        configs: configEntries(topic),
        brokers: replicaBrokers(image, topic),
        partitions: topic.partitions.map((p): PartitionDescription => {
          const local = ctx.replicas.local(topic.name, p.partition);
          return {
            info: partitionInfo(p),
            highWatermark: local?.highWatermark ?? -1,
            logStartOffset: local?.log.logStartOffset ?? -1,
            logEndOffset: local?.log.logEndOffset ?? -1,
            sizeBytes: local?.log.sizeBytes ?? -1,
            dirtyRatio: local?.cleanable?.dirtyRatio ?? -1,
          };
        }),
      };
    }),
  };
}

export async function describeCluster(ctx: BrokerContext): Promise<DescribeClusterResponse> {
  const image = ctx.metadata.image;
  let offline = 0;
  let underReplicated = 0;
  for (const topic of image.topicsById.values()) {
    for (const p of topic.partitions) {
      if (p.leader < 0) offline++;
      if (p.isr.length < p.replicas.length) underReplicated++;
    }
  }
  return {
    clusterId: ctx.clusterId,
    controllers: await ctx.controller.quorumStatus(),
    brokers: [...image.brokers.values()]
      .sort((a, b) => a.brokerId - b.brokerId)
      .map((b) => {
        const { id, host, port, rack, kafkaHost, kafkaPort } = brokerInfo(b);
        return { id, host, port, rack, kafkaHost, kafkaPort, state: brokerState(b) };
      }),
    offlinePartitions: offline,
    underReplicatedPartitions: underReplicated,
  };
}

/** As `brook cluster status` shows a broker: its log dir failed, fenced, or alive. */
function brokerState(broker: BrokerImage): string {
  return broker.logDirOffline ? "log-dir-offline" : broker.fenced ? "fenced" : "alive";
}

/** `denied`: topics the caller may not create (answered TOPIC_AUTHORIZATION_FAILED, never forwarded). */
export async function createTopics(
  ctx: BrokerContext,
  request: CreateTopicsRequest__Output,
  denied: Refusals = new Map(),
): Promise<CreateTopicsResponse> {
  const topics = request.topics.filter(({ name }) => !denied.has(name));
  const response =
    topics.length > 0 ? await ctx.controller.createTopics({ ...request, topics }) : { topics: [] };
  await ctx.awaitMetadata();
  return { topics: [...(response.topics ?? []), ...refusals(denied)] };
}

function refusals(refused: Refusals) {
  return [...refused].map(([name, refusal]) => ({ name, error: toWireError(refusal) }));
}

/**
 * Grows topics (Kafka's CreatePartitions), answered once this broker's
 * replicas reflect the new partitions. The internal offsets topic keeps its
 * count: groups map to its partitions by it.
 */
export async function createPartitions(
  ctx: BrokerContext,
  request: CreatePartitionsRequest__Output,
  denied: Refusals = new Map(),
): Promise<CreatePartitionsResponse> {
  const internal = request.topics.filter(({ name }) => isInternalTopic(name) && !denied.has(name));
  const topics = request.topics.filter(({ name }) => !isInternalTopic(name) && !denied.has(name));
  const response =
    topics.length > 0 ? await ctx.controller.createPartitions({ ...request, topics }) : { topics: [] };
  await ctx.awaitMetadata();
  const refused = internal.map(({ name }) => ({
    name,
    error: toWireError(
      new BrookError(
        "INVALID_REQUEST",
        `'${name}' is internal: groups map to its partitions by their count, which therefore never changes`,
      ),
    ),
  }));
  return { topics: [...(response.topics ?? []), ...refused, ...refusals(denied)] };
}

export async function deleteTopics(
  ctx: BrokerContext,
  request: DeleteTopicsRequest__Output,
  denied: Refusals = new Map(),
): Promise<DeleteTopicsResponse> {
  const internal = request.names.filter((name) => isInternalTopic(name) && !denied.has(name));
  const names = request.names.filter((name) => !isInternalTopic(name) && !denied.has(name));
  const response = names.length > 0 ? await ctx.controller.deleteTopics({ names }) : { topics: [] };
  await ctx.awaitMetadata();
  const refused = internal.map((name) => ({
    name,
    error: toWireError(
      new BrookError("INVALID_REQUEST", `'${name}' is internal: it holds the consumer groups' offsets`),
    ),
  }));
  return { topics: [...(response.topics ?? []), ...refused, ...refusals(denied)] };
}
