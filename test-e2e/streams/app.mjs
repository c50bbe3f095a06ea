// A Brook Streams application as its own process, so the e2e tests can SIGKILL it mid-transaction. It
// counts records by key: IN → groupByKey → count (store "counts") → OUT (key string, value int64), with
// the guarantee and standbys from the environment. Prints one JSON line per state change; SIGTERM closes
// it (commit, leave the group) and exits.
import { Brook, silentLogger } from "@brook/client";
import { KafkaStreams, Materialized, Serdes, StreamsBuilder } from "@brook/streams";

const {
  BOOTSTRAP,
  APP_ID,
  IN,
  OUT,
  GUARANTEE = "exactly_once",
  STANDBYS = "0",
  SERVER,
  INSTANCE_ID,
} = process.env;
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const builder = new StreamsBuilder();
builder
  .stream(IN, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
  .groupByKey()
  .count(Materialized.as("counts"))
  .toStream()
  .to(OUT, { keySerde: Serdes.String(), valueSerde: Serdes.Int64() });

const brook = new Brook({ brokers: BOOTSTRAP.split(","), clientId: APP_ID, logger: silentLogger });
const app = new KafkaStreams(builder.build(), {
  applicationId: APP_ID,
  brook,
  processingGuarantee: GUARANTEE,
  numStandbyReplicas: Number(STANDBYS),
  applicationServer: SERVER,
  instanceId: INSTANCE_ID || undefined,
});
app.onStateChange((state) => {
  say({ state, tasks: app.localTasks().map((task) => task.name) });
  if (state === "error") process.exit(1); // the supervisor (if any) starts a new one
});
process.on("SIGTERM", () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
await app.start();
