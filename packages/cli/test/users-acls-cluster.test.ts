// Users and ACLs end to end: `brook user` and `brook acl` (the real CLI, in its own process, as the
// cluster's operator) against a real three-node cluster, each command sent to another node so that brokers forward the writes to the
// active controller; what they print is pinned here. Everything survives a restart of every node, and
// the SDK's Admin answers typed errors. Needs a build first (`npx tsc -b`): the nodes run dist/.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Brook } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const brookBin = fileURLToPath(new URL("../bin/brook.js", import.meta.url));
let cluster: Cluster;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `brook args` with node `node`'s broker as the only bootstrap address (default: node 1). */
function brook(args: string[], options: { input?: string; node?: number } = {}): Promise<Result> {
  const port = cluster.nodes[(options.node ?? 1) - 1].brokerPort;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [brookBin, ...args],
      // As the operator (the cluster secret): once the first ACL exists, the cluster is closed to others.
      {
        env: {
          ...process.env,
          BROOK_BOOTSTRAP: `127.0.0.1:${port}`,
          BROOK_CLUSTER_SECRET_FILE: cluster.clusterSecretFile,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? "");
  });
}

async function ok(args: string[], options: { input?: string; node?: number } = {}): Promise<string> {
  const result = await brook(args, options);
  expect(result.stderr, args.join(" ")).toBe("");
  expect(result.code).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe("brook user and brook acl on a cluster", () => {
  it("create, list and delete users and ACLs, which survive a restart of every node", async () => {
    // The password from stdin (a pipe), --password or --password-file; it never leaves the CLI.
    expect(await ok(["user", "create", "alice", "--iterations", "4096"], { input: "alice-secret\n" })).toBe(
      "user alice: credentials set for SCRAM-SHA-256, SCRAM-SHA-512 (4096 iterations)\n",
    );
    expect(
      await ok(["user", "create", "bob", "--password", "b0b", "--mechanism", "scram-sha-512"], { node: 2 }),
    ).toBe("user bob: credentials set for SCRAM-SHA-512 (8192 iterations)\n");
    const carolPassword = join(cluster.rootDir, "carol.password");
    writeFileSync(carolPassword, "c4rol\n");
    expect(await ok(["user", "create", "carol", "--password-file", carolPassword], { node: 3 })).toContain(
      "user carol: credentials set for SCRAM-SHA-256, SCRAM-SHA-512",
    );
    expect(await ok(["user", "delete", "carol", "--mechanism", "SCRAM-SHA-256"], { node: 3 })).toBe(
      "deleted the SCRAM-SHA-256 credentials of user carol\n",
    );
    expect(await ok(["user", "delete", "carol"], { node: 2 })).toBe("deleted user carol\n");

    const users = [
      "┌───────┬───────────────┬────────────┐",
      "│ user  │ mechanism     │ iterations │",
      "├───────┼───────────────┼────────────┤",
      "│ alice │ SCRAM-SHA-256 │ 4096       │",
      "├───────┼───────────────┼────────────┤",
      "│ alice │ SCRAM-SHA-512 │ 4096       │",
      "├───────┼───────────────┼────────────┤",
      "│ bob   │ SCRAM-SHA-512 │ 8192       │",
      "└───────┴───────────────┴────────────┘",
      "",
    ].join("\n");
    for (const node of [1, 2, 3]) expect(await ok(["user", "list"], { node })).toBe(users);
    expect(JSON.parse(await ok(["user", "list", "bob", "--json"]))).toEqual([
      { name: "bob", credentials: [{ mechanism: "SCRAM-SHA-512", iterations: 8192 }] },
    ]);

    expect(
      await ok(
        [
          "acl",
          "add",
          "--principal",
          "User:alice",
          "--operation",
          "Read",
          "--operation",
          "describe",
          "--topic",
          "orders",
        ],
        { node: 3 },
      ),
    ).toBe(
      [
        "added 2 ACL binding(s):",
        "┌───────────────┬───────────────┬─────────┬────────────┬──────┬───────────┬────────────┐",
        "│ resource type │ resource name │ pattern │ principal  │ host │ operation │ permission │",
        "├───────────────┼───────────────┼─────────┼────────────┼──────┼───────────┼────────────┤",
        "│ topic         │ orders        │ literal │ User:alice │ *    │ describe  │ allow      │",
        "├───────────────┼───────────────┼─────────┼────────────┼──────┼───────────┼────────────┤",
        "│ topic         │ orders        │ literal │ User:alice │ *    │ read      │ allow      │",
        "└───────────────┴───────────────┴─────────┴────────────┴──────┴───────────┴────────────┘",
        "",
      ].join("\n"),
    );
    await ok(
      ["acl", "add", "--principal", "User:bob", "--operation", "write", "--topic", "ord", "--prefixed"],
      { node: 2 },
    );
    await ok([
      "acl",
      "add",
      "--principal",
      "User:*",
      "--operation",
      "write",
      "--topic",
      "orders",
      "--deny",
      "--host",
      "10.0.0.9",
    ]);
    await ok(["acl", "add", "--principal", "User:alice", "--operation", "idempotent-write", "--cluster"]);
    await ok(["acl", "add", "--principal", "User:alice", "--operation", "read", "--group", "billing"], {
      node: 3,
    });

    const everything = JSON.parse(await ok(["acl", "list", "--json"], { node: 2 }));
    expect(everything.map((b: Record<string, string>) => Object.values(b).join(" "))).toEqual([
      "User:alice * cluster kafka-cluster literal idempotentWrite allow",
      "User:alice * group billing literal read allow",
      "User:bob * topic ord prefixed write allow",
      "User:* 10.0.0.9 topic orders literal write deny",
      "User:alice * topic orders literal describe allow",
      "User:alice * topic orders literal read allow",
    ]);
    // --match: every binding that applies to the topic orders (its literal name and the prefix ord).
    const onOrders = JSON.parse(await ok(["acl", "list", "--topic", "orders", "--match", "--json"]));
    expect(onOrders.map((b: Record<string, string>) => `${b.principal} ${b.operation}`)).toEqual([
      "User:bob write",
      "User:* write",
      "User:alice describe",
      "User:alice read",
    ]);

    expect(
      await ok(["acl", "remove", "--principal", "User:alice", "--operation", "describe"], { node: 3 }),
    ).toBe(
      [
        "removed 1 ACL binding(s):",
        "┌───────────────┬───────────────┬─────────┬────────────┬──────┬───────────┬────────────┐",
        "│ resource type │ resource name │ pattern │ principal  │ host │ operation │ permission │",
        "├───────────────┼───────────────┼─────────┼────────────┼──────┼───────────┼────────────┤",
        "│ topic         │ orders        │ literal │ User:alice │ *    │ describe  │ allow      │",
        "└───────────────┴───────────────┴─────────┴────────────┴──────┴───────────┴────────────┘",
        "",
      ].join("\n"),
    );
    expect(await ok(["acl", "remove", "--group", "nothing-here"])).toBe("removed 0 ACL binding(s)\n");
    expect(await ok(["acl", "list", "--principal", "User:nobody"])).toBe("no ACL bindings\n");

    const usersBefore = await ok(["user", "list", "--json"]);
    const aclsBefore = await ok(["acl", "list", "--json"]);
    expect(JSON.parse(aclsBefore)).toHaveLength(5);

    // Every node down, then up: the image is rebuilt from the metadata log on disk.
    await Promise.all(cluster.nodes.map((node) => node.stop()));
    await Promise.all(cluster.nodes.map((node) => node.start()));
    for (const node of [1, 2, 3]) {
      expect(await ok(["user", "list", "--json"], { node })).toBe(usersBefore);
      expect(await ok(["acl", "list", "--json"], { node })).toBe(aclsBefore);
    }
  }, 120_000);

  it("refuses bad input with the typed error, naming what is wrong", async () => {
    const badOperation = await brook([
      "acl",
      "add",
      "--principal",
      "User:a",
      "--operation",
      "idempotent-write",
      "--topic",
      "t",
    ]);
    expect(badOperation.code).toBe(1);
    expect(badOperation.stderr).toBe(
      "error: INVALID_REQUEST: ACL allow User:a idempotentWrite topic literal:t host *: ResourceType topic only supports operations all, read, write, create, describe, delete, alter, describeConfigs, alterConfigs; not idempotentWrite\n",
    );
    const badHost = await brook([
      "acl",
      "add",
      "--principal",
      "User:a",
      "--operation",
      "read",
      "--topic",
      "t",
      "--host",
      "example.com",
    ]);
    expect(badHost.stderr).toMatch(/^error: INVALID_REQUEST: ACL .*Invalid host "example.com"/);
    const noUser = await brook(["user", "delete", "nobody"]);
    expect(noUser.stderr).toBe("error: INVALID_REQUEST: user 'nobody' has no SCRAM credentials\n");
    const badIterations = await brook(["user", "create", "dave", "--password", "d", "--iterations", "100"]);
    expect(badIterations.stderr).toBe(
      "error: INVALID_REQUEST: iterations must be a whole number from 4096 to 16384 (Kafka's bounds), not 100\n",
    );
  });

  it("the SDK's Admin: users and ACLs with typed results and errors", async () => {
    const brook = new Brook({
      brokers: cluster.bootstrap.split(","),
      clientId: "users-acls-test",
      clusterSecret: readFileSync(cluster.clusterSecretFile, "utf8"),
    });
    const admin = brook.admin();
    try {
      await admin.createUser("erin", "e-secret", { mechanisms: ["SCRAM-SHA-256"] });
      expect(await admin.describeUsers(["erin"])).toEqual([
        { name: "erin", credentials: [{ mechanism: "SCRAM-SHA-256", iterations: 8192 }] },
      ]);
      await expect(admin.describeUsers(["erin", "nobody"])).rejects.toMatchObject({
        code: "INVALID_REQUEST",
        message: expect.stringContaining("user 'nobody' has no SCRAM credentials"),
      });
      await admin.createAcls([
        {
          principal: "User:erin",
          resourceType: "transactionalId",
          resourceName: "tx-",
          patternType: "prefixed",
          operation: "write",
        },
      ]);
      expect(await admin.describeAcls({ principal: "User:erin" })).toEqual([
        {
          principal: "User:erin",
          host: "*",
          resourceType: "transactionalId",
          resourceName: "tx-",
          patternType: "prefixed",
          operation: "write",
          permission: "allow",
        },
      ]);
      await expect(
        admin.createAcls([
          { principal: "erin", resourceType: "topic", resourceName: "t", operation: "read" },
        ]),
      ).rejects.toMatchObject({
        code: "INVALID_REQUEST",
        message: expect.stringContaining('Invalid principal "erin"'),
      });
      const [deleted] = await admin.deleteAcls([{ principal: "User:erin" }]);
      expect(deleted.bindings).toHaveLength(1);
      expect(await admin.describeAcls({ principal: "User:erin" })).toEqual([]);
      await admin.deleteUser("erin");
      expect((await admin.describeUsers()).map((user) => user.name)).not.toContain("erin");
    } finally {
      await admin.close();
    }
  });
});
