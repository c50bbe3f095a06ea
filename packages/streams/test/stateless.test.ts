// Each stateless operator through the driver: records in, records out, timestamps and headers carried.

import { describe, expect, it } from "vitest";
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  Serdes,
  type StreamRecord,
  StreamsBuilder,
  TopologyTestDriver,
} from "../src/index.js";
import { driverFor, strings } from "./helpers.js";

function run(
  build: (builder: StreamsBuilder) => void,
  input: [string | null, string | null][],
  outputTopic = "out",
): { key: string | null; value: string | null }[] {
  const driver = driverFor(build, { defaultValueSerde: Serdes.String() });
  const topic = driver.createInputTopic("in", Serdes.String(), Serdes.String());
  for (const [index, [key, value]] of input.entries()) topic.pipeInput(key, value, index);
  return driver.createOutputTopic(outputTopic, Serdes.String(), Serdes.String()).readKeyValuesToList();
}

const words: [string, string][] = [
  ["a", "apple"],
  ["b", "banana"],
  ["c", "cherry"],
];

describe("stateless operators", () => {
  it("filter keeps records that pass, filterNot those that fail", () => {
    const keep = run(
      (b) =>
        b
          .stream<string, string>("in", strings)
          .filter((_k, v) => v.includes("an"))
          .to("out"),
      words,
    );
    expect(keep).toEqual([{ key: "b", value: "banana" }]);
    const drop = run(
      (b) =>
        b
          .stream<string, string>("in", strings)
          .filterNot((_k, v) => v.includes("an"))
          .to("out"),
      words,
    );
    expect(drop.map(({ key }) => key)).toEqual(["a", "c"]);
  });

  it("map changes key and value; mapValues only the value, and sees the key", () => {
    const mapped = run(
      (b) =>
        b
          .stream<string, string>("in", strings)
          .map((k, v) => [v, k])
          .to("out", strings),
      words.slice(0, 1),
    );
    expect(mapped).toEqual([{ key: "apple", value: "a" }]);
    const values = run(
      (b) =>
        b
          .stream<string, string>("in", strings)
          .mapValues((v, k) => `${k}:${v.length}`)
          .to("out", strings),
      words.slice(0, 2),
    );
    expect(values).toEqual([
      { key: "a", value: "a:5" },
      { key: "b", value: "b:6" },
    ]);
  });

  it("flatMap and flatMapValues forward zero or more records per input", () => {
    const flat = run(
      (b) =>
        b
          .stream<string, string>("in", strings)
          .flatMap((k, v): [string, string][] =>
            [...v.slice(0, 2)].map((letter) => [`${k}${letter}`, letter]),
          )
          .to("out", strings),
      [["x", "hi"]],
    );
    expect(flat).toEqual([
      { key: "xh", value: "h" },
      { key: "xi", value: "i" },
    ]);
    const values = run(
      (b) =>
        b
          .stream<string, string>("in", strings)
          .flatMapValues((v) => (v === "" ? [] : v.split(",")))
          .to("out"),
      [
        ["k", "1,2"],
        ["e", ""],
      ],
    );
    expect(values).toEqual([
      { key: "k", value: "1" },
      { key: "k", value: "2" },
    ]);
  });

  it("peek sees every record and passes it on unchanged", () => {
    const seen: string[] = [];
    const out = run(
      (b) =>
        b
          .stream<string, string>("in", strings)
          .peek((k, v) => seen.push(`${k}=${v}`))
          .to("out"),
      words.slice(0, 2),
    );
    expect(seen).toEqual(["a=apple", "b=banana"]);
    expect(out).toHaveLength(2);
  });

  it("selectKey replaces the key and keeps the value", () => {
    const out = run(
      (b) =>
        b
          .stream<string, string>("in", strings)
          .selectKey((_k, v) => v[0].toUpperCase())
          .to("out", strings),
      words.slice(0, 2),
    );
    expect(out).toEqual([
      { key: "A", value: "apple" },
      { key: "B", value: "banana" },
    ]);
  });

  it("split sends each record to the first branch it passes, the rest to the default branch", () => {
    const driver = driverFor((b) => {
      const branches = b
        .stream<string, string>("in", strings)
        .split({ name: "fruit-" })
        .branch((_k, v) => v.startsWith("a"), { name: "a" })
        .branch((_k, v) => v.length > 5)
        .defaultBranch();
      expect(Object.keys(branches)).toEqual(["fruit-a", "fruit-2", "fruit-0"]);
      branches["fruit-a"].to("starts-a");
      branches["fruit-2"].to("long");
      branches["fruit-0"].to("other");
    });
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    for (const [key, value] of [...words, ["d", "avocado"], ["e", "fig"]]) input.pipeInput(key, value);
    const values = (topic: string) =>
      driver.createOutputTopic(topic, Serdes.String(), Serdes.String()).readValuesToList();
    expect(values("starts-a")).toEqual(["apple", "avocado"]);
    expect(values("long")).toEqual(["banana", "cherry"]);
    expect(values("other")).toEqual(["fig"]);
  });

  it("branch(...predicates) gives one stream per predicate and drops records passing none", () => {
    const driver = driverFor((b) => {
      const [short, long] = b.stream<string, string>("in", strings).branch(
        (_k, v) => v.length <= 3,
        (_k, v) => v.length > 5,
      );
      short.to("short");
      long.to("long");
    });
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    for (const value of ["fig", "apple", "banana"]) input.pipeInput("k", value);
    const values = (topic: string) =>
      driver.createOutputTopic(topic, Serdes.String(), Serdes.String()).readValuesToList();
    expect(values("short")).toEqual(["fig"]);
    expect(values("long")).toEqual(["banana"]);
  });

  it("merge interleaves two streams in arrival order", () => {
    const driver = driverFor((b) => {
      const left = b.stream<string, string>("left", strings);
      const right = b.stream<string, string>("right", strings).mapValues((v) => v.toUpperCase());
      left.merge(right).to("out", strings);
    });
    driver.createInputTopic("left", Serdes.String(), Serdes.String()).pipeInput("l", "one");
    driver.createInputTopic("right", Serdes.String(), Serdes.String()).pipeInput("r", "two");
    driver.createInputTopic("left", Serdes.String(), Serdes.String()).pipeInput("l", "three");
    expect(driver.createOutputTopic("out", Serdes.String(), Serdes.String()).readValuesToList()).toEqual([
      "one",
      "TWO",
      "three",
    ]);
  });

  it("to() writes with the record's timestamp and headers; input topics stamp time from the clock", () => {
    const driver = driverFor((b) => b.stream<string, string>("in", strings).to("out"), {
      initialWallClockTimeMs: 1_000,
    });
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String(), { autoAdvanceMs: 10 });
    input.pipeInput("k", "v", undefined, { trace: Buffer.from("t1") });
    input.pipeInput("k", "w");
    input.pipeInput("k", "x", 5);
    const out = driver.createOutputTopic("out", Serdes.String(), Serdes.String());
    expect(out.getQueueSize()).toBe(3);
    expect(out.readRecord()).toEqual({
      key: "k",
      value: "v",
      timestamp: 1_000,
      headers: { trace: Buffer.from("t1") },
    });
    expect(out.readRecordsToList().map(({ timestamp }) => timestamp)).toEqual([1_010, 5]);
    expect(out.isEmpty()).toBe(true);
    expect(() => out.readRecord()).toThrow(/no record left/);
  });

  it("null keys and values pass through stateless operators as null", () => {
    const out = run(
      (b) =>
        b
          .stream<string | null, string | null>("in", strings)
          .filter(() => true)
          .to("out"),
      [
        [null, "v"],
        ["k", null],
      ],
    );
    expect(out).toEqual([
      { key: null, value: "v" },
      { key: "k", value: null },
    ]);
  });
});

describe("process(): processors of one's own", () => {
  it("get their stores, forward records and punctuate on stream time and on wall-clock time", () => {
    const builder = new StreamsBuilder();
    builder.addStateStore({
      kind: "keyValue",
      name: "seen",
      keySerde: Serdes.String(),
      valueSerde: Serdes.Int64(),
    });
    const punctuations: string[] = [];
    class Dedupe implements Processor<string, string, string, string> {
      private context!: ProcessorContext<string, string>;
      init(context: ProcessorContext<string, string>): void {
        this.context = context;
        context.schedule(100, "stream_time", (time) => punctuations.push(`stream@${time}`));
        context.schedule(1_000, "wall_clock_time", (time) => punctuations.push(`wall@${time}`));
      }
      process(record: StreamRecord<string, string>): void {
        const seen = this.context.getStateStore<KeyValueStore<string, number>>("seen");
        if (seen.get(record.value) !== null) return;
        seen.put(record.value, record.timestamp);
        this.context.forward(record);
      }
    }
    builder
      .stream<string, string>("in", strings)
      .process(() => new Dedupe(), "seen")
      .to("out", strings);
    const driver = new TopologyTestDriver(builder.build(), { applicationId: "app" });
    const input = driver.createInputTopic("in", Serdes.String(), Serdes.String());
    input.pipeInput("k", "a", 0);
    input.pipeInput("k", "a", 50);
    input.pipeInput("k", "b", 250);
    driver.advanceWallClockTime(999);
    driver.advanceWallClockTime(1);
    expect(driver.createOutputTopic("out", Serdes.String(), Serdes.String()).readValuesToList()).toEqual([
      "a",
      "b",
    ]);
    expect(punctuations).toEqual(["stream@0", "stream@250", "wall@1000"]);
  });
});
