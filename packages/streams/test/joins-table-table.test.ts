// Table-table joins through the driver: inner, left and outer rows as either side changes, tombstones when a
// row goes, the joined table materialized or read through both sides' stores by a later join.

import { describe, expect, it } from "vitest";
import { Materialized, Serdes, StreamsBuilder, TopologyTestDriver } from "../src/index.js";
import { strings } from "./helpers.js";

const S = Serdes.String();
type Kind = "join" | "leftJoin" | "outerJoin";

function tablesDriver(kind: Kind, materialized?: Materialized<string, string>) {
  const builder = new StreamsBuilder();
  const left = builder.table<string, string>("lt", strings, Materialized.as("l"));
  const right = builder.table<string, string>("rt", strings, Materialized.as("r"));
  const joiner = (l: string | null, r: string | null) => `${l}/${r}`;
  const joined =
    kind === "join"
      ? left.join(right, joiner, materialized)
      : kind === "leftJoin"
        ? left.leftJoin(right, joiner, materialized)
        : left.outerJoin(right, joiner, materialized);
  joined.toStream().to("out", { valueSerde: S });
  const driver = new TopologyTestDriver(builder.build(), { applicationId: "app" });
  const out = driver.createOutputTopic("out", S, S);
  return {
    driver,
    left: driver.createInputTopic("lt", S, S),
    right: driver.createInputTopic("rt", S, S),
    read: () => out.readKeyValuesToList().map(({ key, value }) => [key, value]),
  };
}

describe("KTable.join / leftJoin / outerJoin (KTable)", () => {
  it("join: a row while both sides have the key, updated by either, a tombstone when either side deletes it", () => {
    const { left, right, read } = tablesDriver("join");
    left.pipeInput("a", "1");
    expect(read()).toEqual([]);
    right.pipeInput("a", "x");
    left.pipeInput("a", "2");
    right.pipeInput("a", null);
    left.pipeInput("a", "3"); // no right value: no row
    right.pipeInput("b", "y");
    left.pipeInput("a", null); // no row to delete
    expect(read()).toEqual([
      ["a", "1/x"],
      ["a", "2/x"],
      ["a", null],
    ]);
  });

  it("join: deleting the left side of a row is a tombstone too", () => {
    const { left, right, read } = tablesDriver("join");
    left.pipeInput("a", "1");
    right.pipeInput("a", "x");
    left.pipeInput("a", null);
    expect(read()).toEqual([
      ["a", "1/x"],
      ["a", null],
    ]);
  });

  it("leftJoin: a row for every left key, null for a missing right value", () => {
    const { left, right, read } = tablesDriver("leftJoin");
    left.pipeInput("a", "1");
    right.pipeInput("a", "x");
    right.pipeInput("a", null);
    left.pipeInput("a", null);
    right.pipeInput("b", "y"); // no left b: no row
    expect(read()).toEqual([
      ["a", "1/null"],
      ["a", "1/x"],
      ["a", "1/null"],
      ["a", null],
    ]);
  });

  it("outerJoin: a row for every key of either side", () => {
    const { left, right, read } = tablesDriver("outerJoin");
    right.pipeInput("b", "y");
    left.pipeInput("b", "1");
    right.pipeInput("b", null);
    left.pipeInput("b", null);
    left.pipeInput("c", "2");
    expect(read()).toEqual([
      ["b", "null/y"],
      ["b", "1/y"],
      ["b", "1/null"],
      ["b", null],
      ["c", "2/null"],
    ]);
  });

  it("materialized, keeps the joined rows in its store", () => {
    const { driver, left, right, read } = tablesDriver(
      "join",
      Materialized.as<string, string>("joined").withValueSerde(S),
    );
    left.pipeInput("a", "1");
    right.pipeInput("a", "x");
    const store = driver.getKeyValueStore<string, string>("joined");
    expect(store.get("a")).toBe("1/x");
    right.pipeInput("a", null);
    expect(store.get("a")).toBeNull();
    expect(read()).toEqual([
      ["a", "1/x"],
      ["a", null],
    ]);
    expect(driver.changelog("joined")).toHaveLength(2);
  });

  it("names KTABLE-MERGE-, KTABLE-JOINTHIS- and KTABLE-JOINOTHER- as Kafka does, each side connected to the other's store", () => {
    const builder = new StreamsBuilder();
    const left = builder.table<string, string>("lt", strings);
    const right = builder.table<string, string>("rt", strings);
    left.join(right, (l, r) => l + r).toStream();
    const topology = builder.build();
    const description = topology.describe();
    expect(description).toContain(
      "Processor: KTABLE-JOINTHIS-0000000007 (stores: [rt-STATE-STORE-0000000003])",
    );
    expect(description).toContain(
      "Processor: KTABLE-JOINOTHER-0000000008 (stores: [lt-STATE-STORE-0000000000])",
    );
    expect(description).toContain("<-- KTABLE-JOINTHIS-0000000007, KTABLE-JOINOTHER-0000000008");
    expect(topology.subtopologies()).toHaveLength(1);
  });

  it("a stream joined with an unmaterialized joined table reads both tables' stores", () => {
    const builder = new StreamsBuilder();
    const left = builder.table<string, string>("lt", strings);
    const right = builder.table<string, string>("rt", strings);
    const rows = left.leftJoin(right, (l, r) => `${l}/${r}`);
    builder
      .stream<string, string>("clicks", strings)
      .join(rows, (click, row) => `${click}:${row}`)
      .to("out", { valueSerde: S });
    const driver = new TopologyTestDriver(builder.build(), { applicationId: "app" });
    const lt = driver.createInputTopic("lt", S, S);
    const rt = driver.createInputTopic("rt", S, S);
    const clicks = driver.createInputTopic("clicks", S, S);
    lt.pipeInput("a", "1");
    clicks.pipeInput("a", "c1");
    rt.pipeInput("a", "x");
    clicks.pipeInput("a", "c2");
    rt.pipeInput("b", "y");
    clicks.pipeInput("b", "c3"); // a left join of tables has no row for b
    expect(driver.createOutputTopic("out", S, S).readValuesToList()).toEqual(["c1:1/null", "c2:1/x"]);
  });
});
