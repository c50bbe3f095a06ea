// Rule: OffsetFetch's RequireStable (v7+, KIP-447; one flag for every group of a v8 request) reaches the
// group coordinator as requireStable, and a partition answered unstable carries Kafka's retriable
// UNSTABLE_OFFSET_COMMIT (88) with offset -1; older versions never ask for stability.
import {
  AccessControl,
  allowEverything,
  type BrokerApi,
  type ClassicOffsetFetchRequest,
  type ClassicOffsetFetchResponse,
} from "@brook/broker";
import { anonymousCaller, BrookError } from "@brook/protocol";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { RequestContext } from "../src/handlers/context.js";
import { offsetFetch } from "../src/handlers/groups.js";
import { KAFKA_ERRORS, KafkaErrorCode, kafkaErrorCodeOf } from "../src/index.js";

/** A broker whose coordinator has offset 10 committed on orders-0 and a transaction's offset pending on orders-1. */
function contextAt(apiVersion: number): { ctx: RequestContext; asked: ClassicOffsetFetchRequest[] } {
  const asked: ClassicOffsetFetchRequest[] = [];
  const broker = {
    groups: {
      classic: {
        offsetFetch: async (request: ClassicOffsetFetchRequest): Promise<ClassicOffsetFetchResponse> => {
          asked.push(request);
          return {
            topics: [
              {
                topic: "orders",
                partitions: [
                  { partition: 0, offset: 10, leaderEpoch: 2, metadata: "" },
                  request.requireStable
                    ? {
                        partition: 1,
                        offset: -1,
                        leaderEpoch: -1,
                        metadata: "",
                        error: new BrookError("UNSTABLE_OFFSET_COMMIT", "pending"),
                      }
                    : { partition: 1, offset: 5, leaderEpoch: -1, metadata: "" },
                ],
              },
            ],
          };
        },
      },
    },
    access: new AccessControl(allowEverything, pino({ level: "silent" })),
  } as unknown as BrokerApi;
  const ctx: RequestContext = {
    broker,
    autoCreateTopics: false,
    logger: pino({ level: "silent" }),
    apiVersion,
    clientId: "test",
    clientHost: "127.0.0.1",
    caller: anonymousCaller("127.0.0.1"),
    signal: new AbortController().signal,
    mute: () => undefined,
  };
  return { ctx, asked };
}

const topics = [{ name: "orders", partitionIndexes: [0, 1] }];

describe("OffsetFetch RequireStable", () => {
  it("v7 asks for stable offsets and answers UNSTABLE_OFFSET_COMMIT (88) on the unstable partition only", async () => {
    const { ctx, asked } = contextAt(7);
    const answer = await offsetFetch({ groupId: "g", topics, groups: [], requireStable: true }, ctx);
    expect(asked.map((request) => request.requireStable)).toEqual([true]);
    expect(
      answer.topics?.[0].partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode]),
    ).toEqual([
      [0, 10n, KafkaErrorCode.NONE],
      [1, -1n, 88],
    ]);
    expect(answer.errorCode).toBe(KafkaErrorCode.NONE);
  });

  it("v8 applies the one flag to every group of the request", async () => {
    const { ctx, asked } = contextAt(8);
    const answer = await offsetFetch(
      {
        groupId: "",
        topics: null,
        groups: [
          { groupId: "a", topics },
          { groupId: "b", topics },
        ],
        requireStable: true,
      },
      ctx,
    );
    expect(asked.map(({ groupId, requireStable }) => [groupId, requireStable])).toEqual([
      ["a", true],
      ["b", true],
    ]);
    expect(answer.groups?.map((group) => group.topics[0].partitions[1].errorCode)).toEqual([88, 88]);
  });

  it("v8 without the flag, and versions before 7, get the committed offsets", async () => {
    const v8 = contextAt(8);
    await offsetFetch(
      { groupId: "", topics: null, groups: [{ groupId: "a", topics }], requireStable: false },
      v8.ctx,
    );
    const v6 = contextAt(6);
    const answer = await offsetFetch({ groupId: "g", topics, groups: [], requireStable: true }, v6.ctx);
    expect([...v8.asked, ...v6.asked].map((request) => request.requireStable)).toEqual([false, false]);
    expect(answer.topics?.[0].partitions[1]).toMatchObject({ committedOffset: 5n, errorCode: 0 });
  });

  it("maps Brook's UNSTABLE_OFFSET_COMMIT to Kafka's, retriable in both", () => {
    const error = new BrookError("UNSTABLE_OFFSET_COMMIT", "pending");
    expect(error.retriable).toBe(true);
    expect(kafkaErrorCodeOf(error)).toBe(KafkaErrorCode.UNSTABLE_OFFSET_COMMIT);
    expect(KAFKA_ERRORS.UNSTABLE_OFFSET_COMMIT).toEqual({ code: 88, retriable: true });
  });
});
