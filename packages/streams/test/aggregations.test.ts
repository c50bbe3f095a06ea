// Grouping and aggregation into tables, repartitioning when the key changed, and tables read from topics.

import { describe, expect, it } from "vitest";
import { Materialized, Serdes } from "../src/index.js";
import { driverFor, strings } from "./helpers.js";

const int64 = Serdes.Int64();

describe("groupByKey() aggregations", () => {
  it("count() emits each key's new count and keeps it in the store", () => {
    const driver = driverFor((b) =>
      b
        .stream<string, string>("in", strings)
        .groupByKey()
        .count(Materialized.as("counts"))
        .toStream()
        .to("out", { valueSerde: int64 }),
    );
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    input.pipeKeyValueList([
      { key: "a", value: "x" },
      { key: "b", value: "y" },
      { key: "a", value: "z" },
    ]);
    expect(driver.createOutputTopic("out", Serdes.String(), int64).readKeyValuesToList()).toEqual([
      { key: "a", value: 1 },
      { key: "b", value: 1 },
      { key: "a", value: 2 },
    ]);
    const store = driver.getKeyValueStore<string, number>("counts");
    expect(store.get("a")).toBe(2);
    expect(store.get("missing")).toBeNull();
  });

  it("reduce() starts from the first value and folds the rest in", () => {
    const driver = driverFor((b) =>
      b
        .stream<string, string>("in", strings)
        .groupByKey()
        .reduce((joined, value) => `${joined}+${value}`)
        .toStream()
        .to("out"),
    );
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    for (const value of ["1", "2", "3"]) input.pipeInput("k", value);
    expect(driver.createOutputTopic("out", Serdes.String(), Serdes.String()).readValuesToList()).toEqual([
      "1",
      "1+2",
      "1+2+3",
    ]);
  });

  it("aggregate() starts from the initializer, with the store's serde from Materialized", () => {
    const driver = driverFor((b) =>
      b
        .stream<string, number>("scores", { keySerde: Serdes.String(), valueSerde: Serdes.Int32() })
        .groupByKey()
        .aggregate(
          () => ({ sum: 0, count: 0 }),
          (_key, score, stats) => ({ sum: stats.sum + score, count: stats.count + 1 }),
          Materialized.as<string, { sum: number; count: number }>("stats").withValueSerde(Serdes.Json()),
        )
        .mapValues((stats) => stats.sum / stats.count)
        .toStream()
        .to("averages", { valueSerde: Serdes.Double() }),
    );
    const input = driver.createInputTopic("scores", Serdes.String(), Serdes.Int32());
    input.pipeInput("ann", 4);
    input.pipeInput("ann", 5);
    input.pipeInput("bob", 1);
    expect(
      driver.createOutputTopic("averages", Serdes.String(), Serdes.Double()).readKeyValuesToList(),
    ).toEqual([
      { key: "ann", value: 4 },
      { key: "ann", value: 4.5 },
      { key: "bob", value: 1 },
    ]);
    expect(driver.getKeyValueStore("stats").get("ann")).toEqual({ sum: 9, count: 2 });
  });

  it("drops records with a null key or value, and counts them", () => {
    const driver = driverFor((b) =>
      b.stream<string, string>("in", strings).groupByKey().count(Materialized.as("c")),
    );
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    input.pipeInput(null, "v");
    input.pipeInput("k", null);
    input.pipeInput("k", "v");
    expect(driver.getKeyValueStore("c").all()).toEqual([{ key: "k", value: 1 }]);
    expect(driver.metrics.dropped).toEqual({ late: 0, null_key: 1, null_value: 1 });
    expect(driver.metrics.processed).toBe(3);
  });
});

describe("repartitioning", () => {
  it("groupBy() writes the re-keyed records to <applicationId>-<store>-repartition and aggregates from there", () => {
    const driver = driverFor((b) =>
      b
        .stream<string, string>("cars", strings)
        .groupBy((_plate, color) => color, { valueSerde: Serdes.String() })
        .count(Materialized.as("by-color"))
        .toStream()
        .to("color-counts", { valueSerde: int64 }),
    );
    const cars = driver.createInputTopic("cars", Serdes.String(), Serdes.String());
    cars.pipeInput("AB-1", "red", 10);
    cars.pipeInput("CD-2", "blue", 11);
    cars.pipeInput("EF-3", "red", 12);
    const repartition = driver.createOutputTopic(
      "app-by-color-repartition",
      Serdes.String(),
      Serdes.String(),
    );
    expect(
      repartition.readRecordsToList().map(({ key, value, timestamp }) => [key, value, timestamp]),
    ).toEqual([
      ["red", "red", 10],
      ["blue", "blue", 11],
      ["red", "red", 12],
    ]);
    expect(driver.createOutputTopic("color-counts", Serdes.String(), int64).readKeyValuesToMap()).toEqual(
      new Map([
        ["red", 2],
        ["blue", 1],
      ]),
    );
  });

  it("groupByKey() after a key-changing operator repartitions too; Grouped's name names the topic", () => {
    const driver = driverFor((b) =>
      b
        .stream<string, string>("in", strings)
        .map((key, value) => [value, key])
        .groupByKey({ name: "by-value", valueSerde: Serdes.String() })
        .count(),
    );
    driver.createInputTopic("in", Serdes.String(), Serdes.String()).pipeInput("k", "v");
    expect(driver.producedTopicNames()).toContain("app-by-value-repartition");
  });

  it("groupByKey() on an unchanged key does not", () => {
    const driver = driverFor((b) =>
      b
        .stream<string, string>("in", strings)
        .mapValues((v) => v)
        .groupByKey()
        .count(),
    );
    driver.createInputTopic("in", Serdes.String(), Serdes.String()).pipeInput("k", "v");
    expect(driver.producedTopicNames().filter((topic) => topic.endsWith("-repartition"))).toEqual([]);
  });
});

describe("tables", () => {
  it("builder.table() keeps each key's latest value; a null value deletes the key", () => {
    const driver = driverFor((b) =>
      b.table<string, string>("users", strings, Materialized.as("users-store")).toStream().to("out"),
    );
    const users = driver.createInputTopic("users", Serdes.String(), Serdes.String());
    users.pipeInput("u1", "ann");
    users.pipeInput("u2", "bob");
    users.pipeInput("u1", "anne");
    users.pipeInput("u2", null);
    users.pipeInput("u3", null); // deleting a key never there changes nothing
    expect(driver.getKeyValueStore("users-store").all()).toEqual([{ key: "u1", value: "anne" }]);
    expect(driver.createOutputTopic("out", Serdes.String(), Serdes.String()).readKeyValuesToList()).toEqual([
      { key: "u1", value: "ann" },
      { key: "u2", value: "bob" },
      { key: "u1", value: "anne" },
      { key: "u2", value: null },
    ]);
  });

  it("builder.table() without a name materializes <topic>-STATE-STORE-<n>", () => {
    const driver = driverFor((b) => b.table<string, string>("users", strings));
    driver.createInputTopic("users", Serdes.String(), Serdes.String()).pipeInput("u1", "ann");
    expect(driver.getKeyValueStore("users-STATE-STORE-0000000000").get("u1")).toBe("ann");
  });

  it("filter() deletes keys whose value stops passing, and sends nothing for keys that never passed", () => {
    const driver = driverFor((b) =>
      b
        .table<string, string>("in", strings)
        .filter((_k, v) => v.length > 2)
        .toStream()
        .to("out"),
    );
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    input.pipeInput("a", "long");
    input.pipeInput("a", "no");
    input.pipeInput("b", "no");
    input.pipeInput("b", "yes");
    expect(driver.createOutputTopic("out", Serdes.String(), Serdes.String()).readKeyValuesToList()).toEqual([
      { key: "a", value: "long" },
      { key: "a", value: null },
      { key: "b", value: "yes" },
    ]);
  });

  it("mapValues() on a table maps each update, and filterNot() is filter's complement", () => {
    const driver = driverFor(
      (b) =>
        b
          .table<string, string>("in", strings)
          .mapValues((v, k) => `${k}=${v.length}`)
          .filterNot((_k, v) => v.endsWith("=0"))
          .toStream()
          .to("out", strings), // mapValues() changed the value type: its serde is no longer known
    );
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    input.pipeInput("a", "xyz");
    input.pipeInput("b", "");
    expect(driver.createOutputTopic("out", Serdes.String(), Serdes.String()).readValuesToList()).toEqual([
      "a=3",
    ]);
  });

  it("toTable() turns a stream into a table of latest values", () => {
    const driver = driverFor((b) =>
      b
        .stream<string, string>("in", strings)
        .mapValues((v) => v.toUpperCase())
        .toTable(Materialized.as<string, string>("latest").withValueSerde(Serdes.String())),
    );
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    input.pipeInput("k", "a");
    input.pipeInput("k", "b");
    expect(driver.getKeyValueStore("latest").all()).toEqual([{ key: "k", value: "B" }]);
  });
});
