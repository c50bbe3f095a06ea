// `brook user` and `brook acl` before they connect: where a new user's password comes from, and the
// bindings and filters the acl flags make (every combination of principals, hosts and operations on
// one resource), with each contradiction refused by the command line.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { afterAll, describe, expect, it } from "vitest";
import { aclCommand, aclRows, bindingsOf, filtersOf } from "../src/commands/acl.js";
import { readPassword, userCommand, userRows } from "../src/commands/user.js";

/** Parses `args` as typed after `brook user` or `brook acl`, with commander's exits turned into throws. */
function run(command: Command, args: string[]): Promise<unknown> {
  for (const each of [command, ...command.commands]) {
    each.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  }
  return command.parseAsync(args, { from: "user" });
}

const dir = mkdtempSync(join(tmpdir(), "brook-cli-user-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a new user's password", () => {
  const noStdin = () => {
    throw new Error("stdin must not be read");
  };

  it("comes from --password, else --password-file, else stdin when it is not a terminal; one newline is dropped", () => {
    const file = join(dir, "pw");
    writeFileSync(file, "from file\n");
    expect(readPassword({ password: "given", stdin: noStdin, stdinIsTty: false })).toBe("given");
    expect(readPassword({ passwordFile: file, stdin: noStdin, stdinIsTty: false })).toBe("from file");
    expect(readPassword({ stdin: () => "piped\r\n", stdinIsTty: false })).toBe("piped");
    expect(readPassword({ stdin: () => "two lines\n\n", stdinIsTty: false })).toBe("two lines\n");
  });

  it("is refused when missing, empty, unreadable or given twice", () => {
    expect(() => readPassword({ stdin: noStdin, stdinIsTty: true })).toThrow(
      "give the password with --password-file <file> or --password <p>, or pipe it on stdin",
    );
    expect(() => readPassword({ stdin: () => "\n", stdinIsTty: false })).toThrow("the password is empty");
    expect(() =>
      readPassword({ passwordFile: join(dir, "missing"), stdin: noStdin, stdinIsTty: true }),
    ).toThrow(/--password-file .*missing: ENOENT/);
    expect(() =>
      readPassword({ password: "a", passwordFile: "f", stdin: noStdin, stdinIsTty: false }),
    ).toThrow("give the password once: --password or --password-file, not both");
  });

  it("user create refuses an unknown mechanism before connecting", async () => {
    await expect(
      run(userCommand(), ["create", "alice", "--password", "x", "--mechanism", "md5"]),
    ).rejects.toThrow(/expected SCRAM-SHA-256 or SCRAM-SHA-512, got 'md5'/);
  });

  it("user list prints one row per credential", () => {
    expect(
      userRows([
        {
          name: "alice",
          credentials: [
            { mechanism: "SCRAM-SHA-256", iterations: 8192 },
            { mechanism: "SCRAM-SHA-512", iterations: 8192 },
          ],
        },
        { name: "bob", credentials: [{ mechanism: "SCRAM-SHA-512", iterations: 4096 }] },
      ]),
    ).toEqual([
      ["alice", "SCRAM-SHA-256", 8192],
      ["alice", "SCRAM-SHA-512", 8192],
      ["bob", "SCRAM-SHA-512", 4096],
    ]);
  });
});

describe("acl add's bindings", () => {
  it("makes one binding per principal, host and operation on the one resource; allow and literal by default", () => {
    const bindings = bindingsOf({
      principal: ["User:alice", "User:bob"],
      operation: ["read", "describe"],
      topic: "orders",
    });
    expect(bindings).toHaveLength(4);
    expect(bindings[0]).toEqual({
      principal: "User:alice",
      host: "*",
      resourceType: "topic",
      resourceName: "orders",
      patternType: "literal",
      operation: "read",
      permission: "allow",
    });
    expect(
      bindingsOf({
        principal: ["User:*"],
        operation: ["write"],
        group: "g",
        prefixed: true,
        deny: true,
        host: ["10.0.0.1"],
      }),
    ).toEqual([
      {
        principal: "User:*",
        host: "10.0.0.1",
        resourceType: "group",
        resourceName: "g",
        patternType: "prefixed",
        operation: "write",
        permission: "deny",
      },
    ]);
    expect(bindingsOf({ principal: ["User:ops"], operation: ["create"], cluster: true })[0]).toMatchObject({
      resourceType: "cluster",
      resourceName: "kafka-cluster",
    });
    expect(
      bindingsOf({ principal: ["User:a"], operation: ["write"], transactionalId: "tx" })[0],
    ).toMatchObject({
      resourceType: "transactionalId",
      resourceName: "tx",
    });
  });

  it("refuses no resource or several, a prefixed cluster, no principal or operation, and 'any'", () => {
    const base = { principal: ["User:alice"], operation: ["read" as const] };
    expect(() => bindingsOf(base)).toThrow(
      "give the resource: --topic, --group, --transactional-id or --cluster",
    );
    expect(() => bindingsOf({ ...base, topic: "t", group: "g" })).toThrow(
      "give one resource: --topic, --group, --transactional-id or --cluster (got --topic, --group)",
    );
    expect(() => bindingsOf({ ...base, cluster: true, prefixed: true })).toThrow(/the cluster has one name/);
    expect(() => bindingsOf({ operation: ["read"], topic: "t" })).toThrow(/at least one --principal/);
    expect(() => bindingsOf({ principal: ["User:a"], topic: "t" })).toThrow(/at least one --operation/);
    expect(() => bindingsOf({ ...base, operation: ["any"], topic: "t" })).toThrow(/use all/);
  });

  it("takes the operation names Kafka's tool takes, and refuses others on the command line", async () => {
    await expect(
      run(aclCommand(), ["add", "--principal", "User:a", "--topic", "t", "--operation", "fly"]),
    ).rejects.toThrow(/unknown operation "fly"; expected one of/);
    await expect(
      run(aclCommand(), [
        "add",
        "--principal",
        "User:a",
        "--operation",
        "Read",
        "--topic",
        "t",
        "--group",
        "g",
      ]),
    ).rejects.toThrow(/give one resource/);
  });
});

describe("acl list and remove filters", () => {
  it("leave out what no flag names; a resource matches its literal name unless --prefixed or --match", () => {
    expect(filtersOf({})).toEqual([{}]);
    expect(filtersOf({ topic: "orders" })).toEqual([
      { resourceType: "topic", resourceName: "orders", patternType: "literal" },
    ]);
    expect(filtersOf({ topic: "orders", match: true, deny: true })).toEqual([
      { resourceType: "topic", resourceName: "orders", patternType: "match", permission: "deny" },
    ]);
    expect(filtersOf({ principal: ["User:a", "User:b"], operation: ["any"] })).toEqual([
      { principal: "User:a", operation: "any" },
      { principal: "User:b", operation: "any" },
    ]);
  });

  it("refuses --prefixed or --match without a resource, both of them, and --allow with --deny", () => {
    expect(() => filtersOf({ prefixed: true })).toThrow(/--prefixed and --match need a resource/);
    expect(() => filtersOf({ topic: "t", prefixed: true, match: true })).toThrow(/cannot be used together/);
    expect(() => filtersOf({ allow: true, deny: true })).toThrow(/give one or neither/);
  });

  it("acl remove refuses to remove everything: it needs a filter", async () => {
    await expect(run(aclCommand(), ["remove"])).rejects.toThrow(/acl remove needs a filter/);
  });

  it("prints resource type, name, pattern, principal, host, operation, permission", () => {
    expect(aclRows(bindingsOf({ principal: ["User:alice"], operation: ["read"], topic: "orders" }))).toEqual([
      ["topic", "orders", "literal", "User:alice", "*", "read", "allow"],
    ]);
  });
});
