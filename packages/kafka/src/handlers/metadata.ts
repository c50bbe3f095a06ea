// Metadata: the brokers Kafka clients may use and, per topic, each partition's leader, leader epoch,
// replicas and ISR, read from this broker's metadata image. An unknown topic is created first when the
// listener auto-creates topics (Kafka's auto.create.topics.enable) and the request allows it (v4+).

import { isInternalTopic } from "@brook/broker";
import type { MetadataImage, TopicImage } from "@brook/metadata";
import { KafkaErrorCode } from "../error-codes.js";
import { brookErrorOf, kafkaErrorCodeOf } from "../errors.js";
import type {
  MetadataRequest,
  MetadataResponseInput,
  MetadataResponsePartitionInput,
  MetadataResponseTopicInput,
} from "../generated/messages.js";
import type { RequestContext } from "./context.js";
import { controllerIdForClients, kafkaBrokers } from "./endpoints.js";

/** Kafka's "authorized operations were not asked for". */
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export async function metadata(
  request: MetadataRequest,
  ctx: RequestContext,
): Promise<MetadataResponseInput> {
  const names = requestedNames(request, ctx.apiVersion);
  const created = new Map<string, number>();
  if (names !== undefined && mayCreate(request, ctx)) {
    const image = ctx.broker.metadata.image;
    const missing = [...new Set(names.filter((name) => image.topic(name) === undefined))];
    for (const [name, errorCode] of await createTopics(missing, ctx)) created.set(name, errorCode);
  }
  const image = ctx.broker.metadata.image;
  const brokers = kafkaBrokers(image);
  // Describe on each topic: all-topics answers leave out the others, named ones say who may not (as Kafka).
  const refusalOf = (name: string) => ctx.broker.access.refusal(ctx.caller, "describe", "topic", name);
  const topics =
    names === undefined
      ? image
          .topics()
          .filter((topic) => refusalOf(topic.name) === undefined)
          .map((topic) => describeTopic(topic, image))
      : names.map((name) => {
          const refusal = refusalOf(name);
          if (refusal !== undefined) return missingTopic(name, kafkaErrorCodeOf(refusal));
          const topic = image.topic(name);
          if (topic !== undefined) return describeTopic(topic, image);
          return missingTopic(name, created.get(name) ?? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        });
  return {
    throttleTimeMs: 0,
    brokers: brokers.map(({ id, endpoint, rack }) => ({
      nodeId: id,
      host: endpoint.host,
      port: endpoint.port,
      rack,
    })),
    clusterId: ctx.broker.clusterId,
    controllerId: controllerIdForClients(image, ctx.broker.activeControllerId()),
    topics,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

/** The topic names asked for, or undefined for "every topic" (null; in v0, an empty list). */
function requestedNames(request: MetadataRequest, apiVersion: number): string[] | undefined {
  if (request.topics === null) return undefined;
  if (apiVersion === 0 && request.topics.length === 0) return undefined;
  // v10+ may name topics by id only; Brook answers by name, so those count as unknown ("").
  return request.topics.map((topic) => topic.name ?? "");
}

function mayCreate(request: MetadataRequest, ctx: RequestContext): boolean {
  return ctx.autoCreateTopics && (ctx.apiVersion < 4 || request.allowAutoTopicCreation);
}

/** Creates each missing topic with the cluster's defaults; the error code per name for those that failed. */
async function createTopics(names: string[], ctx: RequestContext): Promise<Map<string, number>> {
  const failed = new Map<string, number>();
  const creatable = names.filter((name) => name !== "" && !isInternalTopic(name));
  if (creatable.length === 0) return failed;
  try {
    const response = await ctx.broker.createTopics(
      {
        topics: creatable.map((name) => ({ name, numPartitions: -1, replicationFactor: -1, configs: [] })),
        validateOnly: false,
      },
      ctx.caller,
    );
    for (const result of response.topics ?? []) {
      const error = brookErrorOf(result.error);
      if (error !== undefined && error.code !== "TOPIC_ALREADY_EXISTS")
        failed.set(result.name ?? "", kafkaErrorCodeOf(error));
    }
    ctx.logger.info({ topics: creatable, client: ctx.clientId }, "kafka metadata: topics auto-created");
  } catch (error) {
    // No controller right now: the client retries its metadata request, as after LEADER_NOT_AVAILABLE.
    for (const name of creatable) failed.set(name, KafkaErrorCode.LEADER_NOT_AVAILABLE);
    ctx.logger.info(
      { topics: creatable, error: (error as Error).message },
      "kafka metadata: auto-create failed",
    );
  }
  return failed;
}

function describeTopic(topic: TopicImage, image: MetadataImage): MetadataResponseTopicInput {
  const available = (id: number) => image.brokers.get(id)?.fenced === false;
  const partitions = topic.partitions.map(
    (p): MetadataResponsePartitionInput => ({
      errorCode: p.leader < 0 ? KafkaErrorCode.LEADER_NOT_AVAILABLE : KafkaErrorCode.NONE,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: p.replicas.filter((id) => !available(id)),
    }),
  );
  return {
    errorCode: KafkaErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: isInternalTopic(topic.name),
    partitions,
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function missingTopic(name: string, errorCode: number): MetadataResponseTopicInput {
  return {
    errorCode,
    name,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}
