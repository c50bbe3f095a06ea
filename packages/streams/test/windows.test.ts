// Windowed aggregations through the driver: tumbling, hopping and session windows on event time, grace
// periods and late records, session merging, and what the window and session stores hold.

import { describe, expect, it } from "vitest";
import {
  type KTable,
  Materialized,
  Serdes,
  SessionWindows,
  type StreamsBuilder,
  TimeWindows,
  TopologyError,
  type Windowed,
} from "../src/index.js";
import { driverFor, strings } from "./helpers.js";

/** Windowed results as `key@start-end` → value, to read them as strings. */
function toOut<V>(table: KTable<Windowed<string>, V>): void {
  table
    .toStream()
    .map((windowed, value): [string, string | null] => [
      `${windowed.key}@${windowed.window.start}-${windowed.window.end}`,
      value === null ? null : String(value),
    ])
    .to("out", strings);
}

function run(build: (builder: StreamsBuilder) => void, input: [string, number][]) {
  const driver = driverFor(build, { defaultValueSerde: Serdes.String() });
  const topic = driver.createInputTopic("in", Serdes.String(), Serdes.String());
  for (const [key, timestamp] of input) topic.pipeInput(key, `${key}${timestamp}`, timestamp);
  const out = driver.createOutputTopic("out", Serdes.String(), Serdes.String());
  return { driver, out: out.readKeyValuesToList().map(({ key, value }) => `${key}=${value}`) };
}

describe("tumbling windows", () => {
  it("count per key and window [start, start + size)", () => {
    const { out } = run(
      (b) =>
        toOut(
          b
            .stream<string, string>("in", strings)
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
            .count(),
        ),
      [
        ["a", 0],
        ["a", 9],
        ["b", 5],
        ["a", 10],
      ],
    );
    expect(out).toEqual(["a@0-10=1", "a@0-10=2", "b@0-10=1", "a@10-20=1"]);
  });

  it("without grace, a record for a window that has ended is dropped and counted as late", () => {
    const { out, driver } = run(
      (b) =>
        toOut(
          b
            .stream<string, string>("in", strings)
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeWithNoGrace(10))
            .count(),
        ),
      [
        ["a", 1],
        ["a", 12],
        ["a", 9],
      ],
    );
    expect(out).toEqual(["a@0-10=1", "a@10-20=1"]);
    expect(driver.metrics.dropped.late).toBe(1);
  });

  it("with grace, a window takes records until stream time passes its end plus the grace period", () => {
    const { out, driver } = run(
      (b) =>
        toOut(
          b
            .stream<string, string>("in", strings)
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
            .count(),
        ),
      [
        ["a", 1],
        ["a", 12], // stream time 12: [0,10) closes at 15
        ["a", 9], // still open
        ["a", 15], // stream time 15: [0,10) closes now
        ["a", 8], // late: dropped
      ],
    );
    expect(out).toEqual(["a@0-10=1", "a@10-20=1", "a@0-10=2", "a@10-20=2"]);
    expect(driver.metrics.dropped.late).toBe(1);
  });
});

describe("hopping windows", () => {
  it("put a record in every window that holds it", () => {
    const windows = TimeWindows.ofSizeWithNoGrace(10).advanceBy(5);
    expect(windows.windowsFor(7)).toEqual([
      { start: 0, end: 10 },
      { start: 5, end: 15 },
    ]);
    expect(windows.windowsFor(3)).toEqual([{ start: 0, end: 10 }]);
    const { out } = run(
      (b) => toOut(b.stream<string, string>("in", strings).groupByKey().windowedBy(windows).count()),
      [
        ["a", 3],
        ["a", 7],
        ["a", 12],
      ],
    );
    expect(out).toEqual(["a@0-10=1", "a@0-10=2", "a@5-15=1", "a@5-15=2", "a@10-20=1"]);
  });

  it("drop a late record from the closed windows only", () => {
    const { out, driver } = run(
      (b) =>
        toOut(
          b
            .stream<string, string>("in", strings)
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5))
            .count(),
        ),
      [
        ["a", 11],
        ["a", 7], // [0,10) has closed (stream time 11); [5,15) is open
      ],
    );
    expect(out).toEqual(["a@5-15=1", "a@10-20=1", "a@5-15=2"]);
    expect(driver.metrics.dropped.late).toBe(1);
  });

  it("refuse an advance larger than the size", () => {
    expect(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11)).toThrow(TopologyError);
    expect(() => TimeWindows.ofSizeWithNoGrace(0)).toThrow(TopologyError);
  });
});

describe("windowed reduce and aggregate", () => {
  it("reduce() and aggregate() per window, into window stores", () => {
    const { driver } = run(
      (b) => {
        const grouped = b.stream<string, string>("in", strings).groupByKey();
        const windows = TimeWindows.ofSizeWithNoGrace(10);
        // Kept past its close (size + grace) for querying, as Kafka's Materialized.withRetention.
        grouped
          .windowedBy(windows)
          .reduce((a, v) => `${a},${v}`, Materialized.as<string, string>("joined").withRetention(100));
        grouped.windowedBy(windows).aggregate(
          () => 0,
          (_k, v, total) => total + v.length,
          Materialized.as<string, number>("lengths").withValueSerde(Serdes.Int32()).withRetention(100),
        );
      },
      [
        ["a", 1],
        ["a", 2],
        ["a", 11],
      ],
    );
    const joined = driver.getWindowStore<string, string>("joined");
    expect(joined.get("a", 0)).toBe("a1,a2");
    expect(joined.fetch("a", 0, 10).map(({ key, value }) => [key.window, value])).toEqual([
      [{ start: 0, end: 10 }, "a1,a2"],
      [{ start: 10, end: 20 }, "a11"],
    ]);
    expect(driver.getWindowStore<string, number>("lengths").get("a", 0)).toBe(4);
  });
});

describe("session windows", () => {
  const sessions =
    (gapMs: number, graceMs = 0) =>
    (b: StreamsBuilder) =>
      toOut(
        b
          .stream<string, string>("in", strings)
          .groupByKey()
          .windowedBy(SessionWindows.ofInactivityGapAndGrace(gapMs, graceMs))
          .count(Materialized.as("sessions")),
      );

  it("merge records within the gap; a record bridging two sessions merges them, with tombstones for the old", () => {
    // Grace keeps [0,3] open (and stored) at stream time 10; without it, it would have closed by then.
    const { out, driver } = run(sessions(5, 20), [
      ["a", 0],
      ["a", 3], // joins [0,0]
      ["a", 10], // more than 5 after 3: a new session
      ["b", 4], // other keys have their own sessions
      ["a", 6], // within 5 of both: merges [0,3] and [10,10]
    ]);
    expect(out).toEqual([
      "a@0-0=1",
      "a@0-0=null",
      "a@0-3=2",
      "a@10-10=1",
      "b@4-4=1",
      "a@0-3=null",
      "a@10-10=null",
      "a@0-10=4",
    ]);
    const store = driver.getSessionStore<string, number>("sessions");
    expect(store.fetch("a").map(({ key, value }) => [key.window, value])).toEqual([
      [{ start: 0, end: 10 }, 4],
    ]);
    expect(store.findSessions("b", 0, 4)).toHaveLength(1);
  });

  it("without grace, a session is closed once stream time passes its end: a record cannot join it", () => {
    const { out } = run(sessions(5), [
      ["a", 0],
      ["a", 10],
      ["a", 6], // within 5 of 0 too, but [0,0] closed at stream time 10: only [10,10] takes it
    ]);
    expect(out).toEqual(["a@0-0=1", "a@10-10=1", "a@10-10=null", "a@6-10=2"]);
  });

  it("drop a record whose session would end before stream time minus grace", () => {
    const { out, driver } = run(sessions(5, 10), [
      ["a", 100],
      ["b", 92], // ends 92 >= 100 - 10: accepted
      ["b", 80], // [80,80] ends 80 < 90: late; too far from 92 to merge
      ["b", 88], // within 5 of 92 (and 80 is gone): [88,92]
    ]);
    expect(out).toEqual(["a@100-100=1", "b@92-92=1", "b@92-92=null", "b@88-92=2"]);
    expect(driver.metrics.dropped.late).toBe(1);
  });

  it("aggregate() merges sessions with the merger, reduce() with the reducer", () => {
    const { driver } = run(
      (b) => {
        const grouped = b
          .stream<string, string>("in", strings)
          .groupByKey()
          .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 20));
        grouped.aggregate(
          () => "",
          (_k, v, agg) => agg + v,
          (_k, left, right) => `${left}|${right}`,
          Materialized.as<string, string>("agg").withValueSerde(Serdes.String()),
        );
        grouped.reduce((a, v) => `${a}+${v}`, Materialized.as("red"));
      },
      [
        ["a", 0],
        ["a", 10],
        ["a", 5],
      ],
    );
    expect(
      driver
        .getSessionStore("agg")
        .fetch("a")
        .map(({ value }) => value),
    ).toEqual(["|a0|a10a5"]);
    expect(
      driver
        .getSessionStore("red")
        .fetch("a")
        .map(({ value }) => value),
    ).toEqual(["a0+a10+a5"]);
  });
});
