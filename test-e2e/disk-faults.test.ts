// Disk faults on real processes. Three nodes; each node's replica of the
// topic `disk` lives on a small filesystem of its own (a loop-mounted ext4
// image of a few MB, mounted on the partition's directory before the topic
// exists). A full disk on the leader (ENOSPC) refuses produce with a clear,
// retriable error and passes by itself once space returns, nothing lost or
// doubled; an I/O error on the leader (EIO, the ext4 shutdown ioctl: every
// later read, write and fsync there fails) takes its log dir offline, the
// controller moves the leadership to an in-sync replica at once, and no
// acknowledged record is lost. Needs root (mount, losetup); skips, saying
// why, where mounting is not permitted. The EIO case needs python3 for the ioctl.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Brook, BrookError } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "./read-all.js";
import { waitFor } from "./wait.js";

const topic = "disk";
/** Each replica's filesystem: room for a few segments, small enough to fill in a second. */
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

/** Whether this machine lets the test mount a loop filesystem (root in a privileged container or VM). */
function loopMountWorks(root: string): boolean {
  const image = join(root, "probe.img");
  const dir = join(root, "probe");
  mkdirSync(dir, { recursive: true });
  const works =
    run("truncate", ["-s", "8M", image]) &&
    run("mkfs.ext4", ["-q", "-F", image]) &&
    run("mount", ["-o", "loop", image, dir]);
  if (works) run("umount", [dir]);
  rmSync(image, { force: true });
  return works;
}

const skipReason = (() => {
  if (process.getuid?.() !== 0) return "not root";
  const probeRoot = join("/tmp", `brook-disk-probe-${process.pid}`);
  mkdirSync(probeRoot, { recursive: true });
  const works = loopMountWorks(probeRoot);
  rmSync(probeRoot, { recursive: true, force: true });
  return works ? undefined : "loop mounts are not permitted here";
})();
if (skipReason) console.warn(`disk-faults e2e skipped: ${skipReason}`);

let cluster: Cluster;
let brook: Brook;
const mounts: string[] = [];

/** A small ext4 filesystem on `<node data dir>/disk-0`, where the replica's log will live. */
function mountSmallDisk(dataDir: string, image: string): string {
  const dir = join(dataDir, `${topic}-0`);
  mkdirSync(dir, { recursive: true });
  execFileSync("truncate", ["-s", `${diskMb}M`, image]);
  execFileSync("mkfs.ext4", ["-q", "-F", "-m", "0", image]);
  execFileSync("mount", ["-o", "loop", image, dir]);
  mounts.push(dir);
  rmSync(join(dir, "lost+found"), { recursive: true, force: true });
  return dir;
}

describe.skipIf(skipReason !== undefined)("disk faults on a leader", () => {
  const disks = new Map<number, string>();

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, keepData: true }); // removed after unmounting
    for (const node of cluster.nodes) {
      disks.set(node.id, mountSmallDisk(node.dataDir, join(cluster.rootDir, `node-${node.id}.img`)));
    }
    brook = new Brook({ brokers: cluster.bootstrap.split(","), retry: { retries: 0 } });
    const admin = brook.admin();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    await admin.close();
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop(); // before unmounting: a node holds its files open
    for (const dir of mounts.splice(0)) run("umount", [dir]);
    if (cluster) rmSync(cluster.rootDir, { recursive: true, force: true });
  });

  const leaderOf = async (): Promise<number> => {
    const admin = brook.admin();
    try {
      const [description] = await admin.describeTopics({ topics: [topic] });
      return description.partitions[0].leader;
    } finally {
      await admin.close();
    }
  };

  const acknowledged: string[] = [];
  /** Sends one record with acks=all; its value is recorded once acknowledged. */
  async function send(producer: ReturnType<Brook["producer"]>, value: string): Promise<void> {
    await producer.send({ topic, messages: [{ value: value.padEnd(valueBytes, ".") }] });
    acknowledged.push(value);
  }

  it("a full disk refuses produce with a clear error and recovers by itself once space returns", async () => {
    const leader = await waitFor("a leader", 10_000, async () => {
      const id = await leaderOf().catch(() => -1);
      return id > 0 ? id : undefined;
    });
    const disk = disks.get(leader)!;
    // Fill the leader's disk but for a megabyte or two (ext4 keeps some for itself).
    const ballast = join(disk, "ballast");
    run("dd", ["if=/dev/zero", `of=${ballast}`, "bs=1M", `count=${diskMb - 3}`]);

    const producer = brook.producer({ acks: -1, lingerMs: 0 });
    let refusal: BrookError | undefined;
    for (let i = 0; i < 1_000 && refusal === undefined; i++) {
      try {
        await send(producer, `full-${i}`);
      } catch (error) {
        refusal = error as BrookError;
      }
    }
    expect(refusal).toBeInstanceOf(BrookError);
    expect(refusal?.code).toBe("STORAGE_ERROR");
    expect(refusal?.retriable).toBe(true);
    expect(refusal?.message).toMatch(/is full \(ENOSPC\)/);
    // Still full: still refused, the same way, by the same leader.
    await expect(send(producer, "still-full")).rejects.toMatchObject({ code: "STORAGE_ERROR" });
    expect(await leaderOf()).toBe(leader);

    rmSync(ballast);
    for (let i = 0; i < 20; i++) await send(producer, `after-${i}`);
    await producer.close();
    expect(await leaderOf()).toBe(leader);
    const read = (await readAll(brook, topic, acknowledged.length)).map((m) =>
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
