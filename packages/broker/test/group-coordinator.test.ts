// Rule: Brook's groups through the gRPC handlers on a real __consumer_offsets partition, for what Brook
// Streams needs: the server_assignor a member names (range co-partitions; unknown names are
// UNSUPPORTED_ASSIGNOR) and member_metadata (kept, shown by DescribeGroups, written to the group record so
// a new coordinator has it, at most 8 KiB, and never a reason to rebalance).
import {
  type ConsumerGroupHeartbeatRequest__Output,
  decodeRecordBatches,
  type GroupDescription__Output,
  type GroupTopicPartitions,
  ManualClock,
} from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GroupCoordinator } from "../src/groups/coordinator.js";
import type { GroupSnapshot } from "../src/groups/group.js";
import type { GroupHandlers } from "../src/groups/handlers.js";
import { OFFSETS_TOPIC, parseGroupRecord } from "../src/groups/records.js";
import { startGroupCoordinator, startTestBroker, type TestBroker, topicRecords } from "./helpers.js";

const groupId = "word-count";
const offsetsPartitions = 3;

let broker: TestBroker;
let clock: ManualClock;
let coordinator: GroupCoordinator;
let handlers: GroupHandlers;

async function startCoordinator(): Promise<void> {
  ({ coordinator, handlers } = await startGroupCoordinator(broker, clock, groupId));
}

beforeEach(async () => {
  clock = new ManualClock();
  broker = startTestBroker({ clock });
  await broker.apply([
    ...topicRecords(OFFSETS_TOPIC, { partitions: offsetsPartitions }),
    ...topicRecords("input", { partitions: 4 }),
    ...topicRecords("word-count-repartition", { partitions: 4 }),
  ]);
  await startCoordinator();
});

afterEach(async () => {
  coordinator.close();
  await broker.close();
});

/** A member as the SDK runs it: sends what it holds, takes what it is given (revoking at once). */
class Member {
  epoch = 0;
  owned: GroupTopicPartitions[] = [];
  constructor(
    readonly memberId: string,
    readonly extra: Partial<ConsumerGroupHeartbeatRequest__Output> = {},
  ) {}

  async heartbeat(once: Partial<ConsumerGroupHeartbeatRequest__Output> = {}) {
    const answer = await handlers.heartbeat(
      {
        groupId,
        memberId: this.memberId,
        memberEpoch: this.epoch,
        instanceId: "",
        clientId: "streams",
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: ["input", "word-count-repartition"],
        subscribedTopicRegex: "",
        ownedPartitions: this.owned,
        serverAssignor: "",
        memberMetadata: undefined,
        ...this.extra,
        ...once,
      },
      "127.0.0.1",
    );
    if (answer.error?.code === "") {
      this.epoch = answer.memberEpoch ?? 0;
      this.owned = answer.assignment ?? [];
    }
    return answer;
  }
}

async function settle(members: Member[]): Promise<void> {
  for (let round = 0; round < 4; round++) for (const member of members) await member.heartbeat();
}

async function describeGroup(): Promise<GroupDescription__Output> {
  const { groups } = await handlers.describeGroups({ groupIds: [groupId] });
  return groups?.[0] as GroupDescription__Output;
}

/** The group records of `groupId` in __consumer_offsets, oldest first. */
function storedGroups(): GroupSnapshot[] {
  const stored: GroupSnapshot[] = [];
  for (let index = 0; index < offsetsPartitions; index++) {
    const partition = broker.replicas.local(OFFSETS_TOPIC, index)!;
    const { records } = partition.log.read(0, 10 * 1024 * 1024, { minOneBatch: true });
    for (const batch of decodeRecordBatches(records)) {
      for (const record of batch.records) {
        const parsed = parseGroupRecord(record);
        if (parsed.kind === "group" && parsed.group === groupId) stored.push(parsed.value as GroupSnapshot);
      }
    }
  }
  return stored;
}

describe("server assignors through ConsumerGroupHeartbeat", () => {
  it("range: each member gets partition p of both topics; DescribeGroups names the assignor", async () => {
    const members = ["a", "b"].map((id) => new Member(id, { serverAssignor: "range" }));
    await settle(members);
    for (const member of members) {
      const [first, second] = member.owned.map((t) => [...(t.partitions ?? [])].sort());
      expect(member.owned).toHaveLength(2);
      expect(first).toEqual(second);
      expect(first).toHaveLength(2);
    }
    const described = await describeGroup();
    expect(described).toMatchObject({ type: "consumer", state: "stable", serverAssignor: "range" });
    expect(storedGroups().at(-1)?.serverAssignor).toBe("range");
  });

  it("a group of members naming none uses uniform, and says so", async () => {
    await new Member("a").heartbeat();
    expect((await describeGroup()).serverAssignor).toBe("uniform");
  });

  it("an unknown assignor is refused with UNSUPPORTED_ASSIGNOR, and no group is created", async () => {
    const answer = await new Member("a", { serverAssignor: "cooperative-sticky" }).heartbeat();
    expect(answer.error).toMatchObject({
      code: "UNSUPPORTED_ASSIGNOR",
      message: expect.stringMatching(/'cooperative-sticky' is not supported/),
    });
    expect((await describeGroup()).state).toBe("dead");
  });
});

describe("member metadata through ConsumerGroupHeartbeat", () => {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));

  it("is shown by DescribeGroups, and a change is written to the group record without a rebalance", async () => {
    const a = new Member("a", { serverAssignor: "range" });
    const b = new Member("b", { serverAssignor: "range" });
    await a.heartbeat({ memberMetadata: json({ endpoint: "a:7070", state: "STARTING" }) });
    await settle([a, b]);
    const epoch = (await describeGroup()).groupEpoch;
    const recordsBefore = storedGroups().length;

    await a.heartbeat({ memberMetadata: json({ endpoint: "a:7070", state: "RUNNING" }) });
    await settle([a, b]); // absent from here on: unchanged
    const described = await describeGroup();
    expect(described.groupEpoch).toBe(epoch);
    const byId = new Map(described.members.map((m) => [m.memberId, m]));
    expect(JSON.parse(byId.get("a")!.memberMetadata.toString())).toEqual({
      endpoint: "a:7070",
      state: "RUNNING",
    });
    expect(byId.get("b")!.memberMetadata).toHaveLength(0);
    const stored = storedGroups();
    expect(stored).toHaveLength(recordsBefore + 1); // the change, and nothing for the unchanged heartbeats
    expect(stored.at(-1)?.groupEpoch).toBe(epoch);
  });

  it("survives a coordinator failover: the new coordinator replays it from the group record", async () => {
    const a = new Member("a");
    await a.heartbeat({ memberMetadata: json({ endpoint: "a:7070" }) });
    await a.heartbeat();
    coordinator.close();
    await startCoordinator();
    const [member] = (await describeGroup()).members;
    expect(JSON.parse(member.memberMetadata.toString())).toEqual({ endpoint: "a:7070" });
    expect((await a.heartbeat()).error?.code).toBe(""); // the same member, at the same epoch
  });

  it("at most 8 KiB: more is INVALID_REQUEST, and the member keeps what it had", async () => {
    const a = new Member("a");
    await a.heartbeat({ memberMetadata: Buffer.alloc(8 * 1024, 1) });
    const refused = await a.heartbeat({ memberMetadata: Buffer.alloc(8 * 1024 + 1, 2) });
    expect(refused.error).toMatchObject({
      code: "INVALID_REQUEST",
      message: expect.stringMatching(/8193 bytes/),
    });
    const [member] = (await describeGroup()).members;
    expect(member.memberMetadata).toEqual(Buffer.alloc(8 * 1024, 1));
  });
});
