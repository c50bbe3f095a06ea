// The word count, windowed: a Brook Streams application that splits each line of `word-count-lines` into
// lower-case words, groups them by word (through a repartition topic, so each word is counted in one
// place), counts each word per minute of event time (tumbling windows, 10 s of grace for late lines) and
// writes every new count to `word-counts`: key the word, value {"start","end","count"}. Exactly once.
// Usage: node --import tsx examples/word-count/app.ts
import { KafkaStreams, Materialized, Serdes, StreamsBuilder, TimeWindows } from "@brook/streams";
import { connect, main, onStop } from "../shared/brook.js";
import {
  applicationId,
  countsTopic,
  ensureWordCountTopics,
  graceMs,
  linesTopic,
  storeName,
  type WindowCount,
  windowMs,
  wordsOf,
} from "./topics.js";

const builder = new StreamsBuilder();
builder
  .stream<string | null, string>(linesTopic, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
  .flatMapValues((line) => wordsOf(line))
  .groupBy((_key, word) => word, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
  .windowedBy(TimeWindows.ofSizeAndGrace(windowMs, graceMs))
  .count(Materialized.as(storeName))
  .toStream()
  .map((windowed, count): [string, string] => {
    const { start, end } = windowed.window;
    const value: WindowCount = { start: iso(start), end: iso(end), count };
    return [windowed.key, JSON.stringify(value)];
  })
  .to(countsTopic, { keySerde: Serdes.String(), valueSerde: Serdes.String() });

main(async () => {
  const brook = connect(applicationId);
  await ensureWordCountTopics(brook);
  const app = new KafkaStreams(builder.build(), {
    applicationId,
    brook,
    processingGuarantee: "exactly_once",
  });
  onStop(() => app.close()); // commits what it has counted and leaves the group
  app.onStateChange((state) => {
    if (state === "running") {
      console.log(
        `word-count ${process.pid} is running: ${linesTopic} → ${countsTopic}, per minute, exactly once`,
      );
    }
    if (state === "error") {
      console.error("error: the application stopped (see above)");
      process.exit(1);
    }
  });
  await app.start();
});

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
