// The controller's gRPC face: converts wire messages to controller calls and
// back. Brokers reach these either over gRPC or, in a combined node, through
// the same functions in-process.

import {
  type AclBindingFields,
  type AclBindingFilterFields,
  aclBindingFields,
  encodeMetadataRecord,
  imageToRecords,
  type MetadataRecord,
} from "@brook/metadata";
import {
  type AllocateProducerIdsRequest__Output,
  type AllocateProducerIdsResponse,
  type AlterPartitionRequest__Output,
  type AlterPartitionResponse,
  type BrokerHeartbeatRequest__Output,
  type BrokerHeartbeatResponse,
  BrookError,
  type CallerOf,
  type ControllerHandlers,
  type CreatePartitionsRequest__Output,
  type CreatePartitionsResponse,
  type CreateTopicsRequest__Output,
  type CreateTopicsResponse,
  type DeleteTopicsRequest__Output,
  type DeleteTopicsResponse,
  type DescribeQuorumResponse,
  type FetchMetadataRequest__Output,
  type FetchMetadataResponse,
  noError,
  type RegisterBrokerRequest__Output,
  type RegisterBrokerResponse,
  requireNode,
  type SurfaceCall,
  toWireError,
  unary,
} from "@brook/protocol";
import type { Controller, TopicOutcome } from "./controller.js";
import type { AlterUserScramCredentialsRequest } from "./security-decisions.js";

export const fetchMetadataRecordsMax = 10_000;
export const fetchMetadataWaitMsMax = 30_000;

function toTopicResults(outcomes: TopicOutcome[]) {
  return outcomes.map((o) => ({ name: o.name, error: o.error ? toWireError(o.error) : noError }));
}

export async function createTopics(
  controller: Controller,
  request: CreateTopicsRequest__Output,
): Promise<CreateTopicsResponse> {
  const outcomes = await controller.createTopics(
    request.topics.map((t) => ({
      name: t.name,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      configs: new Map(t.configs.map((c) => [c.key, c.value])),
    })),
    request.validateOnly,
  );
  return { topics: toTopicResults(outcomes) };
}

export async function createPartitions(
  controller: Controller,
  request: CreatePartitionsRequest__Output,
): Promise<CreatePartitionsResponse> {
  const outcomes = await controller.createPartitions(
    request.topics.map((t) => ({
      topic: t.name,
      count: t.count,
      assignments: t.assignments.map((assignment) => assignment.brokerIds),
    })),
    request.validateOnly,
  );
  return { topics: toTopicResults(outcomes) };
}

export async function deleteTopics(
  controller: Controller,
  request: DeleteTopicsRequest__Output,
): Promise<DeleteTopicsResponse> {
  return { topics: toTopicResults(await controller.deleteTopics(request.names)) };
}

/**
 * Committed records from `fromOffset`; waits up to `maxWaitMs` for new ones
 * when there are none. Records the log has compacted into a snapshot can no
 * longer be sent one by one: a fetch from below them gets the controller's
 * image instead, written as records, whole (`snapshot`, see the proto).
 */
export async function fetchMetadata(
  controller: Controller,
  request: FetchMetadataRequest__Output,
): Promise<FetchMetadataResponse> {
  const fromOffset = request.fromOffset;
  if (fromOffset < 0) throw new BrookError("INVALID_REQUEST", "from_offset must be at least 0");
  const maxRecords = Math.min(Math.max(request.maxRecords, 1), fetchMetadataRecordsMax);
  if (fromOffset > controller.committedOffset && request.maxWaitMs > 0) {
    await waitForOffset(controller, fromOffset, Math.min(request.maxWaitMs, fetchMetadataWaitMsMax));
  }
  let records: MetadataRecord[];
  try {
    records = await controller.readRecords(fromOffset, maxRecords);
  } catch (error) {
    if (!(error instanceof BrookError && error.code === "OFFSET_OUT_OF_RANGE")) throw error;
    const image = controller.image; // at or past the snapshot: the image follows the log it reads
    return {
      error: noError,
      records: imageToRecords(image).map(encodeMetadataRecord),
      nextOffset: image.offset + 1,
      committedOffset: controller.committedOffset,
      snapshot: true,
    };
  }
  return {
    error: noError,
    records: records.map(encodeMetadataRecord),
    nextOffset: fromOffset + records.length,
    committedOffset: controller.committedOffset,
    snapshot: false,
  };
}

function waitForOffset(controller: Controller, offset: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    const unsubscribe = controller.onImage((image) => {
      if (image.offset >= offset) done();
    });
  });
}

/**
 * The Controller service is for the cluster's own nodes: every call but the two read-only descriptions
 * must come from an authenticated node (callerOf), and one that names a broker (registration, heartbeat,
 * an ISR change, producer ids) only from that broker. A client that reaches the controller port can then
 * neither register as a live broker nor shrink or widen an ISR (docs/security.md).
 */
export function controllerHandlers(controller: Controller, callerOf: CallerOf): ControllerHandlers {
  const fromNode =
    <Req, Res>(
      what: string,
      claimed: (request: Req) => number | undefined,
      handler: (request: Req) => Promise<Res>,
    ) =>
    (request: Req, call: SurfaceCall): Promise<Res> => {
      requireNode(callerOf(call), what, claimed(request));
      return handler(request);
    };
  const anyNode = () => undefined;
  return {
    CreateTopics: unary(fromNode("CreateTopics", anyNode, (request) => createTopics(controller, request))),
    DeleteTopics: unary(fromNode("DeleteTopics", anyNode, (request) => deleteTopics(controller, request))),
    FetchMetadata: unary(fromNode("FetchMetadata", anyNode, (request) => fetchMetadata(controller, request))),
    RegisterBroker: unary(
      fromNode(
        "RegisterBroker",
        (request) => request.brokerId,
        (request) => registerBroker(controller, request),
      ),
    ),
    BrokerHeartbeat: unary(
      fromNode(
        "BrokerHeartbeat",
        (request) => request.brokerId,
        (request) => brokerHeartbeat(controller, request),
      ),
    ),
    AlterPartition: unary(
      fromNode(
        "AlterPartition",
        (request) => request.leaderId,
        (request) => alterPartition(controller, request),
      ),
    ),
    DescribeQuorum: unary(async () => describeQuorum(controller)),
    DescribeController: unary(async () => controller.describeSelf()),
    AllocateProducerIds: unary(
      fromNode(
        "AllocateProducerIds",
        (request) => request.brokerId,
        (request) => allocateProducerIds(controller, request),
      ),
    ),
    CreatePartitions: unary(
      fromNode("CreatePartitions", anyNode, (request) => createPartitions(controller, request)),
    ),
    AlterUserScramCredentials: unary(
      fromNode("AlterUserScramCredentials", anyNode, (request) =>
        alterUserScramCredentials(controller, request),
      ),
    ),
    CreateAcls: unary(fromNode("CreateAcls", anyNode, (request) => createAcls(controller, request))),
    DeleteAcls: unary(fromNode("DeleteAcls", anyNode, (request) => deleteAcls(controller, request))),
  };
}

// Users and ACLs. The messages are proto/broker.proto's (a broker forwards its clients' requests as
// they came); these functions take the fields they read, which the generated types have.

/** Per user: its error, or none when all its alterations were committed. */
export async function alterUserScramCredentials(
  controller: Controller,
  request: AlterUserScramCredentialsRequest,
): Promise<{ results: { user: string; error: { code: string; message: string } }[] }> {
  const outcomes = await controller.alterUserScramCredentials(request);
  return {
    results: outcomes.map(({ user, error }) => ({ user, error: error ? toWireError(error) : noError })),
  };
}

/** Per binding, in the request's order: its error, or none when it exists now. */
export async function createAcls(
  controller: Controller,
  request: { readonly bindings: readonly AclBindingFields[] },
): Promise<{ results: { error: { code: string; message: string } }[] }> {
  const outcomes = await controller.createAcls(request.bindings);
  return { results: outcomes.map(({ error }) => ({ error: error ? toWireError(error) : noError })) };
}

/** Per filter, in the request's order: the bindings it matched and removed, or its error. */
export async function deleteAcls(
  controller: Controller,
  request: { readonly filters: readonly AclBindingFilterFields[] },
): Promise<{ results: { error: { code: string; message: string }; bindings: AclBindingFields[] }[] }> {
  const outcomes = await controller.deleteAcls(request.filters);
  return {
    results: outcomes.map(({ error, bindings }) => ({
      error: error ? toWireError(error) : noError,
      bindings: bindings.map(aclBindingFields),
    })),
  };
}

export async function registerBroker(
  controller: Controller,
  request: RegisterBrokerRequest__Output,
): Promise<RegisterBrokerResponse> {
  return controller.registerBroker({
    brokerId: request.brokerId,
    incarnationId: request.incarnationId,
    host: request.host,
    port: request.port,
    ...(request.rack ? { rack: request.rack } : {}),
    ...(request.kafkaPort > 0 ? { kafkaEndpoint: { host: request.kafkaHost, port: request.kafkaPort } } : {}),
  });
}

export async function brokerHeartbeat(
  controller: Controller,
  request: BrokerHeartbeatRequest__Output,
): Promise<BrokerHeartbeatResponse> {
  return controller.heartbeat({
    brokerId: request.brokerId,
    incarnationId: request.incarnationId,
    metadataOffset: Number(request.metadataOffset),
    wantShutDown: request.wantShutDown,
    logDirOffline: request.logDirOffline,
    resignedReplicas: request.resignedReplicas.map(({ topic, partition, partitionEpoch }) => ({
      topic,
      partition,
      partitionEpoch,
    })),
  });
}

export async function alterPartition(
  controller: Controller,
  request: AlterPartitionRequest__Output,
): Promise<AlterPartitionResponse> {
  const partition = await controller.alterPartition({
    topic: request.topic,
    partition: request.partition,
    leaderId: request.leaderId,
    leaderEpoch: request.leaderEpoch,
    partitionEpoch: request.partitionEpoch,
    newIsr: request.newIsr,
  });
  return { partition: { ...partition, replicas: [...partition.replicas], isr: [...partition.isr] } };
}

export async function allocateProducerIds(
  controller: Controller,
  request: AllocateProducerIdsRequest__Output,
): Promise<AllocateProducerIdsResponse> {
  return controller.allocateProducerIds(request.brokerId);
}

export function describeQuorum(controller: Controller): DescribeQuorumResponse {
  return controller.describeQuorum();
}
