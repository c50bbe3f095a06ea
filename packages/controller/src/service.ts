// The controller's gRPC face: converts wire messages to controller calls and
// back. Brokers reach these either over gRPC or, in a combined node, through
// the same functions in-process.

import { encodeMetadataRecord } from "@brook/metadata";
import {
  BrookError,
  type ControllerHandlers,
  type CreateTopicsRequest__Output,
  type CreateTopicsResponse,
  type DeleteTopicsRequest__Output,
  type DeleteTopicsResponse,
  type FetchMetadataRequest__Output,
  type FetchMetadataResponse,
  noError,
  toWireError,
  unary,
} from "@brook/protocol";
import type { Controller, TopicOutcome } from "./controller.js";

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

export async function deleteTopics(
  controller: Controller,
  request: DeleteTopicsRequest__Output,
): Promise<DeleteTopicsResponse> {
  return { topics: toTopicResults(await controller.deleteTopics(request.names)) };
}

/** Committed records from `fromOffset`; waits up to `maxWaitMs` for new ones when there are none. */
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
  const records = await controller.readRecords(fromOffset, maxRecords);
  return {
    error: noError,
    records: records.map(encodeMetadataRecord),
    nextOffset: fromOffset + records.length,
    committedOffset: controller.committedOffset,
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

export function controllerHandlers(controller: Controller): ControllerHandlers {
  return {
    CreateTopics: unary((request) => createTopics(controller, request)),
    DeleteTopics: unary((request) => deleteTopics(controller, request)),
    FetchMetadata: unary((request) => fetchMetadata(controller, request)),
    RegisterBroker: unary(async (request) => {
      await controller.registerBroker(request);
      return {};
    }),
  };
}
