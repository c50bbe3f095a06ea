// CreateTopics, DeleteTopics and CreatePartitions, through the broker's admin path (forwarded to the
// active controller, answered once this broker's image shows the change), with Brook's own topic name
// and config validation.

import type { MetadataImage } from "@brook/metadata";
import { asBrookError, BrookError, toWireError } from "@brook/protocol";
import { KafkaErrorCode } from "../error-codes.js";
import { brookErrorOf, kafkaErrorCodeOf } from "../errors.js";
import type {
  CreatePartitionsRequest,
  CreatePartitionsResponseInput,
  CreateTopicsRequest,
  CreateTopicsRequestTopic,
  CreateTopicsResponseInput,
  CreateTopicsResponseTopicInput,
  DeleteTopicsRequest,
  DeleteTopicsResponseInput,
} from "../generated/messages.js";
import { topicConfigs } from "./configs.js";
import type { RequestContext } from "./context.js";

interface WireResult {
  name?: string;
  error?: { code?: string; message?: string } | null;
}

/**
 * The broker's results; when the whole call fails (no active controller, say), that error for every
 * topic, since a handler that throws closes the client's connection.
 */
async function resultsOf(
  names: readonly string[],
  call: () => Promise<{ topics?: readonly WireResult[] | null }>,
): Promise<readonly WireResult[]> {
  try {
    return (await call()).topics ?? [];
  } catch (error) {
    const wire = toWireError(asBrookError(error));
    return names.map((name) => ({ name, error: wire }));
  }
}

/** Each result's Kafka error code and message, by topic name. */
function byName(
  results: readonly WireResult[] | undefined,
): Map<string, { errorCode: number; errorMessage: string | null }> {
  const found = new Map<string, { errorCode: number; errorMessage: string | null }>();
  for (const result of results ?? []) {
    const error = brookErrorOf(result.error);
    found.set(result.name ?? "", {
      errorCode: error === undefined ? KafkaErrorCode.NONE : kafkaErrorCodeOf(error),
      errorMessage: error?.message ?? null,
    });
  }
  return found;
}

export async function createTopics(
  request: CreateTopicsRequest,
  ctx: RequestContext,
): Promise<CreateTopicsResponseInput> {
  const refused = new Map<string, BrookError>();
  for (const topic of request.topics) {
    const reason = refusal(topic);
    if (reason !== undefined) refused.set(topic.name, reason);
  }
  const wanted = request.topics.filter((topic) => !refused.has(topic.name));
  const answer =
    wanted.length === 0
      ? []
      : await resultsOf(
          wanted.map((topic) => topic.name),
          () =>
            ctx.broker.createTopics(
              {
                topics: wanted.map((topic) => ({
                  name: topic.name,
                  numPartitions: topic.numPartitions,
                  replicationFactor: topic.replicationFactor,
                  configs: topic.configs.map(({ name, value }) => ({ key: name, value: value ?? "" })),
                })),
                validateOnly: request.validateOnly,
              },
              ctx.caller,
            ),
        );
  const results = byName(answer);
  const image = ctx.broker.metadata.image;
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((topic): CreateTopicsResponseTopicInput => {
      const error = refused.get(topic.name);
      const result = error
        ? { errorCode: kafkaErrorCodeOf(error), errorMessage: error.message }
        : (results.get(topic.name) ?? { errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: null });
      return {
        name: topic.name,
        ...result,
        ...created(image, topic, result.errorCode, request.validateOnly),
      };
    }),
  };
}

/** What Brook's CreateTopics cannot do: manual replica assignments, and configs without a value. */
function refusal(topic: CreateTopicsRequestTopic): BrookError | undefined {
  if (topic.assignments.length > 0) {
    return new BrookError(
      "INVALID_REQUEST",
      "manual replica assignments are not supported; give a partition count and replication factor",
    );
  }
  const unset = topic.configs.find((config) => config.value === null);
  if (unset !== undefined)
    return new BrookError("INVALID_CONFIG", `topic config '${unset.name}' has no value`);
  return undefined;
}

/** v5+: the created topic as it now is (partitions, replication factor, configs, id). */
function created(
  image: MetadataImage,
  topic: CreateTopicsRequestTopic,
  errorCode: number,
  validateOnly: boolean,
) {
  const made = errorCode === KafkaErrorCode.NONE && !validateOnly ? image.topic(topic.name) : undefined;
  if (made === undefined) return { numPartitions: -1, replicationFactor: -1, configs: null };
  return {
    topicId: made.topicId,
    numPartitions: made.partitions.length,
    replicationFactor: made.partitions[0]?.replicas.length ?? -1,
    configs: topicConfigs(made.configs).map(({ name, value, readOnly, source, isSensitive }) => ({
      name,
      value,
      readOnly,
      configSource: source,
      isSensitive,
    })),
  };
}

export async function deleteTopics(
  request: DeleteTopicsRequest,
  ctx: RequestContext,
): Promise<DeleteTopicsResponseInput> {
  const image = ctx.broker.metadata.image;
  // v6 names topics in `topics` (by name or by id); earlier versions in `topicNames`.
  const asked =
    ctx.apiVersion >= 6
      ? request.topics.map((t) => ({
          name: t.name ?? image.topicsById.get(t.topicId)?.name ?? null,
          topicId: t.topicId,
        }))
      : request.topicNames.map((name) => ({ name, topicId: image.topic(name)?.topicId }));
  const names = asked.flatMap(({ name }) => (name === null ? [] : [name]));
  const answer =
    names.length === 0 ? [] : await resultsOf(names, () => ctx.broker.deleteTopics({ names }, ctx.caller));
  const results = byName(answer);
  return {
    throttleTimeMs: 0,
    responses: asked.map(({ name, topicId }) => ({
      name,
      topicId,
      ...(name === null
        ? { errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID, errorMessage: `no topic has id ${topicId}` }
        : (results.get(name) ?? { errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: null })),
    })),
  };
}

export async function createPartitions(
  request: CreatePartitionsRequest,
  ctx: RequestContext,
): Promise<CreatePartitionsResponseInput> {
  const answer = await resultsOf(
    request.topics.map((topic) => topic.name),
    () =>
      ctx.broker.createPartitions(
        {
          topics: request.topics.map((topic) => ({
            name: topic.name,
            count: topic.count,
            assignments: (topic.assignments ?? []).map((assignment) => ({ brokerIds: assignment.brokerIds })),
          })),
          validateOnly: request.validateOnly,
        },
        ctx.caller,
      ),
  );
  const results = byName(answer);
  return {
    throttleTimeMs: 0,
    results: request.topics.map((topic) => ({
      name: topic.name,
      ...(results.get(topic.name) ?? { errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: null }),
    })),
  };
}
