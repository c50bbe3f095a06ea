// CreateTopics, DeleteTopics and CreatePartitions when the broker's call fails whole (no active controller):
// every topic gets the error, and the handler answers instead of throwing (which would close the connection).
import { AccessControl, allowEverything, type BrokerApi } from "@brook/broker";
import { MetadataImage } from "@brook/metadata";
import { anonymousCaller, BrookError } from "@brook/protocol";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { RequestContext } from "../src/handlers/context.js";
import { createPartitions, createTopics, deleteTopics } from "../src/handlers/topics.js";
import { KafkaErrorCode } from "../src/index.js";

function context(): RequestContext {
  const noController = () =>
    Promise.reject(new BrookError("NOT_CONTROLLER", "no active controller is known yet"));
  const broker = {
    createTopics: noController,
    deleteTopics: noController,
    createPartitions: noController,
    metadata: { image: MetadataImage.empty },
    access: new AccessControl(allowEverything, pino({ level: "silent" })),
  } as unknown as BrokerApi;
  return {
    broker,
    autoCreateTopics: false,
    logger: pino({ level: "silent" }),
    apiVersion: 5,
    clientId: "test",
    clientHost: "127.0.0.1",
    caller: anonymousCaller("127.0.0.1"),
    signal: new AbortController().signal,
    mute: () => undefined,
  };
}

describe("topic admin when the broker's call fails whole", () => {
  it("answers every topic with the error (NOT_CONTROLLER, retriable)", async () => {
    const created = await createTopics(
      {
        topics: ["a", "b"].map((name) => ({
          name,
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [],
        })),
        timeoutMs: 1_000,
        validateOnly: false,
      },
      context(),
    );
    expect(created.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ["a", KafkaErrorCode.NOT_CONTROLLER],
      ["b", KafkaErrorCode.NOT_CONTROLLER],
    ]);
    const deleted = await deleteTopics({ topicNames: ["a"], topics: [], timeoutMs: 1_000 }, context());
    expect(deleted.responses.map((t) => t.errorCode)).toEqual([KafkaErrorCode.NOT_CONTROLLER]);
    const grown = await createPartitions(
      { topics: [{ name: "a", count: 2, assignments: null }], timeoutMs: 1_000, validateOnly: false },
      context(),
    );
    expect(grown.results.map((t) => t.errorCode)).toEqual([KafkaErrorCode.NOT_CONTROLLER]);
  });
});
