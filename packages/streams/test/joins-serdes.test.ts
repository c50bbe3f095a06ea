// The bytes of stream-join stores (lists of values; the outer store's time-ordered keys) and the bound on
// records of one key and timestamp; KStream.repartition() through the driver.

import { describe, expect, it } from "vitest";
import { appended, joinRecordsPerKeyAndTimeMax } from "../src/dsl/join-processors.js";
import { listSerde, sideValuesSerde, timestampedSideKeySerde } from "../src/dsl/join-serdes.js";
import {
  Serdes,
  SerializationError,
  StreamsBuilder,
  TopologyError,
  TopologyTestDriver,
} from "../src/index.js";
import { strings } from "./helpers.js";

const S = Serdes.String();

describe("join store serdes", () => {
  it("a list is [u32 length][bytes] per value and round-trips, empty values and an empty list included", () => {
    const serde = listSerde(S);
    const bytes = serde.serialize(["ab", "", "c"], "t");
    expect(bytes.toString("hex")).toBe("000000026162" + "00000000" + "0000000163");
    expect(serde.deserialize(bytes, "t")).toEqual(["ab", "", "c"]);
    expect(serde.deserialize(serde.serialize([], "t"), "t")).toEqual([]);
    expect(() => serde.deserialize(Buffer.from("0000000561", "hex"), "t")).toThrow(SerializationError);
    expect(() => serde.deserialize(Buffer.from("0000", "hex"), "t")).toThrow(SerializationError);
  });

  it("outer store keys sort by timestamp (negative ones first), then side, then key", () => {
    const serde = timestampedSideKeySerde(S);
    const keys = [
      { timestamp: 5, side: "right" as const, key: "a" },
      { timestamp: -3, side: "left" as const, key: "z" },
      { timestamp: 5, side: "left" as const, key: "b" },
      { timestamp: 300, side: "left" as const, key: "a" },
      { timestamp: 5, side: "left" as const, key: "a" },
    ];
    const sorted = keys
      .map((key) => serde.serialize(key, "t"))
      .sort(Buffer.compare)
      .map((bytes) => serde.deserialize(bytes, "t"));
    expect(sorted.map(({ timestamp, side, key }) => `${timestamp}/${side}/${key}`)).toEqual([
      "-3/left/z",
      "5/left/a",
      "5/left/b",
      "5/right/a",
      "300/left/a",
    ]);
    expect(() => serde.deserialize(Buffer.alloc(9, 0x80).fill(7, 8), "t")).toThrow(/side byte/);
  });

  it("outer store values keep each value's side and serde", () => {
    const serde = sideValuesSerde(S, Serdes.Int32());
    const values = [
      { side: "left" as const, value: "x" },
      { side: "right" as const, value: 7 },
    ];
    expect(serde.deserialize(serde.serialize(values, "t"), "t")).toEqual(values);
  });

  it("a side keeps at most joinRecordsPerKeyAndTimeMax records of one key and timestamp", () => {
    const full = new Array<string>(joinRecordsPerKeyAndTimeMax).fill("v");
    expect(appended(full.slice(1), "w", "s")).toHaveLength(joinRecordsPerKeyAndTimeMax);
    expect(() => appended(full, "w", "s")).toThrow(TopologyError);
  });
});

describe("KStream.repartition()", () => {
  it("goes through <applicationId>-KSTREAM-REPARTITION-<n>-repartition, or the name given, with the stream's serdes", () => {
    const builder = new StreamsBuilder();
    const stream = builder.stream<string, string>("in", strings);
    stream.repartition().to("out");
    stream
      .mapValues((v) => v.length)
      .repartition({ name: "lengths", valueSerde: Serdes.Int32() })
      .to("lengths");
    const topology = builder.build();
    expect(topology.subtopologies()).toHaveLength(3);
    const driver = new TopologyTestDriver(topology, { applicationId: "app" });
    driver.createInputTopic("in", S, S).pipeInput("k", "abc", 7);
    const through = driver.createOutputTopic("app-KSTREAM-REPARTITION-0000000001-repartition", S, S);
    expect(through.readRecord()).toMatchObject({ key: "k", value: "abc", timestamp: 7 });
    expect(driver.createOutputTopic("out", S, S).readKeyValue()).toEqual({ key: "k", value: "abc" });
    expect(driver.createOutputTopic("app-lengths-repartition", S, Serdes.Int32()).readValue()).toBe(3);
    expect(driver.createOutputTopic("lengths", S, Serdes.Int32()).readValue()).toBe(3);
  });

  it("a repartitioned stream needs no second repartition to group or join", () => {
    const builder = new StreamsBuilder();
    builder
      .stream<string, string>("in", strings)
      .selectKey((_k, v) => v)
      .repartition()
      .groupByKey()
      .count();
    const sinks = [...builder.build().nodes.values()].filter((node) => node.kind === "sink");
    expect(sinks).toHaveLength(1);
  });
});
