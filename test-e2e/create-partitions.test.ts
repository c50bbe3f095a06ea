// Growing a topic on three real nodes (Kafka's CreatePartitions): through the CLI (`brook topic alter`)
// and the SDK, the new partitions get leaders on every broker and carry records both ways; refusals are
// typed and name the current count. And each broker's Kafka endpoint is registration data: `brook
// cluster status --json` lists the launcher's Kafka ports whether or not a Kafka listener serves them.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Brook } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "./read-all.js";

const brookBin = fileURLToPath(new URL("../packages/cli/bin/brook.js", import.meta.url));
let cluster: Cluster;
let brook: Brook;

/** Runs the `brook` CLI against the cluster; resolves with its stdout, failing on a non-zero exit. */
function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [brookBin, ...args],
      { env: { ...process.env, BROOK_BOOTSTRAP: cluster.bootstrap }, timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`brook ${args.join(" ")}: ${stderr}`)) : resolve(stdout),
    );
  });
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(",") });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe("CreatePartitions on three nodes", () => {
  it("`brook topic alter` grows a topic from 3 to 6 partitions, each with a leader, and says what it did", async () => {
    const admin = brook.admin();
    await admin.createTopics({ topics: [{ topic: "grown", numPartitions: 3, replicationFactor: 3 }] });
    await admin.close();

    const out = await cli(["topic", "alter", "grown", "--partitions", "6"]);
    expect(out).toContain("topic grown: 3 -> 6 partitions");
    expect(out).toContain("keys now map to partitions over the new count");
    for (const partition of [3, 4, 5]) expect(out).toMatch(new RegExp(`│ ${partition} +│ [123] +│`));

    const described = JSON.parse(await cli(["topic", "describe", "grown", "--json"]));
    expect(described.partitions.map((p: { partition: number }) => p.partition)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const p of described.partitions) {
      expect(p.leader).toBeGreaterThan(0);
      expect(p.replicas).toHaveLength(3);
    }
    // Leaders of the new partitions: one on each broker.
    expect(new Set(described.partitions.slice(3).map((p: { leader: number }) => p.leader))).toEqual(
      new Set([1, 2, 3]),
    );
    // The brokers holding the topic, with their Kafka endpoints.
    expect(described.brokers).toEqual(
      cluster.nodes.map((node) => ({
        id: node.id,
        host: "127.0.0.1",
        port: node.brokerPort,
        kafkaHost: "127.0.0.1",
        kafkaPort: node.kafkaPort,
      })),
    );
  });

  it("the new partitions take records through the SDK and give them back", async () => {
    const producer = brook.producer();
    await producer.send({
      topic: "grown",
      messages: [0, 1, 2, 3, 4, 5].map((partition) => ({ value: `p${partition}`, partition })),
    });
    await producer.close();
    const messages = await readAll(brook, "grown", 6);
    expect(messages.map((m) => [m.partition, m.value?.toString()]).sort()).toEqual(
      [0, 1, 2, 3, 4, 5].map((partition) => [partition, `p${partition}`]),
    );
  });

  it("the SDK's createPartitions grows with validate-only first, and refuses with typed errors", async () => {
    const admin = brook.admin();
    await admin.createPartitions({ topicPartitions: [{ topic: "grown", count: 8 }], validateOnly: true });
    expect((await admin.describeTopics({ topics: ["grown"] }))[0].partitions).toHaveLength(6);
    await admin.createPartitions({
      topicPartitions: [{ topic: "grown", count: 7, assignments: [[3, 1, 2]] }],
    });
    const [grown] = await admin.describeTopics({ topics: ["grown"] });
    expect(grown.partitions[6]).toMatchObject({ partition: 6, leader: 3, replicas: [3, 1, 2] });

    await expect(
      admin.createPartitions({ topicPartitions: [{ topic: "grown", count: 7 }] }),
    ).rejects.toMatchObject({
      code: "INVALID_PARTITIONS",
      message: expect.stringContaining("has 7 partition(s)"),
    });
    await expect(
      admin.createPartitions({ topicPartitions: [{ topic: "nope", count: 2 }] }),
    ).rejects.toMatchObject({
      code: "UNKNOWN_TOPIC",
    });
    await expect(
      admin.createPartitions({ topicPartitions: [{ topic: "grown", count: 8, assignments: [[1, 1, 2]] }] }),
    ).rejects.toMatchObject({ code: "INVALID_REPLICA_ASSIGNMENT" });
    await admin.close();
  });

  it("`brook topic alter` with a count that does not grow the topic fails, naming the current count", async () => {
    await expect(cli(["topic", "alter", "grown", "--partitions", "2"])).rejects.toThrow(
      /INVALID_PARTITIONS.*topic 'grown' has 7 partition\(s\)/,
    );
  });
});

describe("Kafka endpoints as registration data", () => {
  it("`brook cluster status --json` lists each broker's Kafka host and port (the launcher's free ports)", async () => {
    const status = JSON.parse(await cli(["cluster", "status", "--json"]));
    expect(
      status.brokers.map((b: { id: number; kafkaHost: string; kafkaPort: number }) => [
        b.id,
        b.kafkaHost,
        b.kafkaPort,
      ]),
    ).toEqual(cluster.nodes.map((node) => [node.id, "127.0.0.1", node.kafkaPort]));
    expect(cluster.kafkaBootstrap).toBe(cluster.nodes.map((node) => `127.0.0.1:${node.kafkaPort}`).join(","));
    const table = await cli(["cluster", "status"]);
    for (const node of cluster.nodes) expect(table).toContain(`127.0.0.1:${node.kafkaPort}`);
  });
});
