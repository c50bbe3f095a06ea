// Consumer groups in the SDK against the fake coordinator (fake-cluster.ts): joining, reconciling (a
// revoked partition is committed before the member reports it gone), losing partitions, committing,
// leaving, pausing, and at-least-once delivery. Each test names the rule it checks; the coordinator's log
// (heartbeats and commits in the order it took them) is the transcript most of them read.

import { BrookError } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import {
  heartbeatAnswered,
  heartbeatFailed,
  type MemberState,
  newMember,
  nextStep,
  regexMatches,
  stepDone,
  subscriptionOf,
} from "../src/consumer/member-state.js";
import type { Brook, ConsumedMessage, Consumer, ConsumerOptions, TopicPartition } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, startFake } from "./helpers.js";

let cluster: FakeCluster;
let brook: Brook;
const consumers: Consumer[] = [];

afterEach(async () => {
  for (const consumer of consumers.splice(0)) await consumer.close();
  await cluster?.stop();
});

async function setup(partitions: number) {
  cluster = await startFake();
  cluster.createTopic("log", partitions);
  brook = brookFor(cluster);
}

/** A member of group "g" that reads from the beginning and commits only when a test makes it. */
function member(options: Partial<ConsumerOptions> = {}): Consumer {
  const consumer = brook.consumer({
    groupId: "g",
    maxWaitMs: 20,
    fromBeginning: true,
    autoCommitIntervalMs: 60_000,
    ...options,
  });
  consumers.push(consumer);
  return consumer;
}

async function produce(partition: number, count: number) {
  const producer = brook.producer({ acks: 1, lingerMs: 0 });
  const messages = Array.from({ length: count }, (_, index) => ({ value: `v${index}`, partition }));
  await producer.send({ topic: "log", messages });
  await producer.close();
}

async function take(source: AsyncIterable<ConsumedMessage>, count: number): Promise<ConsumedMessage[]> {
  const messages: ConsumedMessage[] = [];
  for await (const message of source) {
    messages.push(message);
    if (messages.length === count) break;
  }
  return messages;
}

const names = (partitions: TopicPartition[]) =>
  partitions.map(({ topic, partition }) => `${topic}-${partition}`);
const coordinatorLog = () => cluster.groups.log;
/** The log from line `mark` on, without the heartbeats that change nothing (they come at any time). */
function transcriptSince(mark: number, routine: RegExp): string[] {
  return coordinatorLog()
    .slice(mark)
    .filter((line) => !routine.test(line));
}

describe("group membership", () => {
  it("joins with epoch 0 and its own member id, then reads its assignment from the committed offsets", async () => {
    await setup(2);
    await produce(0, 6);
    await produce(1, 3);
    cluster.groups.committed.set("g/log-0", 4); // log-1 has none: fromBeginning starts it at 0
    cluster.groups.assignment = ["log-0", "log-1"];
    const consumer = member();
    const assigned: string[][] = [];
    await consumer.subscribe({
      topic: "log",
      onAssigned: (partitions) => void assigned.push(names(partitions)),
    });

    expect(cluster.groups.heartbeats[0]).toMatchObject({
      groupId: "g",
      memberId: consumer.memberId,
      memberEpoch: 0,
      instanceId: "",
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 60_000,
      subscribedTopicNames: ["log"],
      subscribedTopicRegex: "",
      ownedPartitions: [],
      clientId: "brook",
    });
    const messages = await take(consumer, 5);
    expect(messages.map(({ partition, offset }) => `${partition}@${offset}`).sort()).toEqual([
      "0@4",
      "0@5",
      "1@0",
      "1@1",
      "1@2",
    ]);
    expect(assigned).toEqual([["log-0", "log-1"]]);
    expect(consumer.groupState()).toEqual({
      memberId: consumer.memberId,
      memberEpoch: 1,
      assigned: [
        { topic: "log", partition: 0 },
        { topic: "log", partition: 1 },
      ],
    });
    // Every heartbeat from then on reports both partitions as held.
    await eventually(() => coordinatorLog().at(-1)!.startsWith("heartbeat m1 epoch=1 owned=[log-0,log-1]"));
  });

  it("sends names and RegExps (sources joined with |) as its subscription", async () => {
    await setup(1);
    const consumer = member();
    await consumer.subscribe({ topics: ["log", /^audit\..*/, /metrics/] });
    expect(cluster.groups.heartbeats[0]).toMatchObject({
      subscribedTopicNames: ["log"],
      subscribedTopicRegex: "^audit\\..*|metrics",
    });
  });

  it("revokes a partition only once the handler busy with it returned: commits it, calls onRevoked, then reports it gone", async () => {
    await setup(2);
    await produce(0, 3);
    await produce(1, 3);
    cluster.groups.assignment = ["log-0", "log-1"];
    const consumer = member();
    await consumer.subscribe({
      topic: "log",
      onRevoked: (partitions) => void coordinatorLog().push(`onRevoked ${names(partitions)}`),
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let blocked = false;
    const running = consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (partition === 1 && message.offset === 1) {
          blocked = true;
          await gate;
        }
      },
    });
    await eventually(() => blocked);

    const mark = coordinatorLog().length;
    cluster.groups.assignment = ["log-0"];
    cluster.groups.bumpEpoch();
    // The coordinator asks for log-1 back; while the handler is busy the member keeps reporting it held.
    await eventually(
      () =>
        coordinatorLog()
          .slice(mark)
          .filter((line) => line.includes("assignment=[log-0]")).length >= 3,
    );
    expect(
      coordinatorLog()
        .slice(mark)
        .every((line) => line.startsWith("heartbeat m1 epoch=1 owned=[log-0,log-1]")),
    ).toBe(true);

    release();
    await eventually(() => consumer.groupState()!.memberEpoch === 2);
    expect(transcriptSince(mark, /owned=\[log-0,log-1\]|epoch=2 owned=\[log-0\]/)).toEqual([
      "commit m1 epoch=1 log-1@2", // offset 1 was handled, so the position is 2
      "onRevoked log-1",
      "heartbeat m1 epoch=1 owned=[log-0] -> epoch=2 assignment=[log-0]",
    ]);
    expect(consumer.assignments()).toEqual([{ topic: "log", partition: 0 }]);
    await consumer.stop();
    await running;
  });

  it("drops its partitions without committing when the coordinator no longer knows it, and joins again with epoch 0", async () => {
    await setup(1);
    await produce(0, 3);
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    const revoked: string[][] = [];
    await consumer.subscribe({
      topic: "log",
      onRevoked: (partitions) => void revoked.push(names(partitions)),
    });
    await take(consumer, 3);

    const mark = coordinatorLog().length;
    cluster.groups.forget(consumer.memberId!);
    await eventually(() =>
      coordinatorLog()
        .slice(mark)
        .some((line) => line.includes("epoch=0")),
    );
    await eventually(() => consumer.groupState()!.assigned.length === 1);

    expect(revoked).toEqual([["log-0"]]);
    expect(transcriptSince(mark, /^heartbeat m1 epoch=1 owned=\[log-0\] -> epoch/)).toEqual([
      "heartbeat m1 epoch=1 owned=[log-0] -> UNKNOWN_MEMBER_ID",
      "heartbeat m1 epoch=0 owned=[] -> epoch=1 assignment=[log-0]",
    ]);
    expect(cluster.groups.heartbeats.at(-1)!.memberId).toBe(consumer.memberId);
    // Nothing was committed, so the partition starts over: at-least-once.
    expect(consumer.position({ topic: "log", partition: 0 })).not.toBe(3);
  });

  it("treats its partitions as lost when no heartbeat got through for a session, and joins again", async () => {
    await setup(1);
    cluster.groups.assignment = ["log-0"];
    const consumer = member({ sessionTimeoutMs: 150 });
    const revoked: string[][] = [];
    await consumer.subscribe({
      topic: "log",
      onRevoked: (partitions) => void revoked.push(names(partitions)),
    });
    await eventually(() => consumer.assignments().length === 1);

    cluster.callErrors.set("ConsumerGroupHeartbeat", Array(10_000).fill("COORDINATOR_NOT_AVAILABLE"));
    await eventually(() => revoked.length === 1);
    expect(consumer.assignments()).toEqual([]);
    cluster.callErrors.delete("ConsumerGroupHeartbeat");
    await eventually(() => consumer.assignments().length === 1);
    expect(coordinatorLog().filter((line) => line.startsWith("commit"))).toEqual([]);
    expect(coordinatorLog().at(-1)).toMatch(/^heartbeat m1 epoch=(0 owned=\[\]|1 owned=\[log-0\])/);
  });

  it("keeps consuming while the coordinator moves or loads: it looks the coordinator up again and retries", async () => {
    await setup(1);
    await produce(0, 2);
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    await consumer.subscribe({ topic: "log" });
    await take(consumer, 1);
    const lookups = cluster.callsOf("FindCoordinator").length;

    cluster.groups.heartbeatErrors.push("NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS");
    const rest = take(consumer, 1);
    await eventually(() => cluster.groups.heartbeatErrors.length === 0);
    expect((await rest).map(({ offset }) => offset)).toEqual([1]);
    await eventually(() =>
      coordinatorLog().at(-1)!.startsWith("heartbeat m1 epoch=1 owned=[log-0] -> epoch=1"),
    );
    expect(cluster.callsOf("FindCoordinator").length).toBeGreaterThan(lookups);
    expect(consumer.groupState()!.assigned).toEqual([{ topic: "log", partition: 0 }]);
  });

  it("stops with FENCED_INSTANCE_ID when another process took its instance id: run() rejects", async () => {
    await setup(1);
    cluster.groups.assignment = ["log-0"];
    const consumer = member({ groupInstanceId: "i1" });
    await consumer.subscribe({ topic: "log" });
    await eventually(() => consumer.assignments().length === 1);
    const running = consumer.run({ eachMessage: async () => {} });

    cluster.groups.heartbeatErrors.push("FENCED_INSTANCE_ID");
    await expect(running).rejects.toMatchObject({ code: "FENCED_INSTANCE_ID" });
    await eventually(() => consumer.assignments().length === 0);
    await consumer.close();
    expect(coordinatorLog().filter((line) => /epoch=-2|^commit/.test(line))).toEqual([]);
  });
});

describe("group commits", () => {
  it("auto-commits every autoCommitIntervalMs, sending only partitions whose position moved", async () => {
    await setup(2);
    await produce(0, 4);
    cluster.groups.assignment = ["log-0", "log-1"];
    const consumer = member({ autoCommitIntervalMs: 30 });
    await consumer.subscribe({ topic: "log" });
    await take(consumer, 4);
    await eventually(() => cluster.groups.committed.get("g/log-0") === 4);
    const commits = () => coordinatorLog().filter((line) => line.startsWith("commit"));
    await eventually(() => cluster.groups.committed.get("g/log-1") === 0);
    const settled = commits().length;
    const heartbeats = coordinatorLog().length;
    // Several intervals pass (heartbeats come every 20 ms); nothing moved, so nothing is sent.
    await eventually(() => coordinatorLog().length >= heartbeats + 6);
    expect(commits()).toHaveLength(settled);

    await produce(1, 2);
    await take(consumer, 2);
    await eventually(() => cluster.groups.committed.get("g/log-1") === 2);
    expect(commits().at(-1)).toBe("commit m1 epoch=1 log-1@2");
  });

  it("sends a commit refused with STALE_MEMBER_EPOCH again after the next heartbeat", async () => {
    await setup(1);
    await produce(0, 2);
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    await consumer.subscribe({ topic: "log" });
    await take(consumer, 2);

    const mark = coordinatorLog().length;
    cluster.groups.commitErrors.push("STALE_MEMBER_EPOCH");
    await consumer.commit();
    const after = coordinatorLog().slice(mark);
    // Routine heartbeats come at any time, before and after the commits too; one must come between them.
    const commitLines = after.filter((line) => line.startsWith("commit"));
    expect(commitLines).toEqual([
      "commit m1 epoch=1 log-0@2 -> STALE_MEMBER_EPOCH",
      "commit m1 epoch=1 log-0@2",
    ]);
    const between = after.slice(after.indexOf(commitLines[0]) + 1, after.indexOf(commitLines[1]));
    expect(between.some((line) => line.startsWith("heartbeat"))).toBe(true);
  });

  it("commit(offsets) commits exactly what it is given; seek() moves what the next commit stores", async () => {
    await setup(1);
    await produce(0, 5);
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    await consumer.subscribe({ topic: "log" });
    await eventually(() => consumer.assignments().length === 1);

    await consumer.commitOffsets([{ topic: "log", partition: 0, offset: 2 }]);
    expect(cluster.groups.committed.get("g/log-0")).toBe(2);
    consumer.seek({ topic: "log", partition: 0, offset: 4 });
    await consumer.commit();
    expect(cluster.groups.committed.get("g/log-0")).toBe(4);
  });

  it("a group consumer that assigns partitions itself starts at the committed offset and commits as standalone", async () => {
    await setup(1);
    await produce(0, 5);
    cluster.groups.committed.set("g/log-0", 3);
    const consumer = member();
    await consumer.assign([{ topic: "log", partition: 0 }]);

    expect((await take(consumer, 2)).map(({ offset }) => offset)).toEqual([3, 4]);
    await consumer.commit();
    expect(coordinatorLog().at(-1)).toBe("commit standalone epoch=-1 log-0@5");
    await expect(consumer.subscribe({ topic: "log" })).rejects.toThrow(/assigned partitions itself/);
  });

  it("for await: the message being processed is not committed, and a revocation waits for the loop to ask for the next", async () => {
    await setup(1);
    await produce(0, 5);
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    const revoked: string[][] = [];
    await consumer.subscribe({
      topic: "log",
      onRevoked: (partitions) => void revoked.push(names(partitions)),
    });
    const iterator = consumer[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    expect((await iterator.next()).value.offset).toBe(2); // the loop body is "processing" offset 2

    await consumer.commit();
    expect(cluster.groups.committed.get("g/log-0")).toBe(2);

    const mark = coordinatorLog().length;
    cluster.groups.assignment = [];
    cluster.groups.bumpEpoch();
    await eventually(
      () =>
        coordinatorLog()
          .slice(mark)
          .filter((line) => line.includes("assignment=[]")).length >= 3,
    );
    expect(revoked).toEqual([]);
    expect(transcriptSince(mark, /^heartbeat m1 epoch=1 owned=\[log-0\]/)).toEqual([]);

    const next = iterator.next(); // offset 2 is done
    await eventually(() => revoked.length === 1);
    expect(transcriptSince(mark, /owned=\[log-0\]|owned=\[\] -> epoch=2/)).toEqual([
      "commit m1 epoch=1 log-0@3",
    ]);
    await consumer.stop();
    expect((await next).done).toBe(true);
  });
});

describe("leaving", () => {
  it("close() commits what was handled, calls onRevoked, then leaves with epoch -1", async () => {
    await setup(1);
    await produce(0, 3);
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    await consumer.subscribe({
      topic: "log",
      onRevoked: (partitions) => void coordinatorLog().push(`onRevoked ${names(partitions)}`),
    });
    await take(consumer, 3);

    const mark = coordinatorLog().length;
    await consumer.close();
    expect(transcriptSince(mark, /^heartbeat m1 epoch=1 /)).toEqual([
      "commit m1 epoch=1 log-0@3",
      "onRevoked log-0",
      "heartbeat m1 epoch=-1 owned=[]",
    ]);
    expect(cluster.groups.members.size).toBe(0);
  });

  it("close() of a static member (groupInstanceId) leaves with epoch -2", async () => {
    await setup(1);
    cluster.groups.assignment = ["log-0"];
    const consumer = member({ groupInstanceId: "i1" });
    await consumer.subscribe({ topic: "log" });
    await eventually(() => consumer.assignments().length === 1);

    await consumer.close();
    expect(cluster.groups.heartbeats.every(({ instanceId }) => instanceId === "i1")).toBe(true);
    expect(coordinatorLog().at(-1)).toBe("heartbeat m1 epoch=-2 owned=[]");
  });

  it("close() called from inside eachMessage does not wait for itself, and commits up to that message", async () => {
    await setup(1);
    await produce(0, 5);
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    await consumer.subscribe({ topic: "log" });
    let closing: Promise<void> | undefined;
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.offset === 2) {
          closing = consumer.close();
          await closing;
        }
      },
    });
    await closing;
    expect(cluster.groups.committed.get("g/log-0")).toBe(2);
    expect(coordinatorLog().at(-1)).toBe("heartbeat m1 epoch=-1 owned=[]");
  });
});

describe("pause and resume", () => {
  it("a paused partition is not fetched and its messages are held back, mid-batch too; resume() hands them out in order", async () => {
    await setup(2);
    await produce(0, 4);
    await produce(1, 4);
    const consumer = brook.consumer({ maxWaitMs: 20 });
    consumers.push(consumer);
    await consumer.assign([
      { topic: "log", partition: 0, offset: 0 },
      { topic: "log", partition: 1, offset: 0 },
    ]);
    const seen: string[] = [];
    let paused = false;
    const running = consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push(`${partition}@${message.offset}`);
        if (partition === 0 && message.offset === 1 && !paused) {
          paused = true;
          consumer.pause([{ topic: "log", partitions: [0] }]);
        }
      },
    });
    const of = (partition: number) => seen.filter((entry) => entry.startsWith(`${partition}@`));
    await eventually(() => paused && of(1).length === 4);
    expect(consumer.paused()).toEqual([{ topic: "log", partitions: [0] }]);

    const mark = cluster.callsOf("Fetch").length;
    await eventually(() => cluster.callsOf("Fetch").length >= mark + 4);
    // The first fetch after the mark may have been sent before the pause.
    const partitionsFetched = cluster
      .callsOf("Fetch")
      .slice(mark + 1)
      .flatMap(({ request }) =>
        (request as { topics: { partitions: { partition: number }[] }[] }).topics.flatMap((topic) =>
          topic.partitions.map(({ partition }) => partition),
        ),
      );
    expect(partitionsFetched).not.toContain(0);
    expect(of(0)).toEqual(["0@0", "0@1"]);

    consumer.resume([{ topic: "log", partitions: [0] }]);
    await eventually(() => of(0).length === 4);
    expect(of(0)).toEqual(["0@0", "0@1", "0@2", "0@3"]);
    expect(consumer.paused()).toEqual([]);
    await consumer.stop();
    await running;
  });

  it("pausing a whole topic also pauses partitions the group assigns later", async () => {
    await setup(2);
    cluster.groups.assignment = ["log-0"];
    const consumer = member();
    consumer.pause([{ topic: "log" }]);
    await consumer.subscribe({ topic: "log" });
    await eventually(() => consumer.assignments().length === 1);
    expect(consumer.paused()).toEqual([{ topic: "log", partitions: [0] }]);
    cluster.groups.assignment = ["log-0", "log-1"];
    cluster.groups.bumpEpoch();
    await eventually(() => consumer.assignments().length === 2);
    expect(consumer.paused()).toEqual([{ topic: "log", partitions: [0, 1] }]);
    consumer.resume([{ topic: "log" }]);
    expect(consumer.paused()).toEqual([]);
  });
});

describe("member-state: the member's decisions, no I/O", () => {
  const p = (partition: number) => ({ topic: "log", partition });
  const answer = (memberEpoch: number, partitions: number[]) => ({
    error: null,
    memberId: "",
    memberEpoch,
    heartbeatIntervalMs: 0,
    assignment: [{ topic: "log", partitions }],
  });
  const step = (member: MemberState) => {
    const next = nextStep(member);
    return next.kind === "idle" ? "idle" : `${next.kind} ${names(next.partitions)}`;
  };

  it("reconciles one step at a time: revoke before assign, then hold exactly the assignment", () => {
    let member = heartbeatAnswered(newMember("m", 500), answer(1, [0, 1, 2]));
    expect(member).toMatchObject({ memberId: "m", memberEpoch: 1, heartbeatIntervalMs: 500 });
    expect(step(member)).toBe("assign log-0,log-1,log-2");
    member = stepDone(member, nextStep(member));
    expect(step(member)).toBe("idle");

    // The coordinator moves log-2 elsewhere and gives log-3: revoking comes first.
    member = heartbeatAnswered(member, answer(1, [0, 1, 3]));
    expect(step(member)).toBe("revoke log-2");
    member = stepDone(member, nextStep(member));
    expect(step(member)).toBe("assign log-3");
    member = stepDone(member, nextStep(member));
    expect(member.held).toEqual([p(0), p(1), p(3)]);
    expect(step(member)).toBe("idle");
  });

  it("loses everything on UNKNOWN_MEMBER_ID or FENCED_MEMBER_EPOCH, then starts over at epoch 0", () => {
    const member = stepDone(heartbeatAnswered(newMember("m", 500), answer(3, [0, 1])), {
      kind: "assign",
      partitions: [p(0), p(1)],
    });
    for (const code of ["UNKNOWN_MEMBER_ID", "FENCED_MEMBER_EPOCH"] as const) {
      const failed = heartbeatFailed(member, new BrookError(code), 0, 10_000);
      expect(failed.action).toBe("lose");
      expect(step(failed.member)).toBe("lose log-0,log-1");
      expect(stepDone(failed.member, nextStep(failed.member))).toMatchObject({
        memberId: "m",
        memberEpoch: 0,
        held: [],
        lost: false,
      });
    }
  });

  it("retries coordinator errors, loses its partitions once a session passed without an answer, and stops on FENCED_INSTANCE_ID", () => {
    const member = stepDone(heartbeatAnswered(newMember("m", 500), answer(1, [0])), {
      kind: "assign",
      partitions: [p(0)],
    });
    const action = (code: BrookError["code"], silentForMs = 0) =>
      heartbeatFailed(member, new BrookError(code), silentForMs, 10_000).action;
    expect(action("NOT_COORDINATOR")).toBe("retry");
    expect(action("COORDINATOR_LOAD_IN_PROGRESS")).toBe("retry");
    expect(action("REQUEST_TIMED_OUT")).toBe("retry");
    expect(action("BROKER_NOT_AVAILABLE", 10_000)).toBe("lose");
    expect(action("FENCED_INSTANCE_ID")).toBe("fatal");
    expect(action("INVALID_GROUP_ID")).toBe("fatal");
    // A member with nothing to lose backs off instead of spinning through lose steps.
    expect(heartbeatFailed(newMember("m", 500), new BrookError("UNKNOWN_MEMBER_ID"), 0, 10_000).action).toBe(
      "retry",
    );
  });

  it("sends names sorted and RegExp sources joined with |, matched as the coordinator matches them", () => {
    expect(subscriptionOf(["b", /^a\d+/, "a", /c|d/, "b"])).toEqual({
      names: ["a", "b"],
      regex: "^a\\d+|c|d",
    });
    expect(regexMatches("log|audit", "log")).toBe(true);
    expect(regexMatches("log", "logs")).toBe(false); // whole names only
    expect(regexMatches("__.*", "__consumer_offsets")).toBe(false); // internal topics never match
  });
});
