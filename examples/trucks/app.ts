// The trucks' streams application: for each GPS position on `trucks_gps` it looks up the truck's previous
// one (the store "last-positions", one entry per truck, kept by a processor of its own), and writes the
// speed between them (great-circle distance over the time between the two fixes) to `trucks_speed`; those
// speeds are averaged per truck and minute of event time (tumbling windows, 10 s of grace) into
// `trucks_avg_speed`, updated with every speed. Exactly once.
// Usage: node --import tsx examples/trucks/app.ts
import type { KeyValueStore, ProcessorContext, ProcessorSupplier } from "@brook/streams";
import { KafkaStreams, Materialized, Serdes, StreamsBuilder, TimeWindows } from "@brook/streams";
import { connect, main, onStop } from "../shared/brook.js";
import {
  type AverageSpeed,
  applicationId,
  averageTopic,
  ensureTruckTopics,
  gpsTopic,
  haversineKm,
  type Position,
  type Speed,
  speedTopic,
} from "./fleet.js";

const lastPositions = "last-positions";

/** Each position after the first, as the speed from the truck's previous position; older fixes are skipped. */
const speedFromLastPosition: ProcessorSupplier<string, Position, string, Speed> = () => {
  let context: ProcessorContext<string, Speed>;
  let store: KeyValueStore<string, Position>;
  return {
    init(given) {
      context = given;
      store = given.getStateStore(lastPositions);
    },
    process(record) {
      const last = store.get(record.key);
      const hours = last === null ? 0 : (record.timestamp - Date.parse(last.time)) / 3_600_000;
      if (last !== null && hours <= 0) return; // a repeated or out-of-order fix
      store.put(record.key, record.value);
      if (last === null) return;
      const kmh = haversineKm(last, record.value) / hours;
      context.forward({ ...record, value: { ...record.value, kmh } });
    },
  };
};

const builder = new StreamsBuilder();
builder.addStateStore({
  kind: "keyValue",
  name: lastPositions,
  keySerde: Serdes.String(),
  valueSerde: Serdes.Json<Position>(),
});
const speeds = builder
  .stream<string, Position>(gpsTopic, { keySerde: Serdes.String(), valueSerde: Serdes.Json<Position>() })
  .process(speedFromLastPosition, lastPositions);
speeds.to(speedTopic, { keySerde: Serdes.String(), valueSerde: Serdes.Json<Speed>() });
speeds
  .groupByKey({ keySerde: Serdes.String(), valueSerde: Serdes.Json<Speed>() })
  .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 10_000))
  .aggregate(
    () => ({ sumKmh: 0, reports: 0 }),
    (_truck, speed, { sumKmh, reports }) => ({ sumKmh: sumKmh + speed.kmh, reports: reports + 1 }),
    Materialized.as<string, { sumKmh: number; reports: number }>("speed-sums").withValueSerde(Serdes.Json()),
  )
  .toStream()
  .map((windowed, { sumKmh, reports }): [string, AverageSpeed] => [
    windowed.key,
    {
      truck: windowed.key,
      start: new Date(windowed.window.start).toISOString(),
      end: new Date(windowed.window.end).toISOString(),
      kmh: sumKmh / reports,
      reports,
    },
  ])
  .to(averageTopic, { keySerde: Serdes.String(), valueSerde: Serdes.Json<AverageSpeed>() });

main(async () => {
  const brook = connect(applicationId);
  await ensureTruckTopics(brook);
  const app = new KafkaStreams(builder.build(), {
    applicationId,
    brook,
    processingGuarantee: "exactly_once",
  });
  onStop(() => app.close());
  app.onStateChange((state) => {
    if (state === "running") {
      console.log(
        `trucks ${process.pid} is running: ${gpsTopic} → ${speedTopic}, ${averageTopic}, exactly once`,
      );
    }
    if (state === "error") {
      console.error("error: the application stopped (see above)");
      process.exit(1);
    }
  });
  await app.start();
});
