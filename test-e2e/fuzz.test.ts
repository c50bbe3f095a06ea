// The network-level fuzzer (docs/operations.md, "Fuzzing"): for FUZZ_MS (20 s by default) random and
// mutated requests go to every gRPC method of a live node and to its Kafka listener, while an acks=all
// workload produces and reads back. Rule: bad input never stops a node nor makes it stop serving: the
// process is alive, its log has no fatal line, its resident memory stays under FUZZ_RSS_MAX_MB, and
// every record the workload had acknowledged is read back. FUZZ_SEED=<n> replays the request choices.
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { NodeIdentity } from "@brook/protocol";
import { clusterSecretKey } from "@brook/security";
import { type Cluster, startCluster } from "@brook/testkit";
import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fuzzClient, GrpcFuzzer } from "./fuzz/grpc-fuzzer.js";
import { KafkaFuzzer } from "./fuzz/kafka-fuzzer.js";
import { RssSampler, residentBytes, scanLog } from "./fuzz/node-watch.js";
import { Values } from "./fuzz/values.js";
import { answerWaitMsMax, Workload } from "./fuzz/workload.js";
import { rawBroker } from "./grpc.js";
import { waitUntil } from "./wait.js";

const durationMs = Number(process.env.FUZZ_MS ?? 20_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/**
 * The bound on the node's resident memory under fuzzing. An idle node holds about 150 MiB; requests are
 * capped at 64 MiB each and a few are in flight at once, so anything near this is a leak or an
 * allocation sized by the wire.
 */
const rssMaxBytes = Number(process.env.FUZZ_RSS_MAX_MB ?? 512) * 1024 * 1024;
/** Requests (or Kafka connections) in flight at once. */
const concurrency = 6;
/** A node id that holds the cluster secret but is no member: node-only methods run past the identity check. */
const strangerNodeId = 9;

const workloadTopic = "workload-acks-all";
/** Names the fuzzer's requests use: real topics, internal ones, missing ones; never the workload's. */
const topicPool = [
  "fuzz-target",
  "fuzz-target",
  "fuzz-small",
  "fuzz-absent",
  "",
  "__consumer_offsets",
  "__transaction_state",
];

let cluster: Cluster;

beforeAll(async () => {
  // An ACL the fuzzer creates must not lock the workload out (open unless an ACL matches).
  const assertionOnSignal = fileURLToPath(new URL("./fuzz/assertion-on-signal.mjs", import.meta.url));
  cluster = await startCluster({
    nodes: 1,
    env: { BROOK_ALLOW_EVERYONE_IF_NO_ACL_FOUND: "true", NODE_OPTIONS: `--import ${assertionOnSignal}` },
  });
  const admin = rawBroker(cluster.bootstrap);
  await admin.call("CreateTopics", {
    topics: [
      { name: workloadTopic, numPartitions: 1, replicationFactor: 1, configs: [] },
      { name: "fuzz-target", numPartitions: 3, replicationFactor: 1, configs: [] },
      {
        name: "fuzz-small",
        numPartitions: 1,
        replicationFactor: 1,
        configs: [{ key: "max.message.bytes", value: "1024" }],
      },
    ],
  });
  admin.close();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("the fuzzer", () => {
  it(
    "sends random and mutated requests to every gRPC method and the Kafka listener; the node stays up and serving",
    async () => {
      console.log(`fuzz: seed=${seed} for ${durationMs} ms (FUZZ_SEED=${seed} replays the request choices)`);
      const node = cluster.nodes[0];
      const pid = node.pid;
      if (pid === undefined) throw new Error("the node has no pid");
      const logStart = statSync(node.logFile).size;
      const values = new Values(seed, topicPool);
      const grpcFuzzer = new GrpcFuzzer(values);
      const kafkaFuzzer = new KafkaFuzzer(values, node.kafkaPort);
      const stranger: NodeIdentity = {
        nodeId: strangerNodeId,
        key: clusterSecretKey(readFileSync(cluster.clusterSecretFile, "utf8")),
      };
      const clients = new Map<string, grpc.Client>();
      const clientFor = (port: "broker" | "controller", asNode: boolean) => {
        const key = `${port}/${asNode}`;
        let client = clients.get(key);
        if (client === undefined) {
          const address = `127.0.0.1:${port === "broker" ? node.brokerPort : node.controllerPort}`;
          client = fuzzClient(address, asNode ? stranger : undefined);
          clients.set(key, client);
        }
        return client;
      };

      const workload = new Workload(cluster.bootstrap, workloadTopic);
      workload.start();
      const rss = new RssSampler(pid);
      const outcomes = new Map<string, Map<string, number>>();
      const count = (what: string, outcome: string) => {
        const byOutcome = outcomes.get(what) ?? new Map<string, number>();
        byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
        outcomes.set(what, byOutcome);
      };
      const deadline = Date.now() + durationMs;
      const worker = async () => {
        while (Date.now() < deadline) {
          if (values.random.chance(0.7)) {
            const method = values.random.pick(grpcFuzzer.methods);
            const outcome = await grpcFuzzer.call(clientFor(method.port, values.random.chance(0.5)), method);
            count(method.path, outcome);
          } else {
            const outcome = await kafkaFuzzer.connection();
            for (const apiKey of outcome.apiKeys)
              count(`kafka api ${apiKey}`, outcome.closedByNode ? "closed" : "open");
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      for (const client of clients.values()) client.close();
      const result = await workload.stop();
      const peakRssBytes = rss.stop();
      const log = scanLog(node.logFile, logStart);

      const requests = [...outcomes.values()].reduce(
        (sum, byOutcome) => sum + [...byOutcome.values()].reduce((a, b) => a + b, 0),
        0,
      );
      console.log(
        `fuzz: seed=${seed} requests=${requests} acked=${result.acked.size} read=${result.read.size} ` +
          `longestAckWaitMs=${result.longestAckWaitMs} peakRssMiB=${(peakRssBytes / 2 ** 20).toFixed(0)} ` +
          `produceErrors=${result.produceErrors.length}`,
      );
      for (const [what, byOutcome] of [...outcomes].sort())
        console.log(`  ${what}: ${JSON.stringify(Object.fromEntries(byOutcome))}`);
      for (const [what, times] of log.errors) console.log(`  node error x${times}: ${what}`);

      expect(node.running, "the node process is alive").toBe(true);
      expect(residentBytes(pid), "the node process is alive").toBeDefined();
      expect(log.fatal, "fatal lines in the node's log").toEqual([]);
      expect([...log.errors.keys()], "error lines in the node's log (a handler failed untyped)").toEqual([]);
      expect(peakRssBytes, `peak resident memory under ${rssMaxBytes / 2 ** 20} MiB`).toBeLessThan(
        rssMaxBytes,
      );
      const untyped = [...outcomes].filter(([, byOutcome]) =>
        [...byOutcome.keys()].some((o) => o.includes("UNKNOWN_SERVER_ERROR")),
      );
      expect(
        untyped.map(([what]) => what),
        "methods that answered bad input with an untyped error",
      ).toEqual([]);
      const untouched = grpcFuzzer.methods.map((method) => method.path).filter((path) => !outcomes.has(path));
      expect(untouched, "gRPC methods the fuzzer never called").toEqual([]);
      const untouchedApis = kafkaFuzzer.apis
        .map((api) => `kafka api ${api.apiKey}`)
        .filter((what) => !outcomes.has(what));
      expect(untouchedApis, "Kafka api keys the fuzzer never sent").toEqual([]);
      expect(result.acked.size, "the workload's acks=all produces were answered").toBeGreaterThan(10);
      expect(result.longestAckWaitMs).toBeLessThan(answerWaitMsMax);
      const lost = [...result.acked].filter(([offset, value]) => result.read.get(offset) !== value);
      expect(lost, "acknowledged records not read back at their offsets").toEqual([]);
    },
    durationMs + 120_000,
  );

  it("a failed assertion stops the node: one fatal line naming it, exit status 1", async () => {
    const node = cluster.nodes[0];
    const logStart = statSync(node.logFile).size;
    const pid = node.pid;
    if (pid === undefined || !node.running) throw new Error("the node is not running");
    process.kill(pid, "SIGUSR2"); // assertion-on-signal.mjs fails an assertion in the node
    await waitUntil("the node to stop", 10_000, () => !node.running);
    expect(node.exitCode).toBe(1);
    // The log reaches its file through a pipe: wait for the line rather than read once.
    await waitUntil("the fatal line", 5_000, () => scanLog(node.logFile, logStart).fatal.length > 0);
    const { fatal } = scanLog(node.logFile, logStart);
    expect(fatal).toHaveLength(1);
    expect(JSON.parse(fatal[0]).msg).toBe(
      "assertion failed: injected by the test on SIGUSR2: the node stops",
    );
  });
});
