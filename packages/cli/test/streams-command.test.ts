// `brook streams describe` assembles an application's view from the group's description, its lag and each
// member's instance metadata, with no I/O: each test names what an operator must be able to read off it.
import type { PartitionLag } from "@brook/client";
import { encodeInstanceMetadata, type InstanceMetadata } from "@brook/streams";
import type { Command } from "@commander-js/extra-typings";
import { describe, expect, it } from "vitest";
import {
  describeStreams,
  type StreamsGroupInput,
  type StreamsMemberInput,
  streamsCommand,
  streamsReport,
} from "../src/commands/streams.js";

function metadata(overrides: Partial<InstanceMetadata>): Buffer {
  return encodeInstanceMetadata({
    version: 1,
    processId: "p",
    endpoint: null,
    active: [],
    standby: [],
    stores: [],
    restoring: [],
    truncated: false,
    ...overrides,
  });
}

function lagOf(topic: string, partition: number, committedOffset: number, end: number): PartitionLag {
  return {
    topic,
    partition,
    committedOffset,
    logEndOffset: end,
    lag: committedOffset < 0 ? null : end - committedOffset,
  };
}

const repartition = "wc-counts-repartition";

/** Two instances of a two-sub-topology app over two partitions: 0_p reads in-p, 1_p the repartition topic. */
const alice: StreamsMemberInput = {
  memberId: "aaaaaaaa-1111",
  clientId: "wc-client",
  clientHost: "/10.0.0.1",
  assignment: [
    { topic: "in", partition: 0 },
    { topic: repartition, partition: 0 },
  ],
  metadata: metadata({
    processId: "alice",
    endpoint: "10.0.0.1:7070",
    active: ["1_0", "0_0"],
    standby: ["1_1"],
    stores: [{ task: "1_0", store: "counts", entries: 42 }],
    restoring: [{ task: "1_0", store: "counts", restored: 30, total: 100 }],
  }),
};
const bob: StreamsMemberInput = {
  memberId: "bbbbbbbb-2222",
  clientId: "wc-client",
  clientHost: "/10.0.0.2",
  assignment: [
    { topic: repartition, partition: 1 },
    { topic: "in", partition: 1 },
  ],
  metadata: metadata({
    processId: "bob",
    endpoint: "10.0.0.2:7070",
    active: ["0_1", "1_1"],
    stores: [{ task: "1_1", store: "counts", entries: 7 }],
  }),
};
const group: StreamsGroupInput = {
  groupId: "wc",
  state: "stable",
  assignor: "range",
  members: [alice, bob],
};
const lag = {
  partitions: [
    lagOf("in", 0, 10, 15),
    lagOf("in", 1, 3, 3),
    lagOf(repartition, 0, 4, 6),
    lagOf(repartition, 1, -1, 0),
  ],
};

describe("streams describe: the view", () => {
  const view = describeStreams(group, lag);

  it("names the application, its state, its instances and the assignor", () => {
    expect(view).toMatchObject({ applicationId: "wc", state: "stable", assignor: "range", totalLag: 7 });
    expect(view.instances.map((each) => [each.processId, each.endpoint, each.active, each.standby])).toEqual([
      ["alice", "10.0.0.1:7070", ["0_0", "1_0"], ["1_1"]],
      ["bob", "10.0.0.2:7070", ["0_1", "1_1"], []],
    ]);
  });

  it("gives each task the partitions numbered like it that its instance holds, their lag, stores and restores", () => {
    const rows = view.tasks.map((each) => ({
      task: each.task,
      standby: each.standby,
      member: each.memberId,
      partitions: each.partitions.map((p) => `${p.topic}-${p.partition}`),
      lag: each.lag,
    }));
    expect(rows).toEqual([
      {
        task: "0_0",
        standby: false,
        member: alice.memberId,
        partitions: ["in-0", `${repartition}-0`],
        lag: 7,
      },
      { task: "0_1", standby: false, member: bob.memberId, partitions: ["in-1", `${repartition}-1`], lag: 0 },
      {
        task: "1_0",
        standby: false,
        member: alice.memberId,
        partitions: ["in-0", `${repartition}-0`],
        lag: 7,
      },
      { task: "1_1", standby: false, member: bob.memberId, partitions: ["in-1", `${repartition}-1`], lag: 0 },
      { task: "1_1", standby: true, member: alice.memberId, partitions: [], lag: null },
    ]);
    const task10 = view.tasks[2];
    expect(task10.sharesPartitionsWith).toEqual(["0_0"]);
    expect(task10.stores).toEqual([{ store: "counts", entries: 42 }]);
    expect(task10.restoring).toEqual([{ store: "counts", restored: 30, total: 100 }]);
    // A partition with nothing committed has no lag of its own ("-"), and counts for nothing in the sum.
    expect(view.tasks[1].partitions[1]).toMatchObject({ committedOffset: -1, lag: null });
  });

  it("gives each task exactly its sub-topology's partitions when the instance names its topics", () => {
    const named = (member: StreamsMemberInput): StreamsMemberInput => ({
      ...member,
      metadata: Buffer.from(
        JSON.stringify({
          ...JSON.parse(member.metadata!.toString()),
          subtopologies: [["in"], [repartition]],
        }),
      ),
    });
    const exact = describeStreams({ ...group, members: [named(alice), named(bob)] }, lag);
    const rows = exact.tasks
      .filter((each) => !each.standby)
      .map((each) => [
        each.task,
        each.partitions.map((p) => `${p.topic}-${p.partition}`),
        each.lag,
        each.sharesPartitionsWith,
      ]);
    expect(rows).toEqual([
      ["0_0", ["in-0"], 5, []],
      ["0_1", ["in-1"], 0, []],
      ["1_0", [`${repartition}-0`], 2, []],
      ["1_1", [`${repartition}-1`], null, []],
    ]);
  });

  it("prints a header, an instances table and a tasks table", () => {
    const report = streamsReport(view);
    expect(report.header).toBe("application wc: stable, 2 instance(s), assignor range");
    expect(report.instances.rows).toEqual([
      ["aaaaaaaa…", "/10.0.0.1", "10.0.0.1:7070", "0_0,1_0", "1_1"],
      ["bbbbbbbb…", "/10.0.0.2", "10.0.0.2:7070", "0_1,1_1", "-"],
    ]);
    expect(report.tasks.head).toEqual([
      "task",
      "instance",
      "partitions",
      "stores (entries)",
      "restoring",
      "lag",
    ]);
    expect(report.tasks.rows[2]).toEqual([
      "1_0",
      "aaaaaaaa…",
      `in-0,${repartition}-0`,
      "counts=42",
      "counts 30/100",
      "7",
    ]);
    expect(report.tasks.rows[4]).toEqual(["1_1 (standby)", "aaaaaaaa…", "-", "-", "-", "-"]);
    expect(report.footer).toEqual(["total lag: 7"]);
  });
});

describe("streams describe: members that are not instances", () => {
  it("shows a plain consumer (no metadata, or metadata that is not an instance's) with '-' columns", () => {
    const plain: StreamsMemberInput = {
      memberId: "cccccccc-3333",
      clientId: "someone",
      clientHost: "/10.0.0.3",
      assignment: [
        { topic: "in", partition: 2 },
        { topic: "in", partition: 3 },
      ],
    };
    const odd = { ...plain, memberId: "dddddddd-4444", assignment: [], metadata: Buffer.from("{not json") };
    const view = describeStreams(
      { groupId: "wc", state: "stable", members: [plain, odd] },
      { partitions: [lagOf("in", 2, 0, 5), lagOf("in", 3, -1, 1)] },
    );
    expect(view.assignor).toBeNull();
    expect(view.instances.map((each) => [each.hasMetadata, each.active, each.endpoint])).toEqual([
      [false, null, null],
      [false, null, null],
    ]);
    // Its partitions still show, one row per partition number, without a task.
    expect(view.tasks.map((each) => [each.task, each.partition, each.lag])).toEqual([
      [null, 2, 5],
      [null, 3, null],
    ]);
    const report = streamsReport(view);
    expect(report.header).toBe("application wc: stable, 2 instance(s), assignor -");
    expect(report.instances.rows[0]).toEqual(["cccccccc…", "/10.0.0.3", "-", "-", "-"]);
    expect(report.tasks.rows).toEqual([
      ["-", "cccccccc…", "in-2", "-", "-", "5"],
      ["-", "cccccccc…", "in-3", "-", "-", "-"],
    ]);
  });

  it("shows a task whose partitions its instance no longer holds (metadata behind the assignment) without them", () => {
    const stale = { ...alice, assignment: [] };
    const view = describeStreams({ ...group, members: [stale] }, lag);
    const task00 = view.tasks.find((each) => each.task === "0_0");
    expect(task00).toMatchObject({ partitions: [], lag: null });
  });

  it("lists partitions with committed offsets that no instance holds (an application with no instance running)", () => {
    const view = describeStreams({ groupId: "wc", state: "empty", members: [] }, lag);
    expect(view.instances).toEqual([]);
    expect(view.tasks).toEqual([]);
    expect(view.unassigned.map((p) => `${p.topic}-${p.partition}`)).toEqual([
      "in-0",
      "in-1",
      `${repartition}-0`,
      `${repartition}-1`,
    ]);
    expect(streamsReport(view).footer).toEqual([
      `unassigned (committed offsets, no instance holds them): in-0 lag 5, in-1 lag 0, ${repartition}-0 lag 2, ${repartition}-1 lag -`,
      "total lag: 7",
    ]);
  });

  it("says when an instance cut its store list to fit", () => {
    const cut = { ...bob, metadata: metadata({ active: ["0_1"], truncated: true }) };
    const report = streamsReport(describeStreams({ ...group, members: [cut] }, lag));
    expect(report.tasks.rows[0][3]).toBe("(not sent: metadata cut)");
  });

  it("sorts tasks by sub-topology, then partition as a number", () => {
    const many = {
      ...alice,
      assignment: [],
      metadata: metadata({ active: ["1_0", "0_10", "0_2", "10_0"] }),
    };
    const view = describeStreams({ ...group, members: [many] }, { partitions: [] });
    expect(view.tasks.map((each) => each.task)).toEqual(["0_2", "0_10", "1_0", "10_0"]);
  });
});

describe("streams describe: the command line", () => {
  it("takes exactly one application id", async () => {
    const command = streamsCommand();
    for (const each of [command, ...command.commands]) {
      each.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    }
    await expect((command as Command).parseAsync(["describe"], { from: "user" })).rejects.toThrow(
      /missing required argument 'applicationId'/,
    );
  });
});
