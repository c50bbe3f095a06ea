// A second Brook Streams application as its own process: a stream-table join feeding a windowed
// aggregation. Orders (key: customer, value: amount) join the customers table (key: customer, value:
// region), so orders of unknown customers drop out; what is left is summed per customer per one-minute
// window of the orders' own timestamps, and every new sum goes to OUT as "<customer>@<window start>" →
// int64. Exactly once. Prints one JSON line per state change; SIGTERM closes it.
import { Brook, silentLogger } from "@brook/client";
import { KafkaStreams, Materialized, Serdes, StreamsBuilder, TimeWindows } from "@brook/streams";

const { BOOTSTRAP, APP_ID, ORDERS, CUSTOMERS, OUT } = process.env;
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);
const strings = { keySerde: Serdes.String(), valueSerde: Serdes.String() };

const builder = new StreamsBuilder();
const customers = builder.table(CUSTOMERS, strings);
builder
  .stream(ORDERS, strings)
  .join(customers, (amount) => Number(amount))
  .groupByKey({ keySerde: Serdes.String(), valueSerde: Serdes.Int64() })
  .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 3_600_000))
  .aggregate(
    () => 0,
    (_customer, amount, total) => total + amount,
    Materialized.as("totals").withValueSerde(Serdes.Int64()),
  )
  .toStream()
  .map((windowed, total) => [`${windowed.key}@${windowed.window.start}`, total])
  .to(OUT, { keySerde: Serdes.String(), valueSerde: Serdes.Int64() });

const brook = new Brook({ brokers: BOOTSTRAP.split(","), clientId: APP_ID, logger: silentLogger });
const app = new KafkaStreams(builder.build(), {
  applicationId: APP_ID,
  brook,
  processingGuarantee: "exactly_once",
  numStandbyReplicas: 1,
});
app.onStateChange((state) => {
  say({ state, tasks: app.localTasks().map((task) => task.name) });
  if (state === "error") process.exit(1);
});
process.on("SIGTERM", () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
await app.start();
