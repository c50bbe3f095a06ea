// Stream-table joins through the driver: lookups of the table's current value (its store, or a view of the
// store it derives from), inner and left, table updates emitting nothing, nulls dropped and counted, and the
// repartition topic a key change puts before the join.

import { describe, expect, it } from "vitest";
import {
  JoinWindows,
  Materialized,
  Serdes,
  StreamsBuilder,
  TopologyError,
  TopologyTestDriver,
} from "../src/index.js";
import { driverFor, strings } from "./helpers.js";

const S = Serdes.String();

function clickDriver(kind: "join" | "leftJoin") {
  const driver = driverFor((b) => {
    const users = b.table<string, string>("users", strings, Materialized.as("users-store"));
    const clicks = b.stream<string, string>("clicks", strings);
    const joined =
      kind === "join"
        ? clicks.join(users, (click, user) => `${click} by ${user}`)
        : clicks.leftJoin(users, (click, user, key) => `${click} by ${user ?? `unknown ${key}`}`);
    joined.to("out", { valueSerde: S });
  });
  return {
    driver,
    users: driver.createInputTopic("users", S, S),
    clicks: driver.createInputTopic("clicks", S, S),
    out: driver.createOutputTopic("out", S, S),
  };
}

describe("the example in docs/streams.md (Joins)", () => {
  it("names clicks from the users table and pairs views with the clicks that follow them", () => {
    const builder = new StreamsBuilder();
    const users = builder.table<string, string>("users", strings, Materialized.as("users"));
    const clicks = builder.stream<string, string>("clicks", strings);
    const views = builder.stream<string, string>("views", strings);
    clicks
      .leftJoin(users, (page, name) => `${name ?? "someone"} clicked ${page}`)
      .to("named-clicks", { valueSerde: S });
    const windows = JoinWindows.ofTimeDifferenceAndGrace(10_000, 2_000).before(1_000);
    views.join(clicks, (view, click) => `${view} -> ${click}`, windows).to("view-clicks", { valueSerde: S });

    const driver = new TopologyTestDriver(builder.build(), { applicationId: "shop" });
    driver.createInputTopic("users", S, S).pipeInput("u1", "Ann", 0);
    driver.createInputTopic("views", S, S).pipeInput("u1", "home", 1_000);
    driver.createInputTopic("clicks", S, S).pipeInput("u1", "cart", 4_000);
    driver.createInputTopic("clicks", S, S).pipeInput("u2", "home", 5_000);
    expect(driver.createOutputTopic("named-clicks", S, S).readValuesToList()).toEqual([
      "Ann clicked cart",
      "someone clicked home",
    ]);
    expect(driver.createOutputTopic("view-clicks", S, S).readKeyValuesToList()).toEqual([
      { key: "u1", value: "home -> cart" },
    ]);
  });
});

describe("KStream.join(KTable)", () => {
  it("joins each record with the table's current value, keeps the stream's timestamp, drops records without one", () => {
    const { users, clicks, out } = clickDriver("join");
    users.pipeInput("a", "Ann", 1);
    clicks.pipeInput("a", "c1", 10);
    clicks.pipeInput("b", "c2", 11); // no user b: dropped
    users.pipeInput("a", "Anna", 12); // a table update emits nothing
    expect(out.getQueueSize()).toBe(1);
    clicks.pipeInput("a", "c3", 13);
    users.pipeInput("a", null, 14); // deleted
    clicks.pipeInput("a", "c4", 15);
    expect(out.readRecordsToList().map(({ key, value, timestamp }) => [key, value, timestamp])).toEqual([
      ["a", "c1 by Ann", 10],
      ["a", "c3 by Anna", 13],
    ]);
  });

  it("a table update after a record does not reach back to it; a record before any table value is dropped", () => {
    const { users, clicks, out } = clickDriver("join");
    clicks.pipeInput("a", "early", 1);
    users.pipeInput("a", "Ann", 2);
    expect(out.isEmpty()).toBe(true);
  });

  it("leftJoin passes records without a table value with null for it", () => {
    const { users, clicks, out } = clickDriver("leftJoin");
    clicks.pipeInput("a", "c1", 1);
    users.pipeInput("a", "Ann", 2);
    clicks.pipeInput("a", "c2", 3);
    users.pipeInput("a", null, 4);
    clicks.pipeInput("a", "c3", 5);
    expect(out.readValuesToList()).toEqual(["c1 by unknown a", "c2 by Ann", "c3 by unknown a"]);
  });

  it("drops stream records with a null key or value and counts them, in inner and left joins alike", () => {
    for (const kind of ["join", "leftJoin"] as const) {
      const { driver, users, clicks, out } = clickDriver(kind);
      users.pipeInput("a", "Ann", 1);
      clicks.pipeInput(null, "no key", 2);
      clicks.pipeInput("a", null, 3);
      expect(out.isEmpty()).toBe(true);
      expect(driver.metrics.dropped).toMatchObject({ null_key: 1, null_value: 1 });
    }
  });

  it("reads a filtered or mapped table through the store it derives from (no store of its own)", () => {
    const builder = new StreamsBuilder();
    const users = builder.table<string, string>("users", strings, Materialized.as("users-store"));
    const visible = users
      .filter((_id, name) => !name.startsWith("hidden"))
      .mapValues((name) => name.toUpperCase());
    builder
      .stream<string, string>("clicks", strings)
      .join(visible, (click, user) => `${click}:${user}`)
      .to("out", { valueSerde: S });
    const topology = builder.build();
    expect([...topology.stores.keys()]).toEqual(["users-store"]);
    const driver = new TopologyTestDriver(topology, { applicationId: "app" });
    const users$ = driver.createInputTopic("users", S, S);
    const clicks = driver.createInputTopic("clicks", S, S);
    users$.pipeInput("a", "ann");
    users$.pipeInput("b", "hidden bob");
    clicks.pipeInput("a", "x");
    clicks.pipeInput("b", "y");
    clicks.pipeInput("c", "z");
    expect(driver.createOutputTopic("out", S, S).readValuesToList()).toEqual(["x:ANN"]);
  });

  it("joins with an aggregation's table", () => {
    const driver = driverFor((b) => {
      const counts = b.stream<string, string>("visits", strings).groupByKey().count();
      b.stream<string, string>("clicks", strings)
        .join(counts, (click, count) => `${click} after ${count} visits`)
        .to("out", { valueSerde: S });
    });
    const visits = driver.createInputTopic("visits", S, S);
    const clicks = driver.createInputTopic("clicks", S, S);
    visits.pipeInput("a", "v");
    visits.pipeInput("a", "v");
    clicks.pipeInput("a", "c");
    expect(driver.createOutputTopic("out", S, S).readValue()).toBe("c after 2 visits");
  });

  it("names the processor KSTREAM-JOIN- / KSTREAM-LEFTJOIN- and connects it to the table's store, in one sub-topology", () => {
    const builder = new StreamsBuilder();
    const users = builder.table<string, string>("users", strings);
    const clicks = builder.stream<string, string>("clicks", strings);
    clicks.join(users, (c, u) => c + u).to("out");
    clicks.leftJoin(users, (c, u) => c + u).to("out2");
    const topology = builder.build();
    const description = topology.describe();
    expect(description).toContain(
      "Processor: KSTREAM-JOIN-0000000004 (stores: [users-STATE-STORE-0000000000])",
    );
    expect(description).toContain(
      "Processor: KSTREAM-LEFTJOIN-0000000006 (stores: [users-STATE-STORE-0000000000])",
    );
    expect(topology.subtopologies()).toHaveLength(1);
  });

  it("a stream-stream join without JoinWindows, or a stream-table join with them, is refused", () => {
    const builder = new StreamsBuilder();
    const users = builder.table<string, string>("users", strings);
    const clicks = builder.stream<string, string>("clicks", strings);
    const other = builder.stream<string, string>("other", strings);
    const untyped = clicks as unknown as { join: (...args: unknown[]) => unknown };
    expect(() => untyped.join(other, () => "x")).toThrow(/needs JoinWindows/);
    expect(() => untyped.join(users, () => "x", JoinWindows.ofTimeDifferenceWithNoGrace(1))).toThrow(
      TopologyError,
    );
  });
});

describe("repartitioning before a stream-table join", () => {
  function keyChangedDriver(name?: string) {
    const builder = new StreamsBuilder();
    const users = builder.table<string, string>("users", strings, Materialized.as("users-store"));
    // Orders keyed by order id, re-keyed by the user in the value "user:item".
    builder
      .stream<string, string>("orders", strings)
      .selectKey((_orderId, order) => order.split(":")[0] as string)
      .join(users, (order, user) => `${order.split(":")[1]} for ${user}`, name ? { name } : undefined)
      .to("out", { valueSerde: S });
    const topology = builder.build();
    const driver = new TopologyTestDriver(topology, { applicationId: "app", defaultKeySerde: S });
    return { topology, driver };
  }

  it("goes through <applicationId>-<node>-repartition after selectKey, in its own sub-topology", () => {
    const { topology, driver } = keyChangedDriver();
    driver.createInputTopic("users", S, S).pipeInput("u1", "Ann", 1);
    driver.createInputTopic("orders", S, S).pipeInput("o1", "u1:book", 2);
    expect(driver.createOutputTopic("out", S, S).readKeyValue()).toEqual({
      key: "u1",
      value: "book for Ann",
    });
    const topic = "KSTREAM-KEY-SELECT-0000000003-repartition";
    expect(driver.producedTopicNames()).toContain(`app-${topic}`);
    expect(driver.createOutputTopic(`app-${topic}`, S, S).readKeyValue()).toEqual({
      key: "u1",
      value: "u1:book",
    });
    expect(topology.subtopologies()).toHaveLength(2);
    expect(topology.describe()).toContain(`Sink: KSTREAM-SINK-0000000004 (topic: ${topic} (internal))`);
  });

  it("takes the topic's name from Joined.name", () => {
    const { driver } = keyChangedDriver("orders-by-user");
    driver.createInputTopic("orders", S, S).pipeInput("o1", "u1:book", 2);
    expect(driver.producedTopicNames()).toContain("app-orders-by-user-repartition");
  });

  it("does not repartition a stream whose key did not change, and reuses one topic for two joins of a re-keyed stream", () => {
    const builder = new StreamsBuilder();
    const users = builder.table<string, string>("users", strings);
    const orders = builder.stream<string, string>("orders", strings);
    orders.mapValues((v) => v).join(users, (o, u) => o + u);
    expect(builder.build().subtopologies()).toHaveLength(1);
    const rekeyed = orders.selectKey((_k, v) => v);
    rekeyed.join(users, (o, u) => o + u);
    rekeyed.leftJoin(users, (o, u) => o + u);
    const sinks = [...builder.build().nodes.values()].filter((node) => node.kind === "sink");
    expect(sinks).toHaveLength(1);
  });
});
