// `brook storage verify` on a real node's data directory, stopped: the partition directories the broker
// wrote are found and pass; a bit flipped in a segment is reported as DAMAGED with exit status 1.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const brookBin = fileURLToPath(new URL("../packages/cli/bin/brook.js", import.meta.url));
let cluster: Cluster;

function brook(args: string[], input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [brookBin, ...args],
      { env: { ...process.env, BROOK_BOOTSTRAP: cluster.bootstrap }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe("brook storage verify", () => {
  it("passes a stopped node's logs, then reports a flipped bit as damage", async () => {
    expect((await brook(["topic", "create", "orders", "--partitions", "2"])).code).toBe(0);
    for (let round = 0; round < 3; round++) {
      const lines = Array.from({ length: 20 }, (_, i) => `key-${i}:value ${round} ${i} ${"x".repeat(50)}`);
      const produced = await brook(["produce", "orders", "--key-separator", ":"], `${lines.join("\n")}\n`);
      expect(produced.stderr).toContain("produced 20 record(s)");
    }
    const node = cluster.nodes[0];
    await node.stop();

    const healthy = await brook(["storage", "verify", "--data-dir", node.dataDir]);
    expect(healthy.stdout).toMatch(/0 problems, 0 partitions damaged\n$/);
    expect(healthy.code).toBe(0);
    const orders = await brook(["storage", "verify", "--data-dir", node.dataDir, "--topic", "orders"]);
    expect(orders.stdout).toMatch(/^verified 2 partitions: 2 segments, \d+ batches, \d+ bytes; 0 problems/);

    const partitionDir = join(node.dataDir, "orders-0");
    const segment = join(partitionDir, readdirSync(partitionDir).find((name) => name.endsWith(".log"))!);
    const bytes = readFileSync(segment);
    expect(bytes.length).toBeGreaterThan(100);
    bytes[80] ^= 0x08;
    writeFileSync(segment, bytes);
    const damaged = await brook(["storage", "verify", "--data-dir", node.dataDir]);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(
      new RegExp(`^DAMAGED batch ${segment} offset 0: a corrupt batch at byte 0`),
    );
    expect(damaged.stdout).toMatch(/1 problems, 1 partitions damaged\n$/);
  });
});
