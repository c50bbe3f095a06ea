// Group admin against a tiny fake of the group RPCs (and the Metadata and ListOffsets they lean on): each
// group lives on one broker, its coordinator; the others answer NOT_COORDINATOR for it. Each test names
// the rule it checks.

import {
  BrokerService,
  BrookError,
  type ErrorCode,
  type GroupMemberDescription,
  grpcChannelOptions,
  noError,
} from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { type Admin, Brook, silentLogger } from "../src/index.js";

interface FakePartition {
  logStartOffset: number;
  /** Timestamp of each record, from logStartOffset on; the high watermark is just past the last. */
  timestamps: number[];
}

interface FakeGroup {
  coordinator: number;
  members: GroupMemberDescription[];
  /** Committed offsets by "topic-partition". */
  offsets: Map<string, number>;
  /** A classic group (Kafka clients): its assignor and generation. */
  classic?: { protocolName: string; generationId: number };
  /** A Brook group's server-side assignor; left out of the answer when undefined (an older broker). */
  serverAssignor?: string;
}

interface TopicPartitions {
  topic: string;
  partitions: number[];
}

const wireError = (code: ErrorCode, message = "") => ({ code, message });

class GroupFake {
  readonly topics = new Map<string, FakePartition[]>();
  readonly groups = new Map<string, FakeGroup>();
  readonly calls: { brokerId: number; method: string; request: unknown }[] = [];
  /** Errors OffsetFetch and OffsetCommit answer for a partition, keyed "topic-partition". */
  readonly partitionErrors = new Map<string, ErrorCode>();

  private constructor(readonly brokers: { id: number; port: number; server: grpc.Server }[]) {}

  static async start(brokerCount: number): Promise<GroupFake> {
    const fake = new GroupFake([]);
    for (let id = 1; id <= brokerCount; id++) {
      const server = new grpc.Server(grpcChannelOptions);
      server.addService(BrokerService, fake.handlers(id));
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      fake.brokers.push({ id, port, server });
    }
    return fake;
  }

  get bootstrap(): string[] {
    return this.brokers.map(({ port }) => `127.0.0.1:${port}`);
  }

  stop(): void {
    for (const { server } of this.brokers) server.forceShutdown();
  }

  group(
    groupId: string,
    {
      coordinator = 1,
      members = [],
      offsets = {},
      classic,
      serverAssignor,
    }: Partial<Omit<FakeGroup, "offsets">> & {
      offsets?: Record<string, number>;
    } = {},
  ): void {
    this.groups.set(groupId, {
      coordinator,
      members,
      offsets: new Map(Object.entries(offsets)),
      classic,
      serverAssignor,
    });
  }

  callsOf(method: string) {
    return this.calls.filter((call) => call.method === method);
  }

  private handlers(brokerId: number): grpc.UntypedServiceImplementation {
    const unary =
      <Req>(method: string, handle: (request: Req) => unknown) =>
      (call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        this.calls.push({ brokerId, method, request: call.request });
        callback(null, handle(call.request));
      };
    const notHere = (groupId: string) => {
      const coordinator = this.groups.get(groupId)?.coordinator ?? 1;
      return coordinator === brokerId ? undefined : wireError("NOT_COORDINATOR", `ask broker ${coordinator}`);
    };
    const partitionError = (topic: string, partition: number) => {
      const code = this.partitionErrors.get(`${topic}-${partition}`);
      return code === undefined ? noError : wireError(code);
    };
    return {
      Metadata: unary("Metadata", ({ topics }: { topics: string[] }) => ({
        brokers: this.brokers.map(({ id, port }) => ({ id, host: "127.0.0.1", port })),
        topics: (topics.length > 0 ? topics : [...this.topics.keys()]).map((name) => {
          const partitions = this.topics.get(name);
          if (partitions === undefined) return { name, error: wireError("UNKNOWN_TOPIC") };
          return {
            name,
            error: noError,
            topicId: name,
            partitions: partitions.map((_, partition) => {
              const leader = (partition % this.brokers.length) + 1;
              return { partition, leader, leaderEpoch: 0, replicas: [leader], isr: [leader] };
            }),
          };
        }),
      })),
      ListOffsets: unary(
        "ListOffsets",
        ({
          topics,
        }: {
          topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[];
        }) => ({
          topics: topics.map(({ topic, partitions }) => ({
            topic,
            partitions: partitions.map(({ partition, timestamp }) => {
              const { logStartOffset, timestamps } = this.topics.get(topic)![partition];
              const at = timestamps.findIndex((each) => each >= timestamp);
              const offset =
                timestamp === -2
                  ? logStartOffset
                  : timestamp === -1
                    ? logStartOffset + timestamps.length
                    : at < 0
                      ? -1
                      : logStartOffset + at;
              return { partition, error: noError, offset };
            }),
          })),
        }),
      ),
      FindCoordinator: unary("FindCoordinator", ({ groupId }: { groupId: string }) => {
        const id = this.groups.get(groupId)?.coordinator ?? 1;
        const { port } = this.brokers.find((broker) => broker.id === id)!;
        return { error: noError, nodeId: id, host: "127.0.0.1", port };
      }),
      ListGroups: unary("ListGroups", () => ({
        error: noError,
        groups: [...this.groups]
          .filter(([, group]) => group.coordinator === brokerId)
          .map(([groupId, group]) => ({
            groupId,
            state: group.members.length > 0 ? "stable" : "empty",
            members: group.members.length,
            coordinator: brokerId,
            ...(group.classic && { type: "classic", protocolType: "consumer" }),
          })),
      })),
      DescribeGroups: unary("DescribeGroups", ({ groupIds }: { groupIds: string[] }) => ({
        groups: groupIds.map((groupId) => {
          const group = this.groups.get(groupId);
          const error = notHere(groupId);
          if (error !== undefined) return { groupId, error };
          if (group === undefined) return { groupId, error: noError, state: "dead", coordinator: brokerId };
          if (group.classic !== undefined) {
            return {
              groupId,
              error: noError,
              state: group.members.length > 0 ? "stable" : "empty",
              type: "classic",
              protocolType: "consumer",
              ...group.classic,
              coordinator: brokerId,
              members: group.members,
            };
          }
          return {
            groupId,
            error: noError,
            state: group.members.length > 0 ? "stable" : "empty",
            groupEpoch: 7,
            assignmentEpoch: 7,
            coordinator: brokerId,
            members: group.members,
            ...(group.serverAssignor !== undefined && { serverAssignor: group.serverAssignor }),
          };
        }),
      })),
      OffsetFetch: unary(
        "OffsetFetch",
        ({ groupId, topics }: { groupId: string; topics: TopicPartitions[] }) => {
          const error = notHere(groupId);
          if (error !== undefined) return { error };
          const offsets = this.groups.get(groupId)?.offsets ?? new Map<string, number>();
          const wanted: TopicPartitions[] =
            topics.length > 0
              ? topics
              : [...offsets.keys()].map((key) => {
                  const at = key.lastIndexOf("-");
                  return { topic: key.slice(0, at), partitions: [Number(key.slice(at + 1))] };
                });
          return {
            error: noError,
            topics: wanted.map(({ topic, partitions }) => ({
              topic,
              partitions: partitions.map((partition) => ({
                partition,
                offset: offsets.get(`${topic}-${partition}`) ?? -1,
                metadata: "",
                error: partitionError(topic, partition),
              })),
            })),
          };
        },
      ),
      OffsetCommit: unary(
        "OffsetCommit",
        ({
          groupId,
          memberId,
          topics,
        }: {
          groupId: string;
          memberId: string;
          topics: { topic: string; partitions: { partition: number; offset: number }[] }[];
        }) => {
          const error = notHere(groupId);
          if (error !== undefined) return { error };
          if (!this.groups.has(groupId)) this.group(groupId, { coordinator: brokerId });
          const group = this.groups.get(groupId)!;
          if (memberId === "" && group.members.length > 0) {
            return { error: wireError("NON_EMPTY_GROUP", `group '${groupId}' has active members`) };
          }
          return {
            error: noError,
            topics: topics.map(({ topic, partitions }) => ({
              topic,
              partitions: partitions.map(({ partition, offset }) => {
                const failed = partitionError(topic, partition);
                if (failed === noError) group.offsets.set(`${topic}-${partition}`, offset);
                return { partition, error: failed };
              }),
            })),
          };
        },
      ),
      DeleteGroups: unary("DeleteGroups", ({ groupIds }: { groupIds: string[] }) => ({
        results: groupIds.map((groupId) => {
          const group = this.groups.get(groupId);
          const error =
            notHere(groupId) ??
            (group === undefined
              ? wireError("GROUP_ID_NOT_FOUND", `group '${groupId}' does not exist`)
              : group.members.length > 0
                ? wireError("NON_EMPTY_GROUP", `group '${groupId}' has active members`)
                : undefined);
          if (error === undefined) this.groups.delete(groupId);
          return { groupId, error: error ?? noError };
        }),
      })),
    };
  }
}

const member = (
  memberId: string,
  assignment: TopicPartitions[],
  extra: Partial<GroupMemberDescription> = {},
): GroupMemberDescription => ({
  memberId,
  instanceId: "",
  clientId: `client-${memberId}`,
  clientHost: "/10.0.0.1",
  memberEpoch: 7,
  subscribedTopicNames: assignment.map(({ topic }) => topic),
  assignment,
  targetAssignment: assignment,
  ...extra,
});

/** Records with these timestamps from `logStartOffset` on. */
const partition = (logStartOffset: number, timestamps: number[]): FakePartition => ({
  logStartOffset,
  timestamps,
});

/** Rejects with a BrookError; resolves with its code and message. */
async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(BrookError);
  return { code: (error as BrookError).code, message: (error as BrookError).message };
}

let fake: GroupFake;
let admin: Admin;

async function start(brokers = 1): Promise<void> {
  fake = await GroupFake.start(brokers);
  admin = new Brook({
    brokers: fake.bootstrap,
    logger: silentLogger,
    retry: { initialRetryTimeMs: 5, maxRetryTimeMs: 20, retries: 5 },
  }).admin();
}

afterEach(async () => {
  await admin?.close();
  fake?.stop();
});

describe("listGroups", () => {
  it("asks every broker for the groups it coordinates, and merges them sorted by id", async () => {
    await start(2);
    fake.group("payments", { coordinator: 1 });
    fake.group("audit", { coordinator: 2, members: [member("m1", [])] });
    fake.group("billing", { coordinator: 1 });

    fake.group("kafka-app", { coordinator: 2, classic: { protocolName: "range", generationId: 3 } });
    const brookGroup = { type: "consumer", protocolType: "" };
    expect(await admin.listGroups()).toEqual([
      { groupId: "audit", state: "stable", members: 1, coordinator: 2, ...brookGroup },
      { groupId: "billing", state: "empty", members: 0, coordinator: 1, ...brookGroup },
      {
        groupId: "kafka-app",
        state: "empty",
        members: 0,
        coordinator: 2,
        type: "classic",
        protocolType: "consumer",
      },
      { groupId: "payments", state: "empty", members: 0, coordinator: 1, ...brookGroup },
    ]);
    expect(
      fake
        .callsOf("ListGroups")
        .map(({ brokerId }) => brokerId)
        .sort(),
    ).toEqual([1, 2]);
  });
});

describe("describeGroup", () => {
  it("maps members (empty instance id and regex become null, assignments flatten and sort)", async () => {
    await start();
    fake.group("billing", {
      members: [
        member("m1", [{ topic: "orders", partitions: [2, 0] }], {
          instanceId: "node-a",
          targetAssignment: [{ topic: "orders", partitions: [0] }],
        }),
      ],
    });

    expect(await admin.describeGroup("billing")).toEqual({
      groupId: "billing",
      state: "stable",
      type: "consumer",
      protocolType: "",
      protocolName: "",
      // A broker from before server-side assignors names none: its groups are uniform.
      assignor: "uniform",
      generationId: 0,
      groupEpoch: 7,
      assignmentEpoch: 7,
      coordinator: 1,
      members: [
        {
          memberId: "m1",
          instanceId: "node-a",
          clientId: "client-m1",
          clientHost: "/10.0.0.1",
          memberEpoch: 7,
          subscribedTopicNames: ["orders"],
          subscribedTopicRegex: null,
          assignment: [
            { topic: "orders", partition: 0 },
            { topic: "orders", partition: 2 },
          ],
          targetAssignment: [{ topic: "orders", partition: 0 }],
        },
      ],
    });
  });

  it("a Brook group's server-side assignor, and each member's metadata (undefined when it has none)", async () => {
    await start();
    const endpoint = Buffer.from('{"endpoint":"10.0.0.1:7070","state":"RUNNING"}');
    fake.group("streams-app", {
      serverAssignor: "range",
      members: [
        member("m1", [{ topic: "input", partitions: [0] }], { memberMetadata: endpoint }),
        member("m2", [{ topic: "input", partitions: [1] }]),
      ],
    });

    const described = await admin.describeGroup("streams-app");
    expect(described.assignor).toBe("range");
    expect(described.members[0].metadata).toEqual(endpoint);
    expect(described.members[1]).not.toHaveProperty("metadata");
    expect((await admin.groupLag("streams-app")).assignor).toBe("range");
    expect((await admin.describeGroup("nobody")).assignor).toBe("");
  });

  it("finds the coordinator again after NOT_COORDINATOR (the group moved) and retries there", async () => {
    await start(2);
    fake.group("billing", { coordinator: 1 });
    await admin.describeGroup("billing");
    fake.groups.get("billing")!.coordinator = 2;

    expect((await admin.describeGroup("billing")).coordinator).toBe(2);
    expect(fake.callsOf("FindCoordinator")).toHaveLength(2);
    expect(fake.callsOf("DescribeGroups").map(({ brokerId }) => brokerId)).toEqual([1, 1, 2]);
  });
});

describe("fetchOffsets", () => {
  it("answers every partition of the named topics (-1 where nothing is committed), or all committed", async () => {
    await start();
    fake.topics.set("orders", [partition(0, [1, 2]), partition(0, [])]);
    fake.group("billing", { offsets: { "orders-0": 2, "refunds-3": 9 } });

    expect(await admin.fetchOffsets({ groupId: "billing", topics: ["orders"] })).toEqual([
      { topic: "orders", partition: 0, offset: 2, metadata: "" },
      { topic: "orders", partition: 1, offset: -1, metadata: "" },
    ]);
    expect((await admin.fetchOffsets({ groupId: "billing" })).map(({ topic }) => topic)).toEqual([
      "orders",
      "refunds",
    ]);
  });

  it("turns a partition's error into its typed BrookError, naming group and partition", async () => {
    await start();
    fake.topics.set("orders", [partition(0, []), partition(0, [])]);
    fake.group("billing");
    fake.partitionErrors.set("orders-1", "UNKNOWN_PARTITION");

    const { code, message } = await rejection(admin.fetchOffsets({ groupId: "billing", topics: ["orders"] }));
    expect(code).toBe("UNKNOWN_PARTITION");
    expect(message).toContain('group "billing"');
    expect(message).toContain("orders-1");
  });
});

describe("groupLag", () => {
  it("covers every partition of committed and assigned topics; lag is null where nothing is committed", async () => {
    await start(2);
    fake.topics.set("orders", [partition(0, Array(10).fill(0)), partition(2, Array(18).fill(0))]);
    fake.topics.set("refunds", [partition(0, Array(5).fill(0))]);
    fake.group("billing", {
      members: [
        member("m1", [{ topic: "orders", partitions: [0, 1] }], { instanceId: "node-a" }),
        member("m2", [{ topic: "refunds", partitions: [0] }]),
      ],
      // "gone" was deleted after the group committed on it: its log end offset is unknown.
      offsets: { "orders-0": 4, "orders-1": 20, "gone-0": 7 },
    });

    expect(await admin.groupLag("billing")).toEqual({
      group: "billing",
      state: "stable",
      type: "consumer",
      assignor: "uniform",
      members: [
        {
          memberId: "m1",
          instanceId: "node-a",
          clientId: "client-m1",
          host: "/10.0.0.1",
          partitions: [
            { topic: "orders", partition: 0 },
            { topic: "orders", partition: 1 },
          ],
        },
        {
          memberId: "m2",
          instanceId: null,
          clientId: "client-m2",
          host: "/10.0.0.1",
          partitions: [{ topic: "refunds", partition: 0 }],
        },
      ],
      partitions: [
        { topic: "gone", partition: 0, committedOffset: 7, logEndOffset: null, lag: null },
        { topic: "orders", partition: 0, committedOffset: 4, logEndOffset: 10, lag: 6 },
        { topic: "orders", partition: 1, committedOffset: 20, logEndOffset: 20, lag: 0 },
        { topic: "refunds", partition: 0, committedOffset: -1, logEndOffset: 5, lag: null },
      ],
      totalLag: 6,
    });
  });

  it("rejects with GROUP_ID_NOT_FOUND for a group the coordinator does not know", async () => {
    await start();
    expect((await rejection(admin.groupLag("nobody"))).code).toBe("GROUP_ID_NOT_FOUND");
  });

  it("shows a classic group (Kafka clients): its type, assignor, members' partitions and lag", async () => {
    await start();
    fake.topics.set("orders", [partition(0, Array(10).fill(0)), partition(0, Array(4).fill(0))]);
    fake.group("kafka-app", {
      classic: { protocolName: "cooperative-sticky", generationId: 5 },
      members: [
        member("rdkafka-1", [{ topic: "orders", partitions: [0] }], { memberEpoch: 5, targetAssignment: [] }),
        member("rdkafka-2", [{ topic: "orders", partitions: [1] }], { memberEpoch: 5, targetAssignment: [] }),
      ],
      offsets: { "orders-0": 10, "orders-1": 1 },
    });

    const lag = await admin.groupLag("kafka-app");
    expect(lag).toMatchObject({
      group: "kafka-app",
      type: "classic",
      assignor: "cooperative-sticky",
      totalLag: 3,
    });
    expect(lag.members.map(({ memberId, partitions }) => [memberId, partitions])).toEqual([
      ["rdkafka-1", [{ topic: "orders", partition: 0 }]],
      ["rdkafka-2", [{ topic: "orders", partition: 1 }]],
    ]);
    expect(await admin.describeGroup("kafka-app")).toMatchObject({
      type: "classic",
      protocolType: "consumer",
      protocolName: "cooperative-sticky",
      assignor: "cooperative-sticky",
      generationId: 5,
    });
  });
});

describe("resetOffsets", () => {
  // events-0: offsets 2..5 at times 100..400, high watermark 6; events-1: offsets 0..1 at 150, 250.
  async function startWithEvents(): Promise<void> {
    await start(2);
    fake.topics.set("events", [partition(2, [100, 200, 300, 400]), partition(0, [150, 250])]);
  }
  const reset = (to: Parameters<Admin["resetOffsets"]>[0]["to"], partitions?: number[]) =>
    admin.resetOffsets({ groupId: "billing", topic: "events", to, partitions });
  const committed = () => Object.fromEntries(fake.groups.get("billing")?.offsets ?? []);

  it("moves every partition to the log start, or to the high watermark", async () => {
    await startWithEvents();
    expect(await reset("earliest")).toEqual([
      { topic: "events", partition: 0, offset: 2 },
      { topic: "events", partition: 1, offset: 0 },
    ]);
    expect(committed()).toEqual({ "events-0": 2, "events-1": 0 });
    await reset("latest");
    expect(committed()).toEqual({ "events-0": 6, "events-1": 2 });
  });

  it("clamps an explicit offset into [log start, high watermark]", async () => {
    await startWithEvents();
    await reset({ offset: 3 });
    expect(committed()).toEqual({ "events-0": 3, "events-1": 2 });
    await reset({ offset: 0 });
    expect(committed()).toEqual({ "events-0": 2, "events-1": 0 });
  });

  it("moves to the first record at or after a time, or to the high watermark when there is none", async () => {
    await startWithEvents();
    await reset({ timestamp: 250 });
    expect(committed()).toEqual({ "events-0": 4, "events-1": 1 });
    await reset({ timestamp: 1_000 });
    expect(committed()).toEqual({ "events-0": 6, "events-1": 2 });
  });

  it("commits as an admin (no member id, epoch -1), only the partitions asked for", async () => {
    await startWithEvents();
    expect(await reset("earliest", [1])).toEqual([{ topic: "events", partition: 1, offset: 0 }]);
    expect(committed()).toEqual({ "events-1": 0 });
    expect(fake.callsOf("OffsetCommit")[0].request).toMatchObject({ memberId: "", memberEpoch: -1 });
  });

  it("computes without committing on a dry run", async () => {
    await startWithEvents();
    const offsets = await admin.resetOffsets({
      groupId: "billing",
      topic: "events",
      to: "latest",
      dryRun: true,
    });
    expect(offsets.map(({ offset }) => offset)).toEqual([6, 2]);
    expect(fake.callsOf("OffsetCommit")).toHaveLength(0);
  });

  it("surfaces NON_EMPTY_GROUP while the group has members, on a dry run too", async () => {
    await startWithEvents();
    fake.group("billing", { members: [member("m1", [{ topic: "events", partitions: [0, 1] }])] });

    const refused = await rejection(reset("earliest"));
    expect(refused.code).toBe("NON_EMPTY_GROUP");
    expect(refused.message).toContain("billing");
    const dryRun = admin.resetOffsets({ groupId: "billing", topic: "events", to: "earliest", dryRun: true });
    expect((await rejection(dryRun)).code).toBe("NON_EMPTY_GROUP");
    expect(committed()).toEqual({});
  });

  it("refuses a negative offset or timestamp before asking anything", async () => {
    await startWithEvents();
    expect((await rejection(reset({ offset: -1 }))).code).toBe("INVALID_REQUEST");
    expect((await rejection(reset({ timestamp: -5 }))).code).toBe("INVALID_REQUEST");
    expect(fake.calls).toHaveLength(0);
  });
});

describe("deleteGroups", () => {
  it("deletes empty groups; NON_EMPTY_GROUP and GROUP_ID_NOT_FOUND are typed errors", async () => {
    await start(2);
    fake.group("idle", { coordinator: 2 });
    fake.group("busy", { members: [member("m1", [])] });

    expect(await admin.deleteGroups(["idle"])).toEqual([{ groupId: "idle" }]);
    expect(fake.groups.has("idle")).toBe(false);
    expect((await rejection(admin.deleteGroups(["busy"]))).code).toBe("NON_EMPTY_GROUP");
    expect((await rejection(admin.deleteGroups(["nobody"]))).code).toBe("GROUP_ID_NOT_FOUND");
    expect(fake.groups.has("busy")).toBe(true);
  });
});
