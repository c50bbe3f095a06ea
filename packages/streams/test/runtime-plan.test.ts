// The runtime's pure decisions: which topics an application reads and creates and how many partitions
// each gets, which tasks a set of partitions makes, where standby copies go, and the metadata an
// instance publishes.
import { describe, expect, it } from "vitest";
import {
  decodeInstanceMetadata,
  encodeInstanceMetadata,
  type InstanceMetadata,
  Materialized,
  planInternalTopics,
  Serdes,
  StreamsBuilder,
  subtopologiesOf,
  TimeWindows,
} from "../src/index.js";
import { inputTopics } from "../src/runtime/internal-topics.js";
import { standbyTasksFor } from "../src/runtime/standby-placement.js";
import { tasksOf } from "../src/runtime/task-id.js";

const strings = { keySerde: Serdes.String(), valueSerde: Serdes.String() };

/** lines → words (repartitioned by word) → windowed count; plus a table of users with its own store. */
function wordCountTopology() {
  const builder = new StreamsBuilder();
  builder
    .stream<string, string>("lines", strings)
    .flatMapValues((line) => line.split(" "))
    .groupBy((_key, word) => word, { ...strings, name: "words" })
    .windowedBy(TimeWindows.ofSizeWithNoGrace(60_000))
    .count(Materialized.as("word-counts"));
  builder.table<string, string>("users", strings);
  return builder.build();
}

describe("internal topics", () => {
  const subtopologies = subtopologiesOf(wordCountTopology(), "wc");

  it("splits at the repartition topic and names topics on the cluster", () => {
    expect(subtopologies.map((sub) => sub.sourceTopics)).toEqual([
      ["lines"],
      ["wc-words-repartition"],
      ["users"],
    ]);
    expect(subtopologies[0]?.repartitionSinks).toEqual(["wc-words-repartition"]);
    expect(inputTopics(subtopologies)).toEqual(["lines", "users"]);
  });

  it("sizes repartition topics by their writer's sources and changelogs by their store's sources", () => {
    const plan = planInternalTopics(
      "wc",
      subtopologies,
      new Map([
        ["lines", 6],
        ["users", 3],
      ]),
    );
    const byName = new Map(plan.map((topic) => [topic.name, topic]));
    expect(byName.get("wc-words-repartition")).toMatchObject({ kind: "repartition", partitions: 6 });
    expect(byName.get("wc-word-counts-changelog")).toMatchObject({
      kind: "changelog",
      partitions: 6,
      configs: { "cleanup.policy": "compact,delete", "retention.ms": String(60_000 + 86_400_000) },
    });
    const tableStore = [...byName.values()].find((topic) => topic.name.startsWith("wc-users-STATE-STORE"));
    expect(tableStore).toMatchObject({ partitions: 3, configs: { "cleanup.policy": "compact" } });
  });
});

describe("tasks and standbys", () => {
  const subtopologies = subtopologiesOf(wordCountTopology(), "wc");
  const assigned = (topic: string, ...partitions: number[]) =>
    partitions.map((partition) => ({ topic, partition }));

  it("makes one task per sub-topology and partition", () => {
    const tasks = tasksOf(
      [...assigned("lines", 0, 1), ...assigned("wc-words-repartition", 1)],
      subtopologies,
    );
    expect(tasks).toEqual([
      { subtopology: 0, partition: 0 },
      { subtopology: 0, partition: 1 },
      { subtopology: 1, partition: 1 },
    ]);
  });

  it("puts a stateful task's copies on the next members of the ring, never on its owner", () => {
    const members = [
      { memberId: "b", assignment: assigned("wc-words-repartition", 1) },
      { memberId: "a", assignment: assigned("wc-words-repartition", 0) },
      { memberId: "c", assignment: [...assigned("wc-words-repartition", 2), ...assigned("lines", 0)] },
    ];
    const names = (memberId: string, copies: number) =>
      standbyTasksFor(memberId, members, subtopologies, copies).map(
        (id) => `${id.subtopology}_${id.partition}`,
      );
    expect(names("b", 1)).toEqual(["1_0"]); // a's task; c's stateless 0_0 gets no copy
    expect(names("c", 1)).toEqual(["1_1"]);
    expect(names("a", 1)).toEqual(["1_2"]);
    expect(names("a", 5)).toEqual(["1_1", "1_2"]); // capped at the other members
    expect(names("a", 0)).toEqual([]);
    expect(names("unknown", 1)).toEqual([]);
  });
});

describe("instance metadata", () => {
  const metadata: InstanceMetadata = {
    version: 1,
    processId: "p",
    endpoint: "127.0.0.1:7070",
    active: ["0_0"],
    standby: ["0_1"],
    stores: [{ task: "0_0", store: "counts", entries: 3 }],
    restoring: [],
    truncated: false,
  };

  it("round-trips, and refuses what is not an instance's", () => {
    expect(decodeInstanceMetadata(encodeInstanceMetadata(metadata))).toEqual(metadata);
    expect(decodeInstanceMetadata(Buffer.from("not json"))).toBeUndefined();
    expect(decodeInstanceMetadata(Buffer.from('{"version":2,"processId":"p"}'))).toBeUndefined();
    expect(decodeInstanceMetadata(undefined)).toBeUndefined();
  });

  it("cuts the store detail to stay within 8 KiB", () => {
    const stores = Array.from({ length: 1_000 }, (_, i) => ({ task: `0_${i}`, store: "counts", entries: i }));
    const encoded = encodeInstanceMetadata({ ...metadata, stores });
    expect(encoded.length).toBeLessThanOrEqual(8 * 1024);
    expect(decodeInstanceMetadata(encoded)).toMatchObject({ truncated: true, stores: [], active: ["0_0"] });
  });
});

describe("co-partitioning", () => {
  /** orders re-keyed by customer (a repartition topic) joined with the customers table. */
  function rekeyedJoin() {
    const builder = new StreamsBuilder();
    const customers = builder.table<string, string>("customers", strings);
    builder
      .stream<string, string>("orders", strings)
      .selectKey((_key, value) => value)
      .join(customers, (order, region) => `${order}/${region}`)
      .to("enriched", strings);
    return subtopologiesOf(builder.build(), "shop");
  }

  it("sizes a repartition topic joined with a table after the table, not after its writer", () => {
    const plan = planInternalTopics(
      "shop",
      rekeyedJoin(),
      new Map([
        ["orders", 8],
        ["customers", 3],
      ]),
    );
    const repartition = plan.find((topic) => topic.kind === "repartition");
    expect(repartition?.partitions).toBe(3);
    expect(plan.filter((topic) => topic.kind === "changelog").map((topic) => topic.partitions)).toEqual([3]);
  });

  it("refuses to join input topics with different partition counts", () => {
    const builder = new StreamsBuilder();
    const table = builder.table<string, string>("right", strings);
    builder
      .stream<string, string>("left", strings)
      .join(table, (a, b) => a + b)
      .to("out", strings);
    const subtopologies = subtopologiesOf(builder.build(), "j");
    expect(() =>
      planInternalTopics(
        "j",
        subtopologies,
        new Map([
          ["left", 4],
          ["right", 6],
        ]),
      ),
    ).toThrow("topics joined must have as many partitions each, and right (6), left (4) do not");
  });
});
