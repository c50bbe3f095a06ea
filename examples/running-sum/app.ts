// The running sum: a Brook Streams application that adds up the attendee counts on `attendees`, per venue
// (the key), and writes each new total to `attendees-total`. It keeps only the accumulator, one number per
// venue in the store "attendance", and runs exactly once: each commit (every 100 ms) writes the new totals,
// the store's changelog records and the input offsets in one transaction, so a process killed at any
// moment (kill -9) and started again carries on from the last commit and never adds an event twice.
// Usage: node --import tsx examples/running-sum/app.ts
import { KafkaStreams, Materialized, Serdes, StreamsBuilder } from "@brook/streams";
import { connect, main, onStop } from "../shared/brook.js";
import {
  applicationId,
  ensureRunningSumTopics,
  inputTopic,
  outputTopic,
  parseCount,
  storeName,
} from "./topics.js";

const builder = new StreamsBuilder();
builder
  .stream<string, string>(inputTopic, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
  .flatMapValues((text) => {
    const count = parseCount(text);
    return count === undefined ? [] : [count];
  })
  .groupByKey({ keySerde: Serdes.String(), valueSerde: Serdes.Int64() })
  .aggregate(
    () => 0,
    (_venue, count, total) => total + count,
    Materialized.as<string, number>(storeName).withKeySerde(Serdes.String()).withValueSerde(Serdes.Int64()),
  )
  .toStream()
  .to(outputTopic, { keySerde: Serdes.String(), valueSerde: Serdes.Int64() });

main(async () => {
  const brook = connect(applicationId);
  await ensureRunningSumTopics(brook);
  const app = new KafkaStreams(builder.build(), {
    applicationId,
    brook,
    processingGuarantee: "exactly_once",
    // A stable name: started again after kill -9, it takes its partitions back at once instead of
    // waiting for the group to drop the killed one (run a second copy with INSTANCE=2).
    instanceId: `running-sum-${process.env.INSTANCE ?? "1"}`,
  });
  let shown = "";
  const show = () => {
    if (app.state() !== "running") return; // the store answers once its tasks are restored
    const totals = app
      .store<string, number>(storeName)
      .all()
      .map(({ key, value }) => `${key}: ${value} attendees`)
      .join(", ");
    if (totals !== "" && totals !== shown) console.log(totals);
    shown = totals;
  };
  const ticker = setInterval(show, 1_000);
  onStop(async () => {
    clearInterval(ticker);
    await app.close(); // commits what it has processed and leaves the group
  });
  app.onStateChange((state) => {
    if (state === "running")
      console.log(`running-sum ${process.pid} is running: ${inputTopic} → ${outputTopic}, exactly once`);
    if (state === "rebalancing") console.log(`running-sum ${process.pid} is waiting for its partitions`);
    if (state === "error") {
      console.error("error: the application stopped (see above)");
      process.exit(1);
    }
  });
  await app.start();
});
