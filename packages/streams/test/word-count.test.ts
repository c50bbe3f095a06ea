// The canonical example end to end through the driver: split lines into words, count them by word.

import { describe, expect, it } from "vitest";
import { Materialized, Serdes, StreamsBuilder, TimeWindows, TopologyTestDriver } from "../src/index.js";

describe("word count", () => {
  it("counts words across lines through a repartition by word", () => {
    const builder = new StreamsBuilder();
    builder
      .stream<string, string>("lines", { keySerde: Serdes.String(), valueSerde: Serdes.String() })
      .flatMapValues((line) => line.toLowerCase().split(/\s+/))
      .groupBy((_key, word) => word, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
      .count(Materialized.as("word-counts"))
      .toStream()
      .to("counts", { keySerde: Serdes.String(), valueSerde: Serdes.Int64() });
    const driver = new TopologyTestDriver(builder.build(), { applicationId: "wc" });
    const lines = driver.createInputTopic("lines", Serdes.String(), Serdes.String());
    const counts = driver.createOutputTopic("counts", Serdes.String(), Serdes.Int64());

    lines.pipeInput(null, "the cat", 1);
    lines.pipeInput(null, "The dog", 2);

    expect(counts.readKeyValuesToList()).toEqual([
      { key: "the", value: 1 },
      { key: "cat", value: 1 },
      { key: "the", value: 2 },
      { key: "dog", value: 1 },
    ]);
    expect(driver.getKeyValueStore<string, number>("word-counts").all()).toEqual([
      { key: "cat", value: 1 },
      { key: "dog", value: 1 },
      { key: "the", value: 2 },
    ]);
    expect(driver.producedTopicNames()).toEqual(
      expect.arrayContaining(["wc-word-counts-repartition", "wc-word-counts-changelog", "counts"]),
    );
  });

  it("runs windowed, as docs/streams.md shows it", () => {
    const builder = new StreamsBuilder();
    builder
      .stream<string, string>("lines", { keySerde: Serdes.String(), valueSerde: Serdes.String() })
      .flatMapValues((line) => line.toLowerCase().split(/\s+/))
      .groupBy((_key, word) => word, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
      .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 5_000))
      .count(Materialized.as("word-counts"))
      .toStream()
      .map((windowed, count) => [`${windowed.key}@${windowed.window.start}`, count])
      .to("counts", { keySerde: Serdes.String(), valueSerde: Serdes.Int64() });

    const driver = new TopologyTestDriver(builder.build(), { applicationId: "wc" });
    driver.createInputTopic("lines", Serdes.String(), Serdes.String()).pipeInput(null, "the cat", 1_000);
    expect(driver.createOutputTopic("counts", Serdes.String(), Serdes.Int64()).readKeyValuesToList()).toEqual(
      [
        { key: "the@0", value: 1 },
        { key: "cat@0", value: 1 },
      ],
    );
  });
});
