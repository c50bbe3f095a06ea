// The topology as data: Kafka-style node and store names, sub-topologies split at repartition topics,
// and the errors a topology that cannot run gives when the driver starts or a record arrives.

import { describe, expect, it } from "vitest";
import { Materialized, Serdes, StreamsBuilder, TopologyError, TopologyTestDriver } from "../src/index.js";
import { strings } from "./helpers.js";

describe("the built topology", () => {
  it("names nodes and stores as Kafka Streams does and describes its sub-topologies", () => {
    const builder = new StreamsBuilder();
    builder
      .stream<string, string>("words", strings)
      .groupBy((_k, word) => word)
      .count()
      .toStream()
      .to("counts");
    const topology = builder.build();
    expect([...topology.stores.keys()]).toEqual(["KSTREAM-AGGREGATE-STATE-STORE-0000000002"]);
    expect(topology.describe()).toBe(
      [
        "Topologies:",
        "   Sub-topology: 0",
        "    Source: KSTREAM-SOURCE-0000000000 (topics: [words])",
        "      --> KSTREAM-KEY-SELECT-0000000001",
        "    Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])",
        "      --> KSTREAM-SINK-0000000003",
        "      <-- KSTREAM-SOURCE-0000000000",
        "    Sink: KSTREAM-SINK-0000000003 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition (internal))",
        "      <-- KSTREAM-KEY-SELECT-0000000001",
        "   Sub-topology: 1",
        "    Source: KSTREAM-SOURCE-0000000004 (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition (internal)])",
        "      --> KSTREAM-AGGREGATE-0000000005",
        "    Processor: KSTREAM-AGGREGATE-0000000005 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000002])",
        "      --> KTABLE-TOSTREAM-0000000006",
        "      <-- KSTREAM-SOURCE-0000000004",
        "    Processor: KTABLE-TOSTREAM-0000000006 (stores: [])",
        "      --> KSTREAM-SINK-0000000007",
        "      <-- KSTREAM-AGGREGATE-0000000005",
        "    Sink: KSTREAM-SINK-0000000007 (topic: counts)",
        "      <-- KTABLE-TOSTREAM-0000000006",
        "",
      ].join("\n"),
    );
  });
});

describe("errors", () => {
  it("a missing serde is named when the driver starts", () => {
    const builder = new StreamsBuilder();
    builder
      .stream<string, string>("in", strings)
      .mapValues((v) => v.length)
      .to("out");
    expect(() => new TopologyTestDriver(builder.build(), { applicationId: "app" })).toThrow(
      /no value serde for sink KSTREAM-SINK-0000000002/,
    );
  });

  it("input topics the topology does not read, and stores of another kind, are refused", () => {
    const builder = new StreamsBuilder();
    builder.stream<string, string>("in", strings).groupByKey().count(Materialized.as("c"));
    const driver = new TopologyTestDriver(builder.build(), { applicationId: "app" });
    expect(() => driver.createInputTopic("nope", Serdes.String(), Serdes.String())).toThrow(TopologyError);
    expect(() => driver.getWindowStore("c")).toThrow(/not a window store/);
    expect(() => driver.getKeyValueStore("missing")).toThrow(/no store missing; stores: c/);
  });

  it("two sources on one topic, a duplicate store and a bad store name are refused as the topology is built", () => {
    const builder = new StreamsBuilder();
    builder.stream("in");
    expect(() => builder.stream("in")).toThrow(/already read/);
    builder.stream<string, string>("other", strings).groupByKey().count(Materialized.as("c"));
    expect(() =>
      builder.stream<string, string>("third", strings).groupByKey().count(Materialized.as("c")),
    ).toThrow(/store c already exists/);
    expect(() => Materialized.as("a b")).toThrow(TopologyError);
  });
});
