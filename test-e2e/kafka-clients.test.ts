// Unmodified Kafka clients against a three-node Brook cluster (issue 15): kafkajs 2.2.4 and Debian's kcat
// (librdkafka) are the judges of compatibility, not Brook's own encoder. Records cross protocols both
// ways, keys, headers and timestamps included, and a key lands on the same partition from every client.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type Admin, Brook } from "@brook/client";
import { partitionForKey } from "@brook/protocol";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onPath } from "./on-path.js";
import { readAll } from "./read-all.js";
import { waitFor, waitUntil } from "./wait.js";

// kafkajs is CommonJS; its types are loose, and what is checked here is the wire, not its typings.
const require = createRequire(import.meta.url);
const { Kafka, logLevel, CompressionTypes } = require("kafkajs");

const kcat = onPath("kcat");
const memberScript = new URL("./kafka-member/member.mjs", import.meta.url).pathname;
if (!kcat && process.env.REQUIRE_KCAT) throw new Error("kcat is not on the PATH: apt-get install kcat");

let cluster: Cluster;
let brook: Brook;
// biome-ignore lint/suspicious/noExplicitAny: kafkajs's client, used as any real application would
let kafka: any;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
  brook = new Brook({ brokers: cluster.bootstrap.split(","), logger: quiet });
  kafka = new Kafka({
    brokers: cluster.kafkaBootstrap.split(","),
    clientId: "e2e",
    logLevel: logLevel.NOTHING,
  });
}, 60_000);
afterAll(async () => {
  await sharedAdmin?.close();
  await cluster?.stop();
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe("kafkajs admin", () => {
  it("creates, lists, describes, grows and deletes topics", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(
        await admin.createTopics({ topics: [{ topic: "admin-t", numPartitions: 3, replicationFactor: 3 }] }),
      ).toBe(true);
      // As in Kafka, an admin write is answered once the broker that took it shows it; the others
      // follow within milliseconds (the controller's commit reaches them), so a list asked of
      // another broker may briefly lag.
      await waitUntil("admin-t to be listed", 5_000, async () =>
        (await admin.listTopics()).includes("admin-t"),
      );
      const { topics } = await admin.fetchTopicMetadata({ topics: ["admin-t"] });
      expect(topics[0].partitions).toHaveLength(3);
      for (const p of topics[0].partitions) {
        expect(p.replicas).toHaveLength(3);
        expect(p.isr).toHaveLength(3);
        expect(p.leader).toBeGreaterThan(0);
      }
      const described = await admin.describeCluster();
      expect(described.brokers.map((b: { port: number }) => b.port).sort()).toEqual(
        cluster.nodes.map((n) => n.kafkaPort).sort(),
      );
      const configs = await admin.describeConfigs({
        resources: [{ type: 2, name: "admin-t" }],
        includeSynonyms: false,
      });
      const entries = configs.resources[0].configEntries;
      expect(
        entries.find((c: { configName: string }) => c.configName === "min.insync.replicas").configValue,
      ).toBe("2");
      await admin.createPartitions({ topicPartitions: [{ topic: "admin-t", count: 5 }] });
      const grown = await admin.fetchTopicMetadata({ topics: ["admin-t"] });
      expect(grown.topics[0].partitions).toHaveLength(5);
      await expect(admin.createTopics({ topics: [{ topic: "bad/name" }] })).rejects.toThrow(
        /INVALID_TOPIC|topic/i,
      );
      await admin.deleteTopics({ topics: ["admin-t"] });
      await waitUntil(
        "admin-t to leave the topic list",
        5_000,
        async () => !(await admin.listTopics()).includes("admin-t"),
      );
    } finally {
      await admin.disconnect();
    }
  });
});

describe("kafkajs producer", () => {
  it("produces with acks 0, 1 and -1, and Brook's SDK reads every record back", async () => {
    await createTopic("acks", 3);
    const producer = kafka.producer({ idempotent: false });
    await producer.connect();
    for (const acks of [0, 1, -1]) {
      const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `acks${acks}-${i}` }));
      await producer.send({ topic: "acks", acks, messages });
    }
    await producer.disconnect();
    const read = await readAll(brook, "acks", 150);
    expect(read.map((m) => m.value?.toString()).sort()).toEqual(
      [0, 1, -1].flatMap((acks) => Array.from({ length: 50 }, (_, i) => `acks${acks}-${i}`)).sort(),
    );
  });

  it("an idempotent producer's records land once each, gzip-compressed or not", async () => {
    await createTopic("idem", 6);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    const sends = [];
    for (let batch = 0; batch < 20; batch++) {
      const messages = Array.from({ length: 25 }, (_, i) => ({
        key: `k${(batch * 25 + i) % 17}`,
        value: `v${batch * 25 + i}`,
      }));
      sends.push(
        producer.send({
          topic: "idem",
          acks: -1,
          compression: batch % 2 ? CompressionTypes.GZIP : CompressionTypes.None,
          messages,
        }),
      );
    }
    await Promise.all(sends);
    await producer.disconnect();
    const read = await readAll(brook, "idem", 500);
    expect(read).toHaveLength(500);
    expect(new Set(read.map((m) => m.value?.toString())).size).toBe(500);
  });
});

describe("across protocols", () => {
  it("records from kafkajs reach Brook's SDK with key, headers and timestamp, on the key's partition", async () => {
    await createTopic("cross-in", 6);
    const producer = kafka.producer();
    await producer.connect();
    const timestamp = String(Date.UTC(2026, 0, 2, 3, 4, 5));
    const messages = Array.from({ length: 30 }, (_, i) => ({
      key: `user-${i}`,
      value: `payload-${i}`,
      timestamp,
      headers: { trace: `t${i}`, kind: "kafkajs" },
    }));
    const metadata = await producer.send({ topic: "cross-in", acks: -1, messages });
    await producer.disconnect();
    expect(metadata.length).toBeGreaterThan(0);
    const read = await readAll(brook, "cross-in", 30);
    expect(read).toHaveLength(30);
    for (const message of read) {
      const i = Number(message.key?.toString().slice("user-".length));
      expect(message.value?.toString()).toBe(`payload-${i}`);
      expect(message.timestamp).toBe(Number(timestamp));
      expect(message.headers.trace?.toString()).toBe(`t${i}`);
      expect(message.headers.kind?.toString()).toBe("kafkajs");
      expect(message.partition).toBe(await brookPartitionOf("cross-in", `user-${i}`));
    }
  });

  it.skipIf(!kcat)("kcat lists the brokers' Kafka endpoints and the topics", async () => {
    await createTopic("kcat-meta", 2);
    const listing = await run("kcat", ["-b", cluster.kafkaBootstrap, "-L", "-t", "kcat-meta"]);
    for (const node of cluster.nodes)
      expect(listing).toContain(`broker ${node.id} at 127.0.0.1:${node.kafkaPort}`);
    expect(listing).toMatch(/topic "kcat-meta" with 2 partitions/);
  });

  it.skipIf(!kcat)(
    "kcat -P records, keys and headers included, are read back exactly by brook's SDK",
    async () => {
      await createTopic("kcat-in", 3);
      const lines = Array.from({ length: 20 }, (_, i) => `key${i}:value${i}`).join("\n");
      await run(
        "kcat",
        [
          "-b",
          cluster.kafkaBootstrap,
          "-P",
          "-t",
          "kcat-in",
          "-K:",
          "-H",
          "source=kcat",
          "-X",
          "acks=all",
          "-X",
          "partitioner=murmur2_random",
        ],
        `${lines}\n`,
      );
      const read = await readAll(brook, "kcat-in", 20);
      expect(read.map((m) => `${m.key}:${m.value}`).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `key${i}:value${i}`).sort(),
      );
      for (const message of read) {
        expect(message.headers.source?.toString()).toBe("kcat");
        expect(message.partition).toBe(await brookPartitionOf("kcat-in", message.key?.toString() ?? ""));
      }
    },
  );

  it.skipIf(!kcat)("records produced by Brook's SDK are read back exactly by kcat and kafkajs", async () => {
    await createTopic("brook-out", 3);
    const producer = brook.producer();
    const timestamp = Date.UTC(2026, 5, 6, 7, 8, 9);
    await producer.send({
      topic: "brook-out",
      messages: Array.from({ length: 12 }, (_, i) => ({
        key: `b${i}`,
        value: `brook-${i}`,
        timestamp,
        headers: { n: String(i) },
      })),
    });
    await producer.close();

    const kcatOut = await run("kcat", [
      "-b",
      cluster.kafkaBootstrap,
      "-C",
      "-t",
      "brook-out",
      "-o",
      "beginning",
      "-e",
      "-q",
      "-f",
      "%k|%s|%T|%h|%p\\n",
    ]);
    const kcatRecords = kcatOut
      .trim()
      .split("\n")
      .map((line) => line.split("|"));
    expect(kcatRecords).toHaveLength(12);
    for (const [key, value, ts, headers, partition] of kcatRecords) {
      const i = Number(key.slice(1));
      expect(value).toBe(`brook-${i}`);
      expect(Number(ts)).toBe(timestamp);
      expect(headers).toBe(`n=${i}`);
      expect(Number(partition)).toBe(await brookPartitionOf("brook-out", key));
    }

    const seen: { key: string; value: string; timestamp: string; n: string }[] = [];
    const consumer = kafka.consumer({ groupId: "kafkajs-reads-brook", maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: "brook-out", fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({
            message,
          }: {
            message: { key: Buffer; value: Buffer; timestamp: string; headers: { n: Buffer } };
          }) => {
            seen.push({
              key: message.key.toString(),
              value: message.value.toString(),
              timestamp: message.timestamp,
              n: message.headers.n.toString(),
            });
            if (seen.length === 12) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    for (const record of seen) {
      const i = Number(record.key.slice(1));
      expect(record).toEqual({
        key: `b${i}`,
        value: `brook-${i}`,
        timestamp: String(timestamp),
        n: String(i),
      });
    }
  });
});

describe("kafkajs consumer group", () => {
  it("three members share six partitions; one is killed mid-stream and the others take its partitions over, losing nothing", async () => {
    const topic = "kgroup";
    const groupId = "kgroup-members";
    await createTopic(topic, 6);
    const producer = brook.producer();
    const send = (from: number, count: number) =>
      producer.send({
        topic,
        messages: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })),
      });
    await send(0, 300);

    const members = ["a", "b", "c"].map((name) => startMember(name, topic, groupId));
    try {
      // Every member holds two of the six partitions.
      await waitUntil("three members holding two partitions each", 30_000, () =>
        members.every((member) => member.assigned().length === 2),
      );
      const described = await admin().describeGroup(groupId);
      expect(described.members).toHaveLength(3);

      // Keep producing while a member dies without leaving.
      const more = send(300, 300);
      await waitUntil("records reaching every member", 15_000, () =>
        members.every((m) => m.records().length > 0),
      );
      members[0].kill();
      await more;
      await send(600, 300);

      const survivors = members.slice(1);
      await waitUntil(
        "the survivors to hold all six partitions",
        30_000,
        () => survivors.reduce((sum, member) => sum + member.assigned().length, 0) === 6,
      );
      const seen = () => new Set(members.flatMap((member) => member.records().map((r) => r.value)));
      await waitUntil("every record consumed", 30_000, () => seen().size === 900);
      expect([...seen()].sort()).toEqual(Array.from({ length: 900 }, (_, i) => `v${i}`).sort());

      // brook group describe shows the classic group: its two members, their partitions, and its lag.
      const lag = await waitFor("the group's lag to reach 0", 15_000, async () => {
        const current = await admin().groupLag(groupId);
        return current.totalLag === 0 && current.members.length === 2 ? current : undefined;
      });
      expect(lag.members.flatMap((m) => m.partitions).length).toBe(6);
    } finally {
      for (const member of members) member.kill();
      await producer.close();
    }
  });

  it.skipIf(!kcat)(
    "kcat -G consumes as a group member and commits, as brook group describe shows",
    async () => {
      await createTopic("kcat-group", 3);
      const producer = brook.producer();
      await producer.send({
        topic: "kcat-group",
        messages: Array.from({ length: 30 }, (_, i) => ({ key: `g${i}`, value: `kg${i}` })),
      });
      await producer.close();
      const out = await run("kcat", [
        "-b",
        cluster.kafkaBootstrap,
        "-G",
        "kcat-g",
        "-o",
        "beginning",
        "-e",
        "-q",
        "-X",
        "enable.auto.commit=true",
        "-X",
        "auto.commit.interval.ms=100",
        "kcat-group",
      ]);
      expect(out.trim().split("\n").sort()).toEqual(Array.from({ length: 30 }, (_, i) => `kg${i}`).sort());
      const lag = await waitFor("kcat's commits", 15_000, async () => {
        const current = await admin().groupLag("kcat-g");
        return current.partitions.length === 3 && current.totalLag === 0 ? current : undefined;
      });
      expect(lag.partitions.map((p) => p.committedOffset).reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(30);
    },
  );
});

describe("the README's Kafka clients section", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const block = (name: string) => {
    const section = readme.slice(
      readme.indexOf(`<!-- readme-${name}`),
      readme.indexOf(`<!-- /readme-${name} -->`),
    );
    return section
      .slice(section.indexOf("\n```") + 1)
      .replace(/^```\w*\n/, "")
      .replace(/\n```\s*$/, "");
  };
  /** The example's own comment lines say what it prints. */
  const promised = (code: string, comment: string) =>
    code
      .split("\n")
      .filter((line) => line.startsWith(comment))
      .map((line) => line.slice(comment.length));
  const here = (code: string) => code.replaceAll("127.0.0.1:9094", cluster.kafkaBootstrap.split(",")[0]);

  it.skipIf(!kcat)("runs as written and prints what it shows", async () => {
    const shell = block("kcat");
    const output = await run("sh", ["-c", here(shell)]);
    expect(output.trim().split("\n")).toEqual(promised(shell, "# "));

    const script = block("kafkajs");
    const dir = new URL("../node_modules/.brook-readme/", import.meta.url);
    mkdirSync(dir, { recursive: true });
    const file = new URL("payments.mjs", dir);
    writeFileSync(file, here(script));
    try {
      const printed = await run(process.execPath, [file.pathname]);
      expect(printed.trim().split("\n")).toEqual(promised(script, "// "));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("compression", () => {
  const codecs = ["gzip", "snappy", "lz4", "zstd"] as const;

  it.skipIf(!kcat)(
    "batches kcat compresses with each codec are stored as they are and read by Brook's SDK",
    async () => {
      await createTopic("kcat-codecs", 1);
      for (const codec of codecs) {
        await run(
          "kcat",
          ["-b", cluster.kafkaBootstrap, "-P", "-t", "kcat-codecs", "-z", codec, "-X", "acks=all"],
          `${codec}-1\n${codec}-2\n`,
        );
      }
      const read = await readAll(brook, "kcat-codecs", 8);
      expect(read.map((m) => m.value?.toString())).toEqual(
        codecs.flatMap((codec) => [`${codec}-1`, `${codec}-2`]),
      );
    },
  );

  it.skipIf(!kcat)("batches Brook's SDK compresses with each codec are read by kcat", async () => {
    await createTopic("brook-codecs", 1);
    for (const codec of codecs) {
      const producer = brook.producer({ compression: codec });
      await producer.send({
        topic: "brook-codecs",
        messages: [{ value: `${codec}-a` }, { value: `${codec}-b` }],
      });
      await producer.close();
    }
    const out = await run("kcat", [
      "-b",
      cluster.kafkaBootstrap,
      "-C",
      "-t",
      "brook-codecs",
      "-o",
      "beginning",
      "-e",
      "-q",
    ]);
    expect(out.trim().split("\n")).toEqual(codecs.flatMap((codec) => [`${codec}-a`, `${codec}-b`]));
  });
});

/** Where Brook's SDK puts `key` (murmur2, as Kafka's default partitioner): every client must agree. */
async function brookPartitionOf(topic: string, key: string): Promise<number> {
  const admin = brook.admin();
  try {
    const partitions = (await admin.fetchTopicOffsets(topic)).length;
    return partitionForKey(Buffer.from(key), partitions);
  } finally {
    await admin.close();
  }
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = brook.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  await admin.close();
}

interface MemberLine {
  kind: "assigned" | "record";
  name: string;
  partitions?: number[];
  partition?: number;
  value?: string;
}

/** A kafkajs group member in a process of its own (test-e2e/kafka-member/member.mjs). */
function startMember(name: string, topic: string, groupId: string) {
  const child = spawn(process.execPath, [memberScript], {
    env: { ...process.env, BOOTSTRAP: cluster.kafkaBootstrap, GROUP: groupId, TOPIC: topic, NAME: name },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: MemberLine[] = [];
  let partial = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const complete = text.split("\n");
    partial = complete.pop() ?? "";
    for (const line of complete) if (line !== "") lines.push(JSON.parse(line));
  });
  return {
    assigned: () => lines.filter((l) => l.kind === "assigned").at(-1)?.partitions ?? [],
    records: () => lines.filter((l) => l.kind === "record"),
    kill: () => child.kill("SIGKILL"),
  };
}

let sharedAdmin: Admin | undefined;
function admin(): Admin {
  sharedAdmin ??= brook.admin();
  return sharedAdmin;
}

function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(" ")}: ${stderr || error.message}`)) : resolve(stdout),
    );
    child.stdin?.end(input ?? "");
  });
}
