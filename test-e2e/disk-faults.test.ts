// Disk faults on real processes. Three nodes; each node's replica of the
// topic `disk` lives on a small filesystem of its own (a loop-mounted ext4
// image of a few MB, mounted on the partition's directory before the topic
// exists). A full disk on the leader (ENOSPC) makes it resign: leadership
// moves to an in-sync replica, acks=all produce goes on, and the full replica
// rejoins the ISR once space returns, nothing lost or doubled; an I/O error on
// the leader (EIO, the ext4 shutdown ioctl: every later read, write and fsync
// there fails) takes its log dir offline, the controller moves the leadership
// to an in-sync replica at once, and no acknowledged record is lost. Needs
// root (mount, losetup); skips, saying why, where mounting is not permitted.
// The EIO case needs python3 for the ioctl.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Brook } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataDisks, dataDisksUnavailable, fillDisk, freeDisk } from "./chaos/disk-full.js";
import { readAll } from "./read-all.js";
import { waitFor } from "./wait.js";

const topic = "disk";
/** Each replica's filesystem: room for a few segments. */
const diskMb = 16;
const valueBytes = 16 * 1024;

function run(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const skipReason = dataDisksUnavailable();
if (skipReason) console.warn(`disk-faults e2e skipped: ${skipReason}`);

let cluster: Cluster;
let brook: Brook;
const mounts = new DataDisks();

describe.skipIf(skipReason !== undefined)("disk faults on a leader", () => {
  const disks = new Map<number, string>();

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, afterStop: mounts.unmountAll });
    for (const node of cluster.nodes) {
      const dir = join(node.dataDir, `${topic}-0`);
      mounts.mount(dir, diskMb);
      disks.set(node.id, dir);
    }
    brook = new Brook({ brokers: cluster.bootstrap.split(","), retry: { retries: 0 } });
    const admin = brook.admin();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    await admin.close();
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop(); // unmounts once the nodes are dead: a node holds its files open
  });

  const partitionOf = async () => {
    const admin = brook.admin();
    try {
      const [description] = await admin.describeTopics({ topics: [topic] });
      return description.partitions[0];
    } finally {
      await admin.close();
    }
  };
  const leaderOf = async (): Promise<number> => (await partitionOf()).leader;

  const acknowledged: string[] = [];
  /** Sends one record with acks=all; its value is recorded once acknowledged. */
  async function send(producer: ReturnType<Brook["producer"]>, value: string): Promise<void> {
    await producer.send({ topic, messages: [{ value: value.padEnd(valueBytes, ".") }] });
    acknowledged.push(value);
  }

  it("a full disk on the leader moves leadership to an in-sync replica; the replica rejoins once space returns", async () => {
    const leader = await waitFor("a leader", 10_000, async () => {
      const id = await leaderOf().catch(() => -1);
      return id > 0 ? id : undefined;
    });
    const retrying = new Brook({
      brokers: cluster.bootstrap.split(","),
      retry: { retries: 100, maxRetryTimeMs: 100 },
    });
    const producer = retrying.producer({ acks: -1, lingerMs: 0 });
    for (let i = 0; i < 5; i++) await send(producer, `before-${i}`);
    fillDisk(disks.get(leader)!);
    const filledAt = Date.now();
    // The leader's append fails with ENOSPC: it resigns and the producer's retry reaches the new leader.
    await send(producer, "full-0");
    const failoverMs = Date.now() - filledAt;
    console.log(
      `disk-faults e2e: full disk on the leader to the next acknowledged produce: ${failoverMs} ms`,
    );
    // Well inside the 1.5 s session timeout: the resignation went out at once.
    expect(failoverMs).toBeLessThan(1_500);
    for (let i = 1; i < 10; i++) await send(producer, `full-${i}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Still full: it neither leads nor is back in the ISR (caught up with nothing new, it would be).
    const moved = await partitionOf();
    expect(moved.leader).not.toBe(leader);
    expect(moved.isr).not.toContain(leader);

    freeDisk(disks.get(leader)!);
    await waitFor("the full replica back in the ISR", 15_000, async () =>
      (await partitionOf()).isr.includes(leader) ? true : undefined,
    );
    // Preferred leader election hands the leadership back (within a session check of the rejoin); the
    // next test's producer, which does not retry, must not race that move.
    await waitFor("the leadership back on the preferred replica", 10_000, async () => {
      const { leader: now, replicas } = await partitionOf();
      return now === replicas[0] ? true : undefined;
    });
    for (let i = 0; i < 5; i++) await send(producer, `after-${i}`);
    await producer.close();
    const read = (await readAll(retrying, topic, acknowledged.length)).map((m) =>
      m.value!.toString().replace(/\.+$/, ""),
    );
    expect(read).toEqual(acknowledged);
  }, 60_000);

  const canShutDown = run("python3", ["-c", "import fcntl"]);

  it.skipIf(!canShutDown)(
    "an I/O error takes the leader's log dir offline and leadership moves to an in-sync replica at once",
    async () => {
      const leader = await leaderOf();
      const producer = brook.producer({ acks: -1, lingerMs: 0 });
      for (let i = 0; i < 20; i++) await send(producer, `before-eio-${i}`);
      // EXT4_IOC_SHUTDOWN (no log flush): from now on every I/O on that filesystem fails with EIO.
      const shutdown = `import fcntl,os,struct; fd=os.open(${JSON.stringify(disks.get(leader))}, os.O_RDONLY); fcntl.ioctl(fd, 0x8004587D, struct.pack('I', 2))`;
      execFileSync("python3", ["-c", shutdown]);
      const failedAt = Date.now();
      const retrying = new Brook({
        brokers: cluster.bootstrap.split(","),
        retry: { retries: 100, maxRetryTimeMs: 100 },
      });
      const writer = retrying.producer({ acks: -1, lingerMs: 0 });
      await send(writer, "after-eio-0");
      const failoverMs = Date.now() - failedAt;
      const newLeader = await leaderOf();
      expect(newLeader).not.toBe(leader);
      // Well inside the 1.5 s session timeout: the report went out at once, it was not a missed heartbeat.
      console.log(`disk-faults e2e: EIO on the leader to the next acknowledged produce: ${failoverMs} ms`);
      expect(failoverMs).toBeLessThan(1_500);
      for (let i = 1; i < 20; i++) await send(writer, `after-eio-${i}`);
      await writer.close();
      await producer.close().catch(() => undefined);

      const admin = retrying.admin();
      const status = await admin.describeCluster();
      await admin.close();
      expect(status.brokers.find((b) => b.id === leader)?.state).toBe("log-dir-offline");
      expect(cluster.nodes.find((n) => n.id === leader)?.running).toBe(true);
      const read = (await readAll(retrying, topic, acknowledged.length)).map((m) =>
        m.value!.toString().replace(/\.+$/, ""),
      );
      expect(read).toEqual(acknowledged);
      expect(existsSync(disks.get(leader)!)).toBe(true);
    },
    60_000,
  );
});
