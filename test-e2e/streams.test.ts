// Brook Streams on three real nodes (issue 18): an exactly-once count by key, run by application
// instances that are separate processes, keeps exact results while instances join, leave, are SIGKILLed,
// and a broker leader is SIGKILLed. The check is strict: every key's committed updates on the output topic
// are exactly 1, 2, ..., n (a lost update leaves a gap, a doubled one repeats a number), and n is the
// number of records produced with that key.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { Brook, silentLogger } from "@brook/client";
import { KafkaStreams, Materialized, Serdes, StreamsBuilder } from "@brook/streams";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./wait.js";

let cluster: Cluster;
let brook: Brook;
const apps = new Set<ChildProcess>();

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: silentLogger });
}, 60_000);
afterAll(async () => {
  for (const app of apps) app.kill("SIGKILL");
  await cluster?.stop();
});

interface App {
  process: ChildProcess;
  states: { state: string; tasks: string[] }[];
}

function startApp(env: Record<string, string>, script = "app.mjs"): App {
  const child = spawn(process.execPath, [new URL(`./streams/${script}`, import.meta.url).pathname], {
    env: { ...process.env, BOOTSTRAP: cluster.bootstrap, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  apps.add(child);
  child.on("exit", () => apps.delete(child));
  const app: App = { process: child, states: [] };
  createInterface({ input: child.stdout! }).on("line", (line) => {
    app.states.push(JSON.parse(line));
  });
  return app;
}

async function stopApp(app: App, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  if (app.process.exitCode !== null) return;
  const exited = once(app.process, "exit");
  app.process.kill(signal);
  await exited;
}

const running = (app: App) => app.states.at(-1)?.state === "running";

/** Every committed update on `topic`, per key, in order; stops after `expectedTotal` updates. */
async function updatesByKey(topic: string, expectedTotal: number): Promise<Map<string, number[]>> {
  const updates = new Map<string, number[]>();
  const consumer = brook.consumer({ isolationLevel: "read_committed", maxWaitMs: 100 });
  await consumer.assign([{ topic, fromBeginning: true }]);
  let seen = 0;
  const stop = setTimeout(() => void consumer.stop(), 60_000);
  for await (const message of consumer) {
    const key = message.key!.toString();
    updates.set(key, [...(updates.get(key) ?? []), Number(message.value!.readBigInt64BE())]);
    if (++seen >= expectedTotal) break;
  }
  clearTimeout(stop);
  await consumer.close();
  return updates;
}

describe("streams on a cluster", () => {
  it("counts exactly once while instances come, go, die, and a leader dies", async () => {
    const admin = brook.admin();
    const [input, output, applicationId] = ["eos-in", "eos-out", "eos-count"];
    await admin.createTopics({
      topics: [
        { topic: input, numPartitions: 6, replicationFactor: 3 },
        { topic: output, numPartitions: 6, replicationFactor: 3 },
      ],
    });
    const env = { APP_ID: applicationId, IN: input, OUT: output, GUARANTEE: "exactly_once", STANDBYS: "1" };
    const first = startApp(env);
    await waitFor("the first instance to run", 30_000, async () => running(first) || undefined);

    const keys = 12;
    const rounds = 60;
    const perRound = 50;
    const producer = brook.producer();
    const sent = new Map<string, number>();
    const instances = [first];
    for (let round = 0; round < rounds; round++) {
      const messages = Array.from({ length: perRound }, (_, i) => ({
        key: `key-${(round * perRound + i) % keys}`,
        value: "1",
      }));
      for (const { key } of messages) sent.set(key, (sent.get(key) ?? 0) + 1);
      await producer.send({ topic: input, messages });
      if (round === 5 || round === 10) instances.push(startApp(env)); // two more join
      if (round === 20) await stopApp(instances.shift()!, "SIGKILL"); // one dies mid-transaction
      if (round === 30) {
        // The leader of the input's partition 0 dies.
        const [topic] = await admin.describeTopics({ topics: [input] });
        await cluster.nodes.find((node) => node.id === topic!.partitions[0]!.leader)!.kill();
      }
      if (round === 40) await stopApp(instances.shift()!, "SIGTERM"); // one leaves cleanly
      if (round === 45) instances.push(startApp(env));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await producer.close();
    for (const node of cluster.nodes) if (!node.running) await node.start();

    const total = rounds * perRound;
    const updates = await updatesByKey(output, total);
    expect(updates.size).toBe(keys);
    for (const [key, values] of updates) {
      const expected = Array.from({ length: sent.get(key)! }, (_, i) => i + 1);
      expect(values, `updates of ${key}`).toEqual(expected);
    }
    for (const app of instances) await stopApp(app, "SIGTERM");
    await admin.close();
  }, 180_000);

  it("joins a stream with a table and sums it per window exactly once through an instance's and a leader's death", async () => {
    const admin = brook.admin();
    const [orders, customers, output, applicationId] = [
      "orders",
      "customers",
      "order-totals",
      "order-totals",
    ];
    await admin.createTopics({
      topics: [orders, customers, output].map((topic) => ({ topic, numPartitions: 4, replicationFactor: 3 })),
    });
    // Customers c0..c19 in regions; c20..c24 never join the table, so their orders drop out.
    const producer = brook.producer();
    await producer.send({
      topic: customers,
      messages: Array.from({ length: 20 }, (_, i) => ({
        key: `c${i}`,
        value: `region-${i % 3}`,
        timestamp: 0,
      })),
    });
    const env = { APP_ID: applicationId, ORDERS: orders, CUSTOMERS: customers, OUT: output };
    const first = startApp(env, "orders-app.mjs");
    const second = startApp(env, "orders-app.mjs");
    // The table is loaded before any order arrives (Brook does not yet order a task's inputs by timestamp).
    const customerEnds = await admin.fetchTopicOffsets(customers);
    await waitFor("the customers table to be read", 60_000, async () => {
      const committed = await admin
        .fetchOffsets({ groupId: applicationId, topics: [customers] })
        .catch(() => []);
      return (
        customerEnds.every(
          (end) => (committed.find((c) => c.partition === end.partition)?.offset ?? -1) >= end.high,
        ) || undefined
      );
    });

    // Orders with event times over three one-minute windows; amount = 1 + (i mod 7).
    const base = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);
    const expected = new Map<string, number[]>(); // "<customer>@<window start>" → running sums
    let third: App | undefined;
    const rounds = 30;
    for (let round = 0; round < rounds; round++) {
      const messages = Array.from({ length: 25 }, (_, j) => {
        const i = round * 25 + j;
        const timestamp = base + Math.floor((i / (rounds * 25)) * 180_000);
        return { key: `c${i % 25}`, value: String(1 + (i % 7)), timestamp };
      });
      for (const { key, value, timestamp } of messages) {
        if (Number(key.slice(1)) >= 20) continue;
        const id = `${key}@${timestamp - (timestamp % 60_000)}`;
        const sums = expected.get(id) ?? [];
        sums.push((sums.at(-1) ?? 0) + Number(value));
        expected.set(id, sums);
      }
      await producer.send({ topic: orders, messages });
      if (round === 8) await stopApp(first, "SIGKILL");
      if (round === 10) third = startApp(env, "orders-app.mjs");
      if (round === 16) {
        const [topic] = await admin.describeTopics({ topics: [orders] });
        await cluster.nodes.find((node) => node.id === topic!.partitions[1]!.leader)!.kill();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await producer.close();
    for (const node of cluster.nodes) if (!node.running) await node.start();

    const total = [...expected.values()].reduce((sum, sums) => sum + sums.length, 0);
    const updates = await updatesByKey(output, total);
    expect(new Set(updates.keys())).toEqual(new Set(expected.keys()));
    for (const [id, sums] of expected) expect(updates.get(id), `updates of ${id}`).toEqual(sums);
    for (const app of [second, third]) if (app) await stopApp(app, "SIGTERM");
    await admin.close();
  }, 180_000);

  it("hands a task over with its standby copy, so the new owner restores nothing, and answers queries", async () => {
    const admin = brook.admin();
    const input = "standby-in";
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 4, replicationFactor: 3 }] });
    const producer = brook.producer();
    const keys = 1_000;
    await producer.send({
      topic: input,
      messages: Array.from({ length: 2 * keys }, (_, i) => ({ key: `k${i % keys}`, value: "1" })),
    });
    await producer.close();

    /** Restores on the instance that stays, when the other leaves, with and without standby copies. */
    async function handOver(standbys: number): Promise<{ restored: number; counts: (number | null)[] }> {
      const applicationId = `standby-${standbys}`;
      const start = async (server: string) => {
        const builder = new StreamsBuilder();
        builder
          .stream<string, string>(input, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
          .groupByKey()
          .count(Materialized.as("counts"));
        const app = new KafkaStreams(builder.build(), {
          applicationId,
          brook,
          processingGuarantee: "exactly_once",
          numStandbyReplicas: standbys,
          applicationServer: server,
        });
        await app.start();
        return app;
      };
      const leaving = await start("127.0.0.1:7001");
      await leaving.waitUntilRunning();
      const ends = await admin.fetchTopicOffsets(input);
      await waitFor("the input to be counted", 60_000, async () => {
        const committed = await admin.fetchOffsets({ groupId: applicationId, topics: [input] });
        return (
          ends.every((end) => committed.find((c) => c.partition === end.partition)?.offset === end.high) ||
          undefined
        );
      });
      const staying = await start("127.0.0.1:7002");
      await waitFor("both to run tasks (and keep copies of each other's)", 60_000, async () => {
        const [a, b] = [leaving.instanceMetadata(), staying.instanceMetadata()];
        const copies = standbys === 0 || (a?.standby.length && b?.standby.length);
        return (a?.active.length && b?.active.length && copies) || undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // the copies catch up
      const restored = async () => {
        const metric = await staying.metrics().getSingleMetric("brook_streams_restore_records_total")?.get();
        return (metric?.values ?? []).reduce((sum, each) => sum + each.value, 0);
      };
      const before = await restored();
      await leaving.close();
      await waitFor("the staying instance to run every task, restored", 60_000, async () =>
        staying.localTasks().filter((task) => task.ready).length === 4 ? true : undefined,
      );
      const counts = Array.from({ length: keys }, (_, i) =>
        staying.store<string, number>("counts").get(`k${i}`),
      );
      await waitFor(
        "key lookups to name the staying instance",
        10_000,
        async () =>
          staying.metadataForKey("counts", "k1", Serdes.String())?.endpoint === "127.0.0.1:7002" || undefined,
      );
      const after = await restored();
      // Clean joins and leaves: no instance had to replace its consumer and producer on the way.
      const restarts = async (app: KafkaStreams) =>
        (await app.metrics().getSingleMetric("brook_streams_thread_restarts_total")?.get())?.values[0]
          ?.value ?? 0;
      expect([await restarts(leaving), await restarts(staying)]).toEqual([0, 0]);
      await staying.close();
      return { restored: after - before, counts };
    }

    const warm = await handOver(1);
    expect(warm.restored, "records restored with standby copies").toBe(0);
    expect(warm.counts.filter((count) => count !== 2).slice(0, 5)).toEqual([]);
    const cold = await handOver(0);
    expect(cold.restored, "records restored without them").toBeGreaterThan(0);
    expect(cold.counts.filter((count) => count !== 2).slice(0, 5)).toEqual([]);
    await admin.close();
  }, 180_000);

  it("commits past transaction markers, so an idle exactly-once application has no lag (KAFKA-6607)", async () => {
    const admin = brook.admin();
    const [input, applicationId] = ["idle-in", "idle-words"];
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 2, replicationFactor: 3 }] });
    const builder = new StreamsBuilder();
    builder
      .stream<string, string>(input, { keySerde: Serdes.String(), valueSerde: Serdes.String() })
      .groupBy((_key, word) => word) // through a repartition topic, written in transactions
      .count(Materialized.as("words"));
    const app = new KafkaStreams(builder.build(), {
      applicationId,
      brook,
      processingGuarantee: "exactly_once",
      defaultKeySerde: Serdes.String(),
      defaultValueSerde: Serdes.String(),
    });
    await app.start();
    await app.waitUntilRunning();
    const countOf = (word: string) => {
      try {
        return app.store<string, number>("words").get(word);
      } catch {
        return undefined; // restoring, or rebalancing
      }
    };
    const producer = brook.producer();
    await producer.send({
      topic: input,
      messages: ["a", "b", "a", "c"].map((word) => ({ key: null, value: word })),
    });
    await producer.close();
    const lag = await waitFor(
      "the group to have committed everything, markers included",
      30_000,
      async () => {
        // The lag can read 0 for a moment before the words are counted: the input offsets are committed
        // with the transaction while its markers are still on their way to the repartition topic (whose
        // last stable offset then still stands at the transaction's start). So the count comes first.
        if (countOf("a") !== 2) return undefined;
        const { partitions } = await admin.groupLag(applicationId);
        const repartition = partitions.filter((p) => p.topic.endsWith("-repartition"));
        const total = partitions.reduce((sum, p) => sum + (p.lag ?? 1), 0);
        return repartition.length > 0 && total === 0 ? partitions : undefined;
      },
    );
    expect(lag.every((p) => p.lag === 0)).toBe(true);
    expect(app.store<string, number>("words").get("a")).toBe(2);
    // Per task: sub-topology 0 read the 4 lines, sub-topology 1 the 4 words from the repartition topic;
    // fewer when a rebalance on a loaded machine made a task anew (its state restored, its counters not).
    const processed =
      (await app.metrics().getSingleMetric("brook_streams_records_processed_total")?.get())?.values ?? [];
    const bySubtopology = (s: string) =>
      processed
        .filter((each) => String(each.labels.task).startsWith(`${s}_`))
        .reduce((sum, each) => sum + each.value, 0);
    expect(bySubtopology("0")).toBeLessThanOrEqual(4);
    expect(bySubtopology("1")).toBeLessThanOrEqual(4);
    expect(bySubtopology("0") + bySubtopology("1")).toBeGreaterThan(0);
    expect(await app.metrics().metrics()).toMatch(
      /brook_streams_process_latency_seconds_count\{application_id="idle-words",task="1_\d"\}/,
    );
    await app.close();
    await admin.close();
  }, 60_000);

  it("takes a named instance's tasks back at once when it restarts after a SIGKILL (static membership)", async () => {
    const admin = brook.admin();
    const [input, output, applicationId] = ["static-in", "static-out", "static-count"];
    await admin.createTopics({
      topics: [input, output].map((topic) => ({ topic, numPartitions: 2, replicationFactor: 3 })),
    });
    const env = { APP_ID: applicationId, IN: input, OUT: output, INSTANCE_ID: "counter-1" };
    const producer = brook.producer();
    const send = (n: number) =>
      producer.send({
        topic: input,
        messages: Array.from({ length: n }, (_, i) => ({ key: `k${i % 5}`, value: "1" })),
      });
    const first = startApp(env);
    await waitFor("the instance to run", 30_000, async () => running(first) || undefined);
    await send(50);
    await stopApp(first, "SIGKILL");
    await send(50);
    const restartedMs = Date.now();
    const second = startApp(env);
    const updates = await updatesByKey(output, 100);
    // Well inside the 10 s session timeout a new member would wait out.
    expect(Date.now() - restartedMs).toBeLessThan(8_000);
    for (const values of updates.values())
      expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await producer.close();
    await stopApp(second, "SIGTERM");
    await admin.close();
  }, 60_000);
});
