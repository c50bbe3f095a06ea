// Rule: classic consumer groups (Kafka clients' protocol) through the API the Kafka listener calls,
// on a real __consumer_offsets partition: long polls settle when the group decides and never leak;
// the group and its offsets are records a new coordinator replays (members keep their generation);
// classic and Brook commits are the same records; one group id speaks one protocol at a time.
import {
  BrookError,
  decodeConsumerAssignment,
  decodeRecordBatches,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
  ManualClock,
} from "@brook/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClassicJoinGroupRequest } from "../src/groups/classic-handlers.js";
import { GroupCoordinator, type GroupCoordinatorConfig } from "../src/groups/coordinator.js";
import { GroupHandlers } from "../src/groups/handlers.js";
import { OFFSETS_TOPIC, parseGroupRecord } from "../src/groups/records.js";
import { silentLogger, startTestBroker, type TestBroker, topicRecords } from "./helpers.js";

const groupId = "billing";
const initialDelayMs = 100;
const config: Partial<GroupCoordinatorConfig> = { classicInitialRebalanceDelayMs: initialDelayMs };

let broker: TestBroker;
let clock: ManualClock;
let coordinator: GroupCoordinator;
let handlers: GroupHandlers;

async function startCoordinator(): Promise<void> {
  coordinator = new GroupCoordinator({
    brokerId: broker.ctx.brokerId,
    replicas: broker.replicas,
    metadata: broker.metadata,
    logger: silentLogger,
    clock,
    config,
  });
  handlers = new GroupHandlers(broker.ctx, coordinator);
  coordinator.onImage(broker.metadata.image);
  await vi.waitFor(() => coordinator.locate(groupId), { timeout: 5_000, interval: 10 });
}

beforeEach(async () => {
  clock = new ManualClock();
  broker = startTestBroker({ clock });
  await broker.apply([
    ...topicRecords(OFFSETS_TOPIC, { partitions: 3 }),
    ...topicRecords("orders", { partitions: 4 }),
  ]);
  await startCoordinator();
});

afterEach(async () => {
  coordinator.close();
  await broker.close();
});

function joinRequest(
  memberId: string,
  extra: Partial<ClassicJoinGroupRequest> = {},
): ClassicJoinGroupRequest {
  return {
    groupId,
    memberId,
    groupInstanceId: null,
    clientId: "kafkajs",
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: encodeConsumerSubscription({ topics: ["orders"] }) }],
    requireKnownMemberId: true,
    ...extra,
  };
}

/** JoinGroup v4+ as Kafka clients do it: the first attempt gets MEMBER_ID_REQUIRED with the id to use. */
async function memberId(extra: Partial<ClassicJoinGroupRequest> = {}): Promise<string> {
  const error = await handlers.classic.joinGroup(joinRequest("", extra)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BrookError);
  expect((error as BrookError).code).toBe("MEMBER_ID_REQUIRED");
  return (error as { memberId: string }).memberId;
}

function assignment(partitions: number[]): Buffer {
  return encodeConsumerAssignment({ assignedPartitions: [{ topic: "orders", partitions }] });
}

/** Two members, generation 1, a's range assignment synced: what a kafkajs group does on start. */
async function stableGroupOfTwo() {
  const [a, b] = [await memberId(), await memberId()];
  const joins = [handlers.classic.joinGroup(joinRequest(a)), handlers.classic.joinGroup(joinRequest(b))];
  clock.advance(initialDelayMs); // the initial rebalance delay gathers both into generation 1
  coordinator.tick();
  const [joinA, joinB] = await Promise.all(joins);
  const leader = joinA.leaderId === a ? a : b;
  const follower = leader === a ? b : a;
  const followerSync = handlers.classic.syncGroup({
    groupId,
    generationId: 1,
    memberId: follower,
    groupInstanceId: null,
    assignments: [],
  });
  const leaderSync = await handlers.classic.syncGroup({
    groupId,
    generationId: joinA.generationId,
    memberId: leader,
    groupInstanceId: null,
    assignments: [
      { memberId: leader, assignment: assignment([0, 1]) },
      { memberId: follower, assignment: assignment([2, 3]) },
    ],
  });
  return { leader, follower, joinA, joinB, leaderSync, followerSync: await followerSync };
}

/** The group records of __consumer_offsets for `groupId`, oldest first. */
function storedGroups() {
  const records = [];
  for (let index = 0; index < 3; index++) {
    const partition = broker.replicas.local(OFFSETS_TOPIC, index)!;
    const { records: bytes } = partition.log.read(0, 10 * 1024 * 1024, { minOneBatch: true });
    for (const batch of decodeRecordBatches(bytes)) {
      for (const record of batch.records) {
        const parsed = parseGroupRecord(record);
        if (parsed.kind === "group" && parsed.group === groupId) records.push(parsed.value);
      }
    }
  }
  return records;
}

describe("classic groups through the listener's API", () => {
  it("KIP-394 + join/sync: the id comes with MEMBER_ID_REQUIRED, the leader gets everyone's subscription, followers' sync waits for its assignment", async () => {
    const { leader, follower, joinA, joinB, leaderSync, followerSync } = await stableGroupOfTwo();
    expect(joinA.generationId).toBe(1);
    expect(joinB.generationId).toBe(1);
    const leaderJoin = joinA.leaderId === joinA.memberId ? joinA : joinB;
    expect(leaderJoin.members.map((m) => m.memberId).sort()).toEqual([leader, follower].sort());
    expect(leaderJoin.protocolName).toBe("range");
    expect(decodeConsumerAssignment(leaderSync.assignment).assignedPartitions).toEqual([
      { topic: "orders", partitions: [0, 1] },
    ]);
    expect(decodeConsumerAssignment(followerSync.assignment).assignedPartitions).toEqual([
      { topic: "orders", partitions: [2, 3] },
    ]);
    await handlers.classic.heartbeat({ groupId, generationId: 1, memberId: follower, groupInstanceId: null });
  });

  it("an answer goes out only once the group's record is in __consumer_offsets: generation, leader, assignments", async () => {
    const { leader } = await stableGroupOfTwo();
    const last = storedGroups().at(-1);
    expect(last).toMatchObject({
      type: "classic",
      state: "Stable",
      generationId: 1,
      leaderId: leader,
      protocolName: "range",
    });
    expect(last?.type === "classic" && last.members.every((m) => m.assignment !== "")).toBe(true);
  });

  it("brook group describe and list show classic members with their partitions decoded (gRPC)", async () => {
    const { leader, follower } = await stableGroupOfTwo();
    const { groups } = await handlers.describeGroups({ groupIds: [groupId] });
    expect(groups?.[0]).toMatchObject({
      state: "stable",
      type: "classic",
      protocolType: "consumer",
      protocolName: "range",
      generationId: 1,
    });
    const byMember = new Map(groups?.[0].members?.map((m) => [m.memberId, m]));
    expect(byMember.get(leader)).toMatchObject({
      clientId: "kafkajs",
      subscribedTopicNames: ["orders"],
      assignment: [{ topic: "orders", partitions: [0, 1] }],
    });
    expect(byMember.get(follower)?.assignment).toEqual([{ topic: "orders", partitions: [2, 3] }]);
    const listed = await handlers.listGroups();
    expect(listed.groups).toEqual([
      expect.objectContaining({
        groupId,
        state: "stable",
        members: 2,
        type: "classic",
        protocolType: "consumer",
      }),
    ]);
    expect(await handlers.classic.listGroups({ statesFilter: ["stable"] })).toEqual([
      { groupId, protocolType: "consumer", state: "Stable", type: "classic" },
    ]);
    const [described] = await handlers.classic.describeGroups([groupId]);
    expect(described).toMatchObject({ state: "Stable", protocolName: "range", type: "classic" });
    expect(described.members.find((m) => m.memberId === leader)?.assignment).toEqual(assignment([0, 1]));
  });

  it("offset commits: the same records as Brook's, read back by either API; a stale generation is refused", async () => {
    const { leader } = await stableGroupOfTwo();
    const committed = await handlers.classic.offsetCommit({
      groupId,
      generationId: 1,
      memberId: leader,
      groupInstanceId: null,
      topics: [
        {
          topic: "orders",
          partitions: [
            { partition: 0, offset: 42, leaderEpoch: 3, metadata: "m" },
            { partition: 9, offset: 1, metadata: null },
          ],
        },
      ],
    });
    expect(committed.topics[0].partitions[0].error).toBeUndefined();
    expect(committed.topics[0].partitions[1].error?.code).toBe("UNKNOWN_PARTITION");
    const viaBrook = await handlers.offsetFetch({ groupId, topics: [] });
    expect(viaBrook.topics).toEqual([
      { topic: "orders", partitions: [expect.objectContaining({ partition: 0, offset: 42, metadata: "m" })] },
    ]);
    const viaKafka = await handlers.classic.offsetFetch({
      groupId,
      topics: [{ topic: "orders", partitions: [0, 1] }],
    });
    expect(viaKafka.topics[0].partitions).toEqual([
      { partition: 0, offset: 42, leaderEpoch: 3, metadata: "m" },
      { partition: 1, offset: -1, leaderEpoch: -1, metadata: "" },
    ]);
    const stale = handlers.classic.offsetCommit({
      groupId,
      generationId: 0,
      memberId: leader,
      groupInstanceId: null,
      topics: [{ topic: "orders", partitions: [{ partition: 0, offset: 50, metadata: "" }] }],
    });
    await expect(stale).rejects.toMatchObject({ code: "ILLEGAL_GENERATION" });
    const simple = handlers.classic.offsetCommit({
      groupId,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{ topic: "orders", partitions: [{ partition: 0, offset: 50, metadata: "" }] }],
    });
    await expect(simple).rejects.toMatchObject({ code: "UNKNOWN_MEMBER_ID" });
  });

  it("a simple commit (generation -1) creates a group with only offsets; a member's commit to no group is ILLEGAL_GENERATION", async () => {
    await handlers.classic.offsetCommit({
      groupId,
      generationId: -1,
      memberId: "",
      groupInstanceId: null,
      topics: [{ topic: "orders", partitions: [{ partition: 1, offset: 7, metadata: "" }] }],
    });
    expect(await handlers.classic.listGroups()).toEqual([
      { groupId, protocolType: "consumer", state: "Empty", type: "consumer" },
    ]);
    const orphan = handlers.classic.offsetCommit({
      groupId: "nobody",
      generationId: 3,
      memberId: "m",
      groupInstanceId: null,
      topics: [],
    });
    await expect(orphan).rejects.toMatchObject({ code: "ILLEGAL_GENERATION" });
  });

  it("failover: a new coordinator replays the group; members keep their generation, their sessions restart", async () => {
    const { leader, follower } = await stableGroupOfTwo();
    clock.advance(9_000);
    coordinator.close();
    await startCoordinator();
    clock.advance(9_000); // 18 s since the last heartbeat, 9 s since the load: within the 10 s session
    coordinator.tick();
    for (const member of [leader, follower]) {
      await handlers.classic.heartbeat({ groupId, generationId: 1, memberId: member, groupInstanceId: null });
    }
    const sync = await handlers.classic.syncGroup({
      groupId,
      generationId: 1,
      memberId: follower,
      groupInstanceId: null,
      assignments: [],
    });
    expect(decodeConsumerAssignment(sync.assignment).assignedPartitions[0].partitions).toEqual([2, 3]);
  });

  it("failover mid-rebalance: waiting JoinGroups fail with NOT_COORDINATOR; the new coordinator resumes the join phase", async () => {
    const { leader, follower } = await stableGroupOfTwo();
    const waiting = handlers.classic.joinGroup(joinRequest(leader));
    await vi.waitFor(() => expect(storedGroups().at(-1)).toMatchObject({ state: "PreparingRebalance" }));
    const group = coordinator.locate(groupId).group!;
    coordinator.close();
    await expect(waiting).rejects.toMatchObject({ code: "NOT_COORDINATOR" });
    expect(group.type === "classic" && coordinator.classic.waitingCount(group)).toBe(0);
    await startCoordinator();
    await expect(
      handlers.classic.heartbeat({ groupId, generationId: 1, memberId: follower, groupInstanceId: null }),
    ).rejects.toMatchObject({ code: "REBALANCE_IN_PROGRESS" });
    const [joinLeader, joinFollower] = await Promise.all([
      handlers.classic.joinGroup(joinRequest(leader)),
      handlers.classic.joinGroup(joinRequest(follower)),
    ]);
    expect([joinLeader.generationId, joinFollower.generationId]).toEqual([2, 2]);
  });

  it("cancellation: an aborted JoinGroup stops waiting at once, and the member's session starts counting", async () => {
    const { leader, follower } = await stableGroupOfTwo();
    const connection = new AbortController();
    const waiting = handlers.classic.joinGroup(joinRequest(leader), { signal: connection.signal });
    connection.abort();
    await expect(waiting).rejects.toMatchObject({ code: "REQUEST_TIMED_OUT" });
    const group = coordinator.locate(groupId).group!;
    expect(group.type === "classic" && coordinator.classic.waitingCount(group)).toBe(0);
    clock.advance(5_000);
    await expect(
      handlers.classic.heartbeat({ groupId, generationId: 1, memberId: follower, groupInstanceId: null }),
    ).rejects.toMatchObject({ code: "REBALANCE_IN_PROGRESS" });
    clock.advance(5_001);
    coordinator.tick();
    // The leader never came back: removed after its session; the follower rejoins alone.
    const rejoined = await handlers.classic.joinGroup(joinRequest(follower));
    expect(rejoined).toMatchObject({
      generationId: 2,
      leaderId: follower,
      members: [expect.objectContaining({ memberId: follower })],
    });
  });

  it("session expiry on the coordinator's tick removes a silent member and rebalances (REBALANCE_IN_PROGRESS)", async () => {
    const { leader, follower } = await stableGroupOfTwo();
    clock.advance(6_000);
    await handlers.classic.heartbeat({ groupId, generationId: 1, memberId: leader, groupInstanceId: null });
    clock.advance(4_001);
    coordinator.tick();
    await expect(
      handlers.classic.heartbeat({ groupId, generationId: 1, memberId: leader, groupInstanceId: null }),
    ).rejects.toMatchObject({ code: "REBALANCE_IN_PROGRESS" });
    await expect(
      handlers.classic.heartbeat({ groupId, generationId: 1, memberId: follower, groupInstanceId: null }),
    ).rejects.toMatchObject({ code: "UNKNOWN_MEMBER_ID" });
  });

  it("LeaveGroup v3+: a batch of members, each with its own answer; an empty group can be deleted with its offsets", async () => {
    const { leader, follower } = await stableGroupOfTwo();
    await handlers.classic.offsetCommit({
      groupId,
      generationId: 1,
      memberId: leader,
      groupInstanceId: null,
      topics: [{ topic: "orders", partitions: [{ partition: 0, offset: 5, metadata: "" }] }],
    });
    expect((await handlers.classic.deleteGroups([groupId]))[0].error?.code).toBe("NON_EMPTY_GROUP");
    const left = await handlers.classic.leaveGroup({
      groupId,
      members: [
        { memberId: leader, groupInstanceId: null },
        { memberId: follower, groupInstanceId: null, reason: "shutting down" },
        { memberId: "stranger", groupInstanceId: null },
      ],
    });
    expect(left.members.map((m) => m.error?.code)).toEqual([undefined, undefined, "UNKNOWN_MEMBER_ID"]);
    expect(storedGroups().at(-1)).toMatchObject({ state: "Empty", generationId: 2, members: [] });
    expect(await handlers.classic.deleteGroups([groupId, "nobody"])).toEqual([
      { groupId },
      { groupId: "nobody", error: expect.objectContaining({ code: "GROUP_ID_NOT_FOUND" }) },
    ]);
    expect((await handlers.classic.offsetFetch({ groupId, topics: null })).topics).toEqual([]);
    expect(storedGroups().at(-1)).toBeNull();
  });

  it("refuses a session timeout outside the broker's range with INVALID_SESSION_TIMEOUT", async () => {
    await expect(handlers.classic.joinGroup(joinRequest("", { sessionTimeoutMs: 10 }))).rejects.toMatchObject(
      {
        code: "INVALID_SESSION_TIMEOUT",
      },
    );
  });
});

describe("one group id, one protocol at a time (docs/decisions.md)", () => {
  const brookHeartbeat = (memberEpoch: number) =>
    handlers.heartbeat(
      {
        groupId,
        memberId: "brook-member",
        memberEpoch,
        instanceId: "",
        clientId: "brook",
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 30_000,
        subscribedTopicNames: ["orders"],
        subscribedTopicRegex: "",
        ownedPartitions: [],
      },
      "127.0.0.1",
    );

  it("a Brook consumer cannot join a classic group with members: INCONSISTENT_GROUP_PROTOCOL", async () => {
    await stableGroupOfTwo();
    const answer = await brookHeartbeat(0);
    expect(answer.error?.code).toBe("INCONSISTENT_GROUP_PROTOCOL");
    expect(answer.error?.message).toMatch(/used by 2 Kafka client\(s\)/);
  });

  it("a Kafka client cannot join a group with Brook members: INCONSISTENT_GROUP_PROTOCOL", async () => {
    expect((await brookHeartbeat(0)).error?.code).toBe("");
    await expect(handlers.classic.joinGroup(joinRequest(""))).rejects.toMatchObject({
      code: "INCONSISTENT_GROUP_PROTOCOL",
      message: expect.stringMatching(/used by 1 Brook consumer/),
    });
  });

  it("once the classic members have left, the group id changes protocol and keeps its offsets", async () => {
    const { leader, follower } = await stableGroupOfTwo();
    await handlers.classic.offsetCommit({
      groupId,
      generationId: 1,
      memberId: leader,
      groupInstanceId: null,
      topics: [{ topic: "orders", partitions: [{ partition: 2, offset: 99, metadata: "" }] }],
    });
    await handlers.classic.leaveGroup({
      groupId,
      members: [leader, follower].map((memberId) => ({ memberId, groupInstanceId: null })),
    });
    const joined = await brookHeartbeat(0);
    expect(joined.error?.code).toBe("");
    expect(joined.assignment?.flatMap((t) => t.partitions).sort()).toEqual([0, 1, 2, 3]);
    const fetched = await handlers.offsetFetch({ groupId, topics: [{ topic: "orders", partitions: [2] }] });
    expect(fetched.topics?.[0].partitions?.[0].offset).toBe(99);
    const { groups } = await handlers.describeGroups({ groupIds: [groupId] });
    expect(groups?.[0]).toMatchObject({ type: "consumer", state: "stable" });
  });
});
