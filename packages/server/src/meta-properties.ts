// <data>/meta.properties pins a data directory to one node and one cluster,
// as Kafka's does: starting node 2 on node 1's data, or mixing clusters,
// fails loudly instead of serving someone else's logs.

import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BrookError } from "@brook/protocol";
import { fsyncDirectory, nodeFileSystem } from "@brook/storage";

export interface MetaProperties {
  readonly nodeId: number;
  readonly clusterId: string;
}

/** `expectedClusterId`: the configured cluster id; a new data dir takes it, an existing one must have it. */
export function loadOrCreateMetaProperties(
  dataDir: string,
  nodeId: number,
  expectedClusterId?: string,
): MetaProperties {
  const firstCreated = mkdirSync(dataDir, { recursive: true });
  // A new data directory's own name must survive a power loss too, not only the files in it.
  if (firstCreated !== undefined) fsyncDirectory(dirname(firstCreated));
  const path = join(dataDir, "meta.properties");
  if (!existsSync(path)) {
    const created = { nodeId, clusterId: expectedClusterId ?? randomUUID() };
    // Temp file, fsync, rename, fsync of the directory: a crash leaves no file or the whole one.
    nodeFileSystem.writeFileAtomic(path, `version=1\nnode.id=${nodeId}\ncluster.id=${created.clusterId}\n`);
    return created;
  }
  const entries = new Map(
    readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")).trim(), line.slice(line.indexOf("=") + 1).trim()]),
  );
  const storedNodeId = Number(entries.get("node.id"));
  const clusterId = entries.get("cluster.id");
  if (!clusterId || !Number.isInteger(storedNodeId)) {
    throw new BrookError("INVALID_CONFIG", `${path} is damaged: it needs node.id and cluster.id`);
  }
  if (storedNodeId !== nodeId) {
    throw new BrookError(
      "INVALID_CONFIG",
      `data directory ${dataDir} belongs to node ${storedNodeId}, not node ${nodeId}; use that node's id or another --data-dir`,
    );
  }
  if (expectedClusterId !== undefined && clusterId !== expectedClusterId) {
    throw new BrookError(
      "INVALID_CONFIG",
      `data directory ${dataDir} belongs to cluster ${clusterId}, not ${expectedClusterId}; use that cluster id or another --data-dir`,
    );
  }
  return { nodeId, clusterId };
}
