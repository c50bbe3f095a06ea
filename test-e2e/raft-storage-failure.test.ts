// A controller whose Raft disk fails ends its process with one fatal log line
// instead of serving a metadata image that no longer moves; the other two
// voters carry on. The disk: a small tmpfs mounted on the node's metadata dir,
// then filled up (ENOSPC). Needs mount (root); skipped where it is refused.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CreateTopicsResponse__Output } from "@brook/protocol";
import { type Cluster, type NodeHandle, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rawBroker, tryMetadata } from "./grpc.js";
import { waitFor, waitUntil } from "./wait.js";

const tmpfsBytes = 16 * 1024 * 1024;

let cluster: Cluster | undefined;
let mounted: string | undefined;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
}, 60_000);

afterAll(async () => {
  if (mounted) execFileSync("umount", ["--lazy", mounted]); // before the data dirs are removed
  await cluster?.stop();
});

async function createTopic(node: NodeHandle, name: string): Promise<void> {
  const broker = rawBroker(`127.0.0.1:${node.brokerPort}`);
  try {
    const response = await broker.call<CreateTopicsResponse__Output>("CreateTopics", {
      topics: [{ name, numPartitions: 1, replicationFactor: 1, configs: [] }],
    });
    expect(response.topics.map((t) => t.error?.code ?? "")).toEqual([""]);
  } finally {
    broker.close();
  }
}

/** Moves `dir`'s contents onto a fresh tmpfs mounted there; false where mounting is not permitted. */
function moveOntoTmpfs(dir: string): boolean {
  const aside = `${dir}.on-disk`;
  renameSync(dir, aside);
  mkdirSync(dir);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${tmpfsBytes}`, "tmpfs", dir], { stdio: "ignore" });
  } catch {
    rmSync(dir, { recursive: true });
    renameSync(aside, dir);
    return false;
  }
  mounted = dir;
  cpSync(aside, dir, { recursive: true });
  return true;
}

/** Fills the file system under `dir` to the last block. */
function fill(dir: string): void {
  const { bavail, bsize } = statfsSync(dir);
  writeFileSync(join(dir, "filler"), Buffer.alloc(Number(bavail) * Number(bsize)));
}

const fatalLines = (node: NodeHandle) =>
  readFileSync(node.logFile, "utf8")
    .split("\n")
    .filter((line) => line.includes('"level":60'));

it("a controller whose metadata disk fills up exits with one fatal line; the other voters carry on", async (context) => {
  const [victim, ...survivors] = cluster!.nodes;
  const metadataDir = join(victim.dataDir, "__cluster_metadata");
  await victim.stop();
  const onTmpfs = moveOntoTmpfs(metadataDir);
  if (!onTmpfs) context.skip();
  await victim.start();
  await createTopic(survivors[0], "before");
  await waitFor("the victim to see topic 'before'", 10_000, async () =>
    (await tryMetadata(victim))?.topics.some((t) => t.name === "before") ? true : undefined,
  );

  fill(metadataDir);
  // A record may still fit the last page of LevelDB's log file: write until one does not.
  const created: string[] = [];
  await waitUntil("the victim's process to exit", 15_000, async () => {
    if (!victim.running) return true;
    created.push(`after-${created.length}`);
    await createTopic(survivors[0], created.at(-1)!);
    return false;
  });
  const lines = fatalLines(victim);
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]).msg).toMatch(/^raft storage failed: .*; the node stops$/);

  await createTopic(survivors[1], "carried-on");
  const expected = JSON.stringify(["before", ...created, "carried-on"].sort());
  for (const node of survivors) {
    await waitFor(`node ${node.id} to list every topic`, 10_000, async () => {
      const names = (await tryMetadata(node))?.topics.map((t) => t.name).sort();
      return JSON.stringify(names) === expected ? true : undefined;
    });
  }
}, 90_000);
