// Stream-stream joins through the driver: window boundaries, before/after, duplicates, grace and late
// records, when left and outer joins emit unmatched records, the stores and their names, restore from the
// changelogs, and the repartition topic a key change puts before the join.

import { describe, expect, it } from "vitest";
import {
  JoinWindows,
  Serdes,
  type StreamJoined,
  StreamsBuilder,
  TopologyError,
  TopologyTestDriver,
  type TopologyTestDriverConfig,
} from "../src/index.js";
import { strings } from "./helpers.js";

const S = Serdes.String();
type Kind = "join" | "leftJoin" | "outerJoin";

function joinTopology(kind: Kind, windows: JoinWindows, streamJoined?: StreamJoined<string, string, string>) {
  const builder = new StreamsBuilder();
  const left = builder.stream<string, string>("left", strings);
  const right = builder.stream<string, string>("right", strings);
  const joiner = (l: string | null, r: string | null) => `${l}+${r}`;
  const joined =
    kind === "join"
      ? left.join(right, joiner, windows, streamJoined)
      : kind === "leftJoin"
        ? left.leftJoin(right, joiner, windows, streamJoined)
        : left.outerJoin(right, joiner, windows, streamJoined);
  joined.to("out", { valueSerde: S });
  return builder.build();
}

function joinDriver(kind: Kind, windows: JoinWindows, config: Partial<TopologyTestDriverConfig> = {}) {
  const driver = new TopologyTestDriver(joinTopology(kind, windows), { applicationId: "app", ...config });
  const out = driver.createOutputTopic("out", S, S);
  return {
    driver,
    left: driver.createInputTopic("left", S, S),
    right: driver.createInputTopic("right", S, S),
    read: () => out.readRecordsToList().map(({ key, value, timestamp }) => [key, value, timestamp]),
  };
}

describe("JoinWindows", () => {
  it("is symmetric from ofTimeDifference*, and before/after move one bound; a negative span is refused", () => {
    const windows = JoinWindows.ofTimeDifferenceAndGrace(10, 3);
    expect([windows.beforeMs, windows.afterMs, windows.graceMs, windows.sizeMs]).toEqual([10, 10, 3, 20]);
    const shifted = windows.before(5).after(20);
    expect([shifted.beforeMs, shifted.afterMs, shifted.graceMs]).toEqual([5, 20, 3]);
    expect(JoinWindows.ofTimeDifferenceWithNoGrace(10).before(-10).sizeMs).toBe(0);
    expect(() => JoinWindows.ofTimeDifferenceWithNoGrace(10).before(-11)).toThrow(TopologyError);
    expect(() => JoinWindows.ofTimeDifferenceWithNoGrace(-1)).toThrow(TopologyError);
    expect(() => JoinWindows.ofTimeDifferenceAndGrace(1, 1.5)).toThrow(TopologyError);
  });
});

describe("KStream.join(KStream, JoinWindows)", () => {
  it("joins records of a key within the time difference either way, at the later timestamp; the bounds are inclusive", () => {
    const { left, right, read } = joinDriver("join", JoinWindows.ofTimeDifferenceWithNoGrace(10));
    left.pipeInput("a", "L1", 100);
    right.pipeInput("a", "R1", 90); // 10 before: joins
    right.pipeInput("a", "R2", 110); // 10 after: joins
    right.pipeInput("a", "R3", 111); // 11 after: no
    right.pipeInput("b", "Rb", 105); // another key: no
    left.pipeInput("a", "L2", 101); // R2 (9 after) and R3 (10 after), not R1 (11 before)
    expect(read()).toEqual([
      ["a", "L1+R1", 100],
      ["a", "L1+R2", 110],
      ["a", "L2+R2", 110],
      ["a", "L2+R3", 111],
    ]);
  });

  it("before() and after() bound each side's window separately", () => {
    const windows = JoinWindows.ofTimeDifferenceAndGrace(0, 1_000).before(5).after(20);
    const { left, right, read } = joinDriver("join", windows);
    // A left record at t takes right records in [t - 5, t + 20].
    left.pipeInput("a", "L", 100);
    for (const t of [94, 95, 120, 121]) right.pipeInput("a", `r${t}`, t);
    // A right record at t takes left records in [t - 20, t + 5].
    right.pipeInput("b", "R", 200);
    for (const t of [179, 180, 205, 206]) left.pipeInput("b", `l${t}`, t);
    expect(read()).toEqual([
      ["a", "L+r95", 100],
      ["a", "L+r120", 120],
      ["b", "l180+R", 200],
      ["b", "l205+R", 205],
    ]);
  });

  it("keeps every record of one key and timestamp: each side's window store holds a list", () => {
    const { driver, left, right, read } = joinDriver("join", JoinWindows.ofTimeDifferenceWithNoGrace(10));
    left.pipeInput("a", "x1", 5);
    left.pipeInput("a", "x2", 5);
    right.pipeInput("a", "y1", 5);
    right.pipeInput("a", "y2", 5);
    expect(read().map(([, value]) => value)).toEqual(["x1+y1", "x2+y1", "x1+y2", "x2+y2"]);
    const leftStore = driver.getWindowStore<string, string[]>("KSTREAM-JOINTHIS-0000000004-store");
    expect(leftStore.fetch("a", 0, 100)).toEqual([
      { key: { key: "a", window: { start: 5, end: 25 } }, value: ["x1", "x2"] },
    ]);
    const rightStore = driver.getWindowStore<string, string[]>("KSTREAM-JOINOTHER-0000000005-store");
    expect(rightStore.all().map(({ value }) => value)).toEqual([["y1", "y2"]]);
  });

  it("without grace, drops (and counts) a record whose window ended before stream time", () => {
    const { driver, left, right, read } = joinDriver("join", JoinWindows.ofTimeDifferenceWithNoGrace(10));
    left.pipeInput("a", "L", 100);
    left.pipeInput("z", "Lz", 120); // stream time 120
    right.pipeInput("a", "on-time", 110); // window [100, 120] ends at stream time: joins
    right.pipeInput("a", "late", 109); // window ended at 119
    left.pipeInput("a", "late-left", 109);
    expect(read()).toEqual([["a", "L+on-time", 110]]);
    expect(driver.metrics.dropped.late).toBe(2);
    const rightStore = driver.getWindowStore<string, string[]>("KSTREAM-JOINOTHER-0000000005-store");
    expect(rightStore.fetch("a", 0, 200).map(({ value }) => value)).toEqual([["on-time"]]);
  });

  it("with grace, takes out-of-order records until their window's end plus grace", () => {
    const { driver, left, right, read } = joinDriver("join", JoinWindows.ofTimeDifferenceAndGrace(10, 5));
    left.pipeInput("a", "L", 100);
    left.pipeInput("z", "Lz", 120);
    right.pipeInput("a", "in-grace", 105); // window ends 115, closes after 120
    right.pipeInput("a", "late", 104); // closes after 119
    expect(read()).toEqual([["a", "L+in-grace", 105]]);
    expect(driver.metrics.dropped.late).toBe(1);
  });

  it("a stream joined with itself: each record joins itself and the earlier ones, both ways round", () => {
    const builder = new StreamsBuilder();
    const stream = builder.stream<string, string>("in", strings);
    stream
      .join(stream, (l, r) => `${l}+${r}`, JoinWindows.ofTimeDifferenceWithNoGrace(5))
      .to("out", { valueSerde: S });
    const driver = new TopologyTestDriver(builder.build(), { applicationId: "app" });
    const input = driver.createInputTopic("in", S, S);
    input.pipeInput("k", "x", 0);
    input.pipeInput("k", "y", 1);
    expect(driver.createOutputTopic("out", S, S).readValuesToList()).toEqual(["x+x", "y+x", "x+y", "y+y"]);
  });

  it("drops and counts records with a null key or value, storing nothing", () => {
    const { driver, left, right, read } = joinDriver(
      "outerJoin",
      JoinWindows.ofTimeDifferenceWithNoGrace(10),
    );
    left.pipeInput(null, "no key", 1);
    right.pipeInput("a", null, 1);
    left.pipeInput("b", "Lb", 100); // closes the window of anything at 1
    expect(read()).toEqual([]);
    expect(driver.metrics.dropped).toMatchObject({ null_key: 1, null_value: 1 });
    expect(driver.getWindowStore("KSTREAM-OUTEROTHER-0000000005-store").approximateNumEntries()).toBe(0);
  });
});

describe("left and outer stream-stream joins (Kafka 3.x: unmatched records wait for their window to close)", () => {
  it("leftJoin emits an unmatched left record once stream time passes its window's end plus grace, and never a matched one", () => {
    const { driver, left, right, read } = joinDriver("leftJoin", JoinWindows.ofTimeDifferenceAndGrace(10, 5));
    left.pipeInput("a", "La", 100); // window [90, 110], closes once stream time passes 115
    right.pipeInput("b", "Rb", 110); // right records are never emitted unmatched by a left join
    left.pipeInput("c", "Lc", 115);
    expect(read()).toEqual([]);
    const outer = driver.getKeyValueStore("KSTREAM-OUTERSHARED-0000000004-store");
    expect(outer.all()).toEqual([
      { key: { timestamp: 100, side: "left", key: "a" }, value: [{ side: "left", value: "La" }] },
      { key: { timestamp: 115, side: "left", key: "c" }, value: [{ side: "left", value: "Lc" }] },
    ]);
    left.pipeInput("d", "Ld", 116);
    expect(read()).toEqual([["a", "La+null", 100]]);
    right.pipeInput("c", "Rc", 120); // matches c within its window: c leaves the outer store
    left.pipeInput("z", "Lz", 200);
    expect(read()).toEqual([
      ["c", "Lc+Rc", 120],
      ["d", "Ld+null", 116],
    ]);
    expect(outer.all().map(({ key }) => key.key)).toEqual(["z"]);
  });

  it("a match that arrives within grace, after the window's end, still prevents the unmatched result", () => {
    const { left, right, read } = joinDriver("leftJoin", JoinWindows.ofTimeDifferenceAndGrace(10, 5));
    left.pipeInput("a", "La", 100);
    left.pipeInput("z", "Lz", 114); // past the window's end (110), within grace
    right.pipeInput("a", "Ra", 109);
    left.pipeInput("y", "Ly", 300);
    expect(read()).toEqual([
      ["a", "La+Ra", 109],
      ["z", "Lz+null", 114],
    ]);
  });

  it("outerJoin emits unmatched records of both sides, each when its own window closes (after for left, before for right)", () => {
    // A left record at t takes right records in [t - 2, t + 10]; a right record at t, left ones in [t - 10, t + 2].
    const windows = JoinWindows.ofTimeDifferenceWithNoGrace(0).before(2).after(10);
    const { left, right, read } = joinDriver("outerJoin", windows);
    left.pipeInput("a", "La", 100);
    right.pipeInput("b", "Rb", 100);
    left.pipeInput("z", "Lz", 103); // right b's window closed at 102; left a's is open until 110
    expect(read()).toEqual([["b", "null+Rb", 100]]);
    right.pipeInput("y", "Ry", 111);
    right.pipeInput("z", "Rz", 110); // matches Lz
    left.pipeInput("w", "Lw", 200);
    expect(read()).toEqual([
      ["a", "La+null", 100],
      ["z", "Lz+Rz", 110],
      ["y", "null+Ry", 111],
    ]);
  });

  it("unmatched records of one key and time are emitted in arrival order, oldest time first", () => {
    const { left, right, read } = joinDriver("outerJoin", JoinWindows.ofTimeDifferenceWithNoGrace(5));
    left.pipeInput("k", "l1", 10);
    left.pipeInput("k", "l2", 10);
    left.pipeInput("j", "l3", 12);
    right.pipeInput("k", "r1", 20); // closes the windows of l1, l2 (15) and l3 (17)
    right.pipeInput("x", "end", 100);
    expect(read()).toEqual([
      ["k", "l1+null", 10],
      ["k", "l2+null", 10],
      ["j", "l3+null", 12],
      ["k", "null+r1", 20],
    ]);
  });
});

describe("stream-stream join stores and topology", () => {
  const windows = JoinWindows.ofTimeDifferenceWithNoGrace(10);

  it("names stores as Kafka does, or after StreamJoined's storeName", () => {
    const names = (kind: Kind, storeName?: string) => [
      ...joinTopology(kind, windows, storeName ? { storeName } : undefined).stores.keys(),
    ];
    expect(names("join")).toEqual([
      "KSTREAM-JOINTHIS-0000000004-store",
      "KSTREAM-JOINOTHER-0000000005-store",
    ]);
    expect(names("leftJoin")).toEqual([
      "KSTREAM-JOINTHIS-0000000004-store",
      "KSTREAM-OUTEROTHER-0000000005-store",
      "KSTREAM-OUTERSHARED-0000000004-store",
    ]);
    expect(names("outerJoin")).toEqual([
      "KSTREAM-OUTERTHIS-0000000004-store",
      "KSTREAM-OUTEROTHER-0000000005-store",
      "KSTREAM-OUTERSHARED-0000000004-store",
    ]);
    expect(names("join", "clicks")).toEqual(["clicks-this-join-store", "clicks-other-join-store"]);
    expect(names("leftJoin", "clicks")).toEqual([
      "clicks-this-join-store",
      "clicks-outer-other-join-store",
      "clicks-left-shared-join-store",
    ]);
    expect(names("outerJoin", "clicks")).toEqual([
      "clicks-outer-this-join-store",
      "clicks-outer-other-join-store",
      "clicks-outer-shared-join-store",
    ]);
    expect(() => names("join", "no spaces")).toThrow(TopologyError);
  });

  it("describes the windowed, join and merge processors as Kafka does, in one sub-topology", () => {
    const description = joinTopology("join", windows).describe();
    expect(description).toBe(
      [
        "Topologies:",
        "   Sub-topology: 0",
        "    Source: KSTREAM-SOURCE-0000000000 (topics: [left])",
        "      --> KSTREAM-WINDOWED-0000000002",
        "    Source: KSTREAM-SOURCE-0000000001 (topics: [right])",
        "      --> KSTREAM-WINDOWED-0000000003",
        "    Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
        "      --> KSTREAM-JOINTHIS-0000000004",
        "      <-- KSTREAM-SOURCE-0000000000",
        "    Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-JOINOTHER-0000000005-store])",
        "      --> KSTREAM-JOINOTHER-0000000005",
        "      <-- KSTREAM-SOURCE-0000000001",
        "    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-JOINOTHER-0000000005-store])",
        "      --> KSTREAM-MERGE-0000000006",
        "      <-- KSTREAM-WINDOWED-0000000002",
        "    Processor: KSTREAM-JOINOTHER-0000000005 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
        "      --> KSTREAM-MERGE-0000000006",
        "      <-- KSTREAM-WINDOWED-0000000003",
        "    Processor: KSTREAM-MERGE-0000000006 (stores: [])",
        "      --> KSTREAM-SINK-0000000007",
        "      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-JOINOTHER-0000000005",
        "    Sink: KSTREAM-SINK-0000000007 (topic: out)",
        "      <-- KSTREAM-MERGE-0000000006",
        "",
      ].join("\n"),
    );
  });

  it("keeps window stores for the window's span plus grace plus 1 ms, and logs every write", () => {
    const topology = joinTopology("leftJoin", JoinWindows.ofTimeDifferenceAndGrace(10, 5).before(3));
    expect(topology.stores.get("KSTREAM-JOINTHIS-0000000004-store")).toMatchObject({
      kind: "window",
      windowSizeMs: 13,
      retentionMs: 19,
    });
    const driver = new TopologyTestDriver(topology, { applicationId: "app" });
    driver.createInputTopic("left", S, S).pipeInput("a", "La", 100);
    const changelog = driver.createOutputTopic("app-KSTREAM-JOINTHIS-0000000004-store-changelog", S, S);
    expect(changelog.getQueueSize()).toBe(1);
    expect(driver.changelog("KSTREAM-OUTERSHARED-0000000004-store")).toHaveLength(1);
  });

  it("a driver restored from the changelogs gives the same join results, unmatched records included", () => {
    const windows10 = JoinWindows.ofTimeDifferenceWithNoGrace(10);
    const first = joinDriver("outerJoin", windows10);
    first.left.pipeInput("a", "La", 100);
    first.left.pipeInput("b", "Lb", 105);
    first.right.pipeInput("c", "Rc", 107);
    expect(first.read()).toEqual([]);

    const second = joinDriver("outerJoin", windows10, { changelogs: first.driver.changelogs() });
    for (const driver of [first, second]) {
      driver.right.pipeInput("a", "Ra", 108);
      driver.left.pipeInput("z", "Lz", 130);
    }
    const expected = [
      ["a", "La+Ra", 108],
      ["b", "Lb+null", 105],
      ["c", "null+Rc", 107],
    ];
    expect(first.read()).toEqual(expected);
    expect(second.read()).toEqual(expected);
    for (const store of ["KSTREAM-OUTERTHIS-0000000004-store", "KSTREAM-OUTEROTHER-0000000005-store"]) {
      expect(second.driver.getWindowStore(store).all()).toEqual(first.driver.getWindowStore(store).all());
    }
    const outer = "KSTREAM-OUTERSHARED-0000000004-store";
    expect(second.driver.getKeyValueStore(outer).all()).toEqual(first.driver.getKeyValueStore(outer).all());
  });

  it("takes serdes from StreamJoined or the driver's defaults when the streams no longer know them", () => {
    const builder = new StreamsBuilder();
    const left = builder.stream<string, string>("left", strings).mapValues((v) => v.length);
    const right = builder.stream<string, string>("right", strings).mapValues((v) => v.length);
    left
      .join(right, (l, r) => l + r, windows, { valueSerde: Serdes.Int32() })
      .to("out", { valueSerde: Serdes.Int32() });
    const driver = new TopologyTestDriver(builder.build(), {
      applicationId: "app",
      defaultKeySerde: S,
      defaultValueSerde: Serdes.Int64(),
    });
    driver.createInputTopic("left", S, S).pipeInput("a", "xx", 1);
    driver.createInputTopic("right", S, S).pipeInput("a", "yyy", 2);
    expect(driver.createOutputTopic("out", S, Serdes.Int32()).readValue()).toBe(5);
    const { key, value } = driver.changelog("KSTREAM-JOINOTHER-0000000007-store")[0] ?? {};
    expect(key?.subarray(0, 1).toString()).toBe("a");
    // An Int64 inside the list: 4 bytes of length, then 8 of value.
    expect(value?.length).toBe(12);
    expect(
      () => new TopologyTestDriver(builder.build(), { applicationId: "app", defaultKeySerde: S }),
    ).toThrow(/no value serde for store KSTREAM-JOINOTHER-0000000007-store/);
  });
});

describe("repartitioning before a stream-stream join", () => {
  it("re-keys through <applicationId>-<node>-repartition, or <name>-left/right-repartition, and then joins", () => {
    const build = (name?: string) => {
      const builder = new StreamsBuilder();
      const left = builder.stream<string, string>("left", strings).selectKey((_k, v) => v);
      const right = builder.stream<string, string>("right", strings);
      const joined = left.join(right, (l, r) => `${l}+${r}`, JoinWindows.ofTimeDifferenceWithNoGrace(5), {
        name,
      });
      joined.to("out", { valueSerde: S });
      return builder.build();
    };
    const topology = build();
    expect(topology.subtopologies()).toHaveLength(2);
    const driver = new TopologyTestDriver(topology, { applicationId: "app" });
    driver.createInputTopic("left", S, S).pipeInput("order-1", "a", 1);
    driver.createInputTopic("right", S, S).pipeInput("a", "R", 2);
    expect(driver.createOutputTopic("out", S, S).readKeyValuesToList()).toEqual([{ key: "a", value: "a+R" }]);
    expect(driver.producedTopicNames()).toContain("app-KSTREAM-KEY-SELECT-0000000001-repartition");

    const named = new TopologyTestDriver(build("orders"), { applicationId: "app" });
    named.createInputTopic("left", S, S).pipeInput("order-1", "a", 1);
    expect(named.producedTopicNames()).toContain("app-orders-left-repartition");
  });
});
