// Serdes write the bytes Kafka's do, refuse what they cannot hold, and users can bring their own.

import { describe, expect, it } from "vitest";
import {
  type Serde,
  Serdes,
  SerializationError,
  StreamsBuilder,
  TopologyTestDriver,
  windowedSerde,
} from "../src/index.js";

describe("built-in serdes", () => {
  it("round-trip their values", () => {
    const cases: [Serde<unknown>, unknown][] = [
      [Serdes.String(), "héllo"],
      [Serdes.Json(), { a: [1, "two", null] }],
      [Serdes.Bytes(), Buffer.from([0, 255, 7])],
      [Serdes.Int32(), -2_147_483_648],
      [Serdes.Int64(), Number.MAX_SAFE_INTEGER],
      [Serdes.Double(), 3.25],
    ];
    for (const [serde, value] of cases)
      expect(serde.deserialize(serde.serialize(value, "t"), "t")).toEqual(value);
  });

  it("write Kafka's big-endian layouts for Int32, Int64 and Double", () => {
    expect(Serdes.Int32().serialize(1, "t")).toEqual(Buffer.from([0, 0, 0, 1]));
    expect(Serdes.Int64().serialize(258, "t")).toEqual(Buffer.from([0, 0, 0, 0, 0, 0, 1, 2]));
    expect(Serdes.Double().serialize(1, "t")).toEqual(Buffer.from([0x3f, 0xf0, 0, 0, 0, 0, 0, 0]));
  });

  it("refuse values and bytes they cannot hold", () => {
    expect(() => Serdes.Int32().serialize(2 ** 31, "t")).toThrow(SerializationError);
    expect(() => Serdes.Int32().deserialize(Buffer.alloc(3), "t")).toThrow(SerializationError);
    expect(() => Serdes.Int64().serialize(1.5, "t")).toThrow(SerializationError);
    expect(() =>
      Serdes.Int64().deserialize(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), "t"),
    ).toThrow(SerializationError);
    expect(() => Serdes.Json().deserialize(Buffer.from("{"), "t")).toThrow(SerializationError);
  });

  it("windowed keys are the inner key then start and end", () => {
    const serde = windowedSerde(Serdes.String());
    const bytes = serde.serialize({ key: "k", window: { start: 1, end: 2 } }, "t");
    expect(bytes).toEqual(Buffer.from([0x6b, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]));
    expect(serde.deserialize(bytes, "t")).toEqual({ key: "k", window: { start: 1, end: 2 } });
  });
});

describe("a serde of one's own", () => {
  it("is used by sources and sinks", () => {
    interface Point {
      x: number;
      y: number;
    }
    const pointSerde: Serde<Point> = {
      serialize: ({ x, y }) => Buffer.from(`${x},${y}`),
      deserialize: (bytes) => {
        const [x, y] = bytes.toString().split(",").map(Number);
        return { x, y };
      },
    };
    const builder = new StreamsBuilder();
    builder
      .stream("points", { keySerde: Serdes.String(), valueSerde: pointSerde })
      .mapValues(({ x, y }) => ({ x: y, y: x }))
      .to("swapped", { valueSerde: pointSerde });
    const driver = new TopologyTestDriver(builder.build(), { applicationId: "app" });
    driver.createInputTopic("points", Serdes.String(), Serdes.String()).pipeInput("p", "1,2");
    expect(driver.createOutputTopic("swapped", Serdes.String(), Serdes.String()).readKeyValue()).toEqual({
      key: "p",
      value: "2,1",
    });
  });
});
