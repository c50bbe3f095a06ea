// The README's quick start, run through the real `brook` CLI against a real node.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const brookBin = fileURLToPath(new URL("../packages/cli/bin/brook.js", import.meta.url));
let cluster: Cluster;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function brook(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [brookBin, ...args],
      { env: { ...process.env, BROOK_BOOTSTRAP: cluster.bootstrap }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? "");
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const result = await brook(args, input);
  expect(result.stderr.includes("error:") ? result.stderr : "").toBe("");
  expect(result.code).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe("brook CLI quick start", () => {
  it("creates, lists and describes a topic", async () => {
    expect(await ok(["topic", "create", "orders", "--partitions", "3"])).toContain("created topic orders");
    expect((await ok(["topic", "list"])).split("\n")).toContain("orders");
    const described = JSON.parse(await ok(["topic", "describe", "orders", "--json"]));
    expect(described.name).toBe("orders");
    expect(described.partitions).toHaveLength(3);
    expect(described.partitions[0]).toMatchObject({
      partition: 0,
      leader: 1,
      leaderEpoch: 0,
      replicas: [1],
      isr: [1],
      highWatermark: 0,
      logStartOffset: 0,
    });
  });

  it("produces lines with keys and consumes them back", async () => {
    const produced = await brook(["produce", "orders", "--key-separator", ":"], "alice:1\nbob:2\nalice:3\n");
    expect(produced.stderr).toContain("produced 3 record(s)");
    const consumed = await ok(["consume", "orders", "--from-beginning", "--exit-at-end", "--format", "kv"]);
    expect(consumed.trim().split("\n").sort()).toEqual(["alice\t1", "alice\t3", "bob\t2"]);
    const aliceFirst = consumed.indexOf("alice\t1");
    expect(aliceFirst).toBeLessThan(consumed.indexOf("alice\t3")); // one key, one partition, in order

    const [first] = (await ok(["consume", "orders", "--from-beginning", "--exit-at-end", "--format", "json"]))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(first).toMatchObject({ topic: "orders", offset: expect.any(Number), key: expect.any(String) });
    const one = await ok([
      "consume",
      "orders",
      "--partition",
      String(first.partition),
      "--offset",
      String(first.offset),
      "--max-messages",
      "1",
      "--format",
      "json",
    ]);
    expect(JSON.parse(one.trim())).toMatchObject({
      partition: first.partition,
      offset: first.offset,
      value: first.value,
    });
  });

  it("exits at once on an empty topic with --exit-at-end", async () => {
    await ok(["topic", "create", "empty"]);
    const result = await ok(["consume", "empty", "--from-beginning", "--exit-at-end"]);
    expect(result).toBe("");
  });

  it("reports the cluster as JSON in the documented shape", async () => {
    const status = JSON.parse(await ok(["cluster", "status", "--json"]));
    expect(status).toMatchObject({
      controllers: [{ id: 1, leader: true, term: expect.any(Number) }],
      brokers: [{ id: 1, host: "127.0.0.1", port: cluster.nodes[0].brokerPort, state: "alive" }],
      offlinePartitions: 0,
      underReplicatedPartitions: 0,
    });
  });

  it("benchmarks produce and consume with a JSON summary", async () => {
    const keys = ["records", "bytes", "seconds", "recordsPerSec", "mbPerSec", "latencyMs"];
    const produced = JSON.parse(
      await ok([
        "bench",
        "produce",
        "--topic",
        "bench",
        "--records",
        "20000",
        "--record-size",
        "100",
        "--acks",
        "1",
        "--json",
      ]),
    );
    expect(Object.keys(produced)).toEqual(keys);
    expect(produced).toMatchObject({ records: 20_000, bytes: 2_000_000 });
    const consumed = JSON.parse(
      await ok(["bench", "consume", "--topic", "bench", "--records", "20000", "--json"]),
    );
    expect(consumed.records).toBe(20_000);
    expect(consumed.latencyMs.p99).toBeGreaterThanOrEqual(consumed.latencyMs.p50);
  });

  it("benchmarks transactions, then reads them read_committed", async () => {
    const produced = JSON.parse(
      await ok([
        "bench",
        "produce",
        "--topic",
        "bench-txn",
        "--records",
        "2000",
        "--transaction-batches",
        "5",
        "--json",
      ]),
    );
    // 2,000 records in batches of 100, five batches to a transaction.
    expect(produced).toMatchObject({ records: 2_000, bytes: 200_000 });
    const consumed = JSON.parse(
      await ok([
        "bench",
        "consume",
        "--topic",
        "bench-txn",
        "--records",
        "2000",
        "--isolation",
        "read_committed",
        "--json",
      ]),
    );
    expect(consumed.records).toBe(2_000);
  });

  it("times single records: produce --in-flight 1 and e2e, each record's own round trip", async () => {
    const single = JSON.parse(
      await ok(["bench", "produce", "--topic", "single", "--records", "200", "--in-flight", "1", "--json"]),
    );
    expect(single).toMatchObject({ records: 200, bytes: 200 * 100 });
    // One at a time: the run lasts at least 200 round trips, each at least the p50's half.
    expect(single.seconds * 1000).toBeGreaterThan(200 * (single.latencyMs.p50 / 2));
    const e2e = JSON.parse(await ok(["bench", "e2e", "--topic", "e2e", "--records", "100", "--json"]));
    expect(Object.keys(e2e)).toEqual([
      "records",
      "bytes",
      "seconds",
      "recordsPerSec",
      "mbPerSec",
      "latencyMs",
    ]);
    expect(e2e.records).toBe(100);
    expect(e2e.latencyMs.p50).toBeGreaterThan(0);
    expect(e2e.latencyMs.max).toBeGreaterThanOrEqual(e2e.latencyMs.p99);
    // Exactly the timed records and the warm-up ones reached the topic: none lost, none sent twice.
    const offsets = JSON.parse(await ok(["topic", "describe", "e2e", "--json"]));
    expect(offsets.partitions[0].highWatermark).toBeGreaterThanOrEqual(101);
  });

  it("fails with the typed error and exit code 1 on bad input", async () => {
    const bad = await brook(["topic", "create", "bad/name"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: INVALID_TOPIC: .*bad\/name/);
    const dup = await brook(["topic", "create", "orders"]);
    expect(dup.stderr).toMatch(/TOPIC_ALREADY_EXISTS/);
    const missing = await brook(["topic", "describe", "nope"]);
    expect(missing.stderr).toMatch(/UNKNOWN_TOPIC/);
    const deleted = await ok(["topic", "delete", "orders"]);
    expect(deleted).toContain("deleted topic orders");
  });
});
