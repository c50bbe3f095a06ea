// State stores: the key-value, window and session interfaces, every write a changelog record, and a store
// restored from its changelog equal to the one that wrote it, alone and inside a new driver.

import { describe, expect, it } from "vitest";
import {
  type ChangelogRecord,
  InMemoryKeyValueStore,
  InMemorySessionStore,
  InMemoryWindowStore,
  Materialized,
  restoreFromChangelog,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
} from "../src/index.js";
import { strings } from "./helpers.js";

const topic = "app-s-changelog";

function logInto(records: ChangelogRecord[]) {
  return (key: Buffer, value: Buffer | null) => records.push({ topic, key, value, timestamp: 0 });
}

describe("the key-value store", () => {
  it("gets, puts, deletes, and reads ranges in key-byte order; every write is a changelog record", () => {
    const log: ChangelogRecord[] = [];
    const store = new InMemoryKeyValueStore("s", Serdes.String(), Serdes.Int32(), topic, logInto(log));
    for (const [key, value] of [
      ["c", 3],
      ["a", 1],
      ["b", 2],
      ["d", 4],
    ] as const) {
      store.put(key, value);
    }
    expect(store.delete("d")).toBe(4);
    store.put("a", null);
    expect(store.get("a")).toBeNull();
    expect(store.range("b", "c")).toEqual([
      { key: "b", value: 2 },
      { key: "c", value: 3 },
    ]);
    expect(store.all().map(({ key }) => key)).toEqual(["b", "c"]);
    expect(store.approximateNumEntries()).toBe(2);
    expect(
      log.map(({ key, value }) => [key.toString(), value === null ? null : value.readInt32BE()]),
    ).toEqual([
      ["c", 3],
      ["a", 1],
      ["b", 2],
      ["d", 4],
      ["d", null],
      ["a", null],
    ]);

    const restored = new InMemoryKeyValueStore("s", Serdes.String(), Serdes.Int32(), topic, () => {});
    expect(restoreFromChangelog(restored, log)).toBe(6);
    expect(restored.all()).toEqual(store.all());
  });
});

describe("the window store", () => {
  it("keeps one value per key and window start, drops windows past retention, and restores", () => {
    const log: ChangelogRecord[] = [];
    const store = new InMemoryWindowStore("s", 10, 20, Serdes.String(), Serdes.Int32(), topic, logInto(log));
    store.put("a", 1, 0);
    store.put("a", 2, 10);
    store.put("b", 3, 10);
    store.delete("b", 10);
    expect(store.get("a", 10)).toBe(2);
    expect(store.fetch("a", 0, 10).map(({ key, value }) => [key.window.start, value])).toEqual([
      [0, 1],
      [10, 2],
    ]);
    expect(store.fetchAll(10, 10)).toEqual([{ key: { key: "a", window: { start: 10, end: 20 } }, value: 2 }]);

    const restored = new InMemoryWindowStore("s", 10, 20, Serdes.String(), Serdes.Int32(), topic, () => {});
    restored.restore(log);
    expect(restored.all()).toEqual(store.all());

    store.put("a", 3, 20); // window 0 is now at the retention edge (20 - 20): gone
    expect(store.get("a", 0)).toBeNull();
    store.put("a", 9, 0); // and cannot be written again
    expect(store.fetch("a", 0, 100).map(({ key }) => key.window.start)).toEqual([10, 20]);
  });
});

describe("the session store", () => {
  it("finds a key's sessions by end and start, and restores", () => {
    const log: ChangelogRecord[] = [];
    const store = new InMemorySessionStore("s", 100, Serdes.String(), Serdes.Int32(), topic, logInto(log));
    store.put({ key: "a", window: { start: 0, end: 5 } }, 2);
    store.put({ key: "a", window: { start: 20, end: 30 } }, 3);
    store.put({ key: "b", window: { start: 1, end: 1 } }, 1);
    expect(store.findSessions("a", 4, 19).map(({ value }) => value)).toEqual([2]);
    expect(store.findSessions("a", 6, 25).map(({ value }) => value)).toEqual([3]);
    store.remove({ key: "a", window: { start: 0, end: 5 } });
    expect(store.fetch("a").map(({ key }) => key.window)).toEqual([{ start: 20, end: 30 }]);
    expect(store.get({ key: "b", window: { start: 1, end: 1 } })).toBe(1);

    const restored = new InMemorySessionStore("s", 100, Serdes.String(), Serdes.Int32(), topic, () => {});
    restored.restore(log);
    expect(restored.all()).toEqual(store.all());
  });
});

describe("changelogs through the driver", () => {
  function topology() {
    const builder = new StreamsBuilder();
    const grouped = builder.stream<string, string>("in", strings).groupByKey();
    grouped.count(Materialized.as("counts")).toStream().to("counts-out", { valueSerde: Serdes.Int64() });
    grouped.windowedBy(TimeWindows.ofSizeWithNoGrace(100)).count(Materialized.as("windowed"));
    grouped.windowedBy(SessionWindows.ofInactivityGapWithNoGrace(50)).count(Materialized.as("sessions"));
    return builder.build();
  }

  it("writes each store's changes to <applicationId>-<store>-changelog, readable as an output topic", () => {
    const driver = new TopologyTestDriver(topology(), { applicationId: "app" });
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    input.pipeInput("a", "x", 5);
    input.pipeInput("a", "y", 7);
    const changelog = driver.createOutputTopic("app-counts-changelog", Serdes.String(), Serdes.Int64());
    expect(changelog.readRecordsToList().map(({ key, value, timestamp }) => [key, value, timestamp])).toEqual(
      [
        ["a", 1, 5],
        ["a", 2, 7],
      ],
    );
    expect(driver.changelog("counts")).toHaveLength(2); // reading the topic does not consume the store's log
    expect(driver.changelog("sessions").map(({ value }) => value)).toEqual([
      Serdes.Int64().serialize(1, ""),
      null, // [5,5] merged away
      Serdes.Int64().serialize(2, ""),
    ]);
  });

  it("a new driver restored from those changelogs has the same stores and carries on from them", () => {
    const first = new TopologyTestDriver(topology(), { applicationId: "app" });
    const input = first.createInputTopic("in", Serdes.String(), Serdes.String());
    for (const [key, timestamp] of [
      ["a", 1],
      ["b", 2],
      ["a", 30],
      ["a", 120],
    ] as const) {
      input.pipeInput(key, "v", timestamp);
    }

    const second = new TopologyTestDriver(topology(), {
      applicationId: "app",
      changelogs: first.changelogs(),
    });
    for (const store of ["counts"]) {
      expect(second.getKeyValueStore(store).all()).toEqual(first.getKeyValueStore(store).all());
    }
    expect(second.getWindowStore("windowed").all()).toEqual(first.getWindowStore("windowed").all());
    expect(second.getSessionStore("sessions").all()).toEqual(first.getSessionStore("sessions").all());
    expect(second.changelog("counts")).toEqual([]); // restoring writes nothing

    second.createInputTopic("in", Serdes.String(), Serdes.String()).pipeInput("a", "v", 121);
    expect(second.createOutputTopic("counts-out", Serdes.String(), Serdes.Int64()).readKeyValue()).toEqual({
      key: "a",
      value: 4,
    });
    expect(second.getSessionStore<string, number>("sessions").fetch("a").at(-1)?.value).toBe(2);
  });
});
