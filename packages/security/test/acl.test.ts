// The ACL authorizer against Kafka's rules: codes, validation, filters, the table and its bound,
// every rule of a decision, and property tests that the indexed decision equals a plain reading of
// Kafka's rules over every binding, that a DENY always wins, and that an ALLOW never takes away.
import { isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AclBinding,
  AclError,
  type AclErrorCode,
  AclTable,
  Authorizer,
  bindingFromWire,
  bindingToWire,
  canonicalHost,
  canonicalIp,
  DEFAULT_MAX_ACL_BINDINGS,
  filterFromWire,
  filterToWire,
  formatAclBinding,
  kafkaName,
  MATCH_ALL,
  matches,
  OPERATIONS,
  type Operation,
  type OperationFilter,
  operationCode,
  operationFromCode,
  operationsBitfield,
  PATTERN_TYPES,
  type PatternTypeFilter,
  PERMISSIONS,
  type PermissionFilter,
  parseOperation,
  parsePatternType,
  parsePermission,
  parsePrincipal,
  parseResourceType,
  patternTypeCode,
  patternTypeFromCode,
  permissionCode,
  permissionFromCode,
  RESOURCE_TYPES,
  type ResourceType,
  type ResourceTypeFilter,
  resourceTypeCode,
  resourceTypeFromCode,
  type Session,
  supportedOperations,
  validateBinding,
  validateFilter,
} from "../src/acl.js";

/** A binding: alice may read topic "orders" from any host, unless `fields` say otherwise. */
function acl(fields: Partial<AclBinding> = {}): AclBinding {
  return {
    principal: "User:alice",
    host: "*",
    resourceType: "topic",
    resourceName: "orders",
    patternType: "literal",
    operation: "read",
    permission: "allow",
    ...fields,
  };
}

const alice: Session = { principal: "User:alice", host: "10.0.0.1" };
const bob: Session = { principal: "User:bob", host: "10.0.0.2" };

function authorizer(bindings: AclBinding[], allowEveryoneIfNoAclFound?: boolean, superUsers: string[] = []) {
  return new Authorizer(bindings, { superUsers, allowEveryoneIfNoAclFound });
}

/** Runs `action`, expecting an AclError with `code` whose message matches `message`. */
function expectAclError(action: () => unknown, code: AclErrorCode, message: RegExp): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(AclError);
  expect((thrown as AclError).code).toBe(code);
  expect((thrown as AclError).message).toMatch(message);
}

describe("wire codes", () => {
  it("are Kafka's, for every value of every enum", () => {
    const resourceTypes: Record<ResourceTypeFilter, number> = {
      any: 1,
      topic: 2,
      group: 3,
      cluster: 4,
      transactionalId: 5,
    };
    const patternTypes: Record<PatternTypeFilter, number> = { any: 1, match: 2, literal: 3, prefixed: 4 };
    const operations: Record<OperationFilter, number> = {
      any: 1,
      all: 2,
      read: 3,
      write: 4,
      create: 5,
      delete: 6,
      alter: 7,
      describe: 8,
      clusterAction: 9,
      describeConfigs: 10,
      alterConfigs: 11,
      idempotentWrite: 12,
    };
    const permissions: Record<PermissionFilter, number> = { any: 1, deny: 2, allow: 3 };
    for (const [value, code] of Object.entries(resourceTypes) as [ResourceTypeFilter, number][]) {
      expect(resourceTypeCode(value)).toBe(code);
      expect(resourceTypeFromCode(code)).toBe(value);
    }
    for (const [value, code] of Object.entries(patternTypes) as [PatternTypeFilter, number][]) {
      expect(patternTypeCode(value)).toBe(code);
      expect(patternTypeFromCode(code)).toBe(value);
    }
    for (const [value, code] of Object.entries(operations) as [OperationFilter, number][]) {
      expect(operationCode(value)).toBe(code);
      expect(operationFromCode(code)).toBe(value);
    }
    for (const [value, code] of Object.entries(permissions) as [PermissionFilter, number][]) {
      expect(permissionCode(value)).toBe(code);
      expect(permissionFromCode(code)).toBe(value);
    }
  });

  it("decode what Brook lacks as unknown, and name it as Kafka does", () => {
    for (const code of [0, 6, 7, 8, -1, 127]) expect(resourceTypeFromCode(code)).toBe("unknown");
    for (const code of [0, 5, 9]) expect(patternTypeFromCode(code)).toBe("unknown");
    for (const code of [0, 13, 14, 15, 16]) expect(operationFromCode(code)).toBe("unknown");
    for (const code of [0, 4]) expect(permissionFromCode(code)).toBe("unknown");
    expect(kafkaName("resourceType", 6)).toBe("DELEGATION_TOKEN");
    expect(kafkaName("resourceType", 7)).toBe("USER");
    expect(kafkaName("operation", 13)).toBe("CREATE_TOKENS");
    expect(kafkaName("operation", 12)).toBe("IDEMPOTENT_WRITE");
    expect(kafkaName("permissionType", 9)).toBe("UNKNOWN");
  });

  it("parse names as a person types them", () => {
    expect(parseOperation("Read")).toBe("read");
    expect(parseOperation("DESCRIBE_CONFIGS")).toBe("describeConfigs");
    expect(parseOperation("DescribeConfigs")).toBe("describeConfigs");
    expect(parseOperation("idempotent-write")).toBe("idempotentWrite");
    expect(parseResourceType("transactional-id")).toBe("transactionalId");
    expect(parseResourceType("TRANSACTIONAL_ID")).toBe("transactionalId");
    expect(parseResourceType("Any")).toBe("any");
    expect(parsePatternType("PREFIXED")).toBe("prefixed");
    expect(parsePatternType("match")).toBe("match");
    expect(parsePermission("Deny")).toBe("deny");
    expectAclError(() => parseOperation("publish"), "INVALID_REQUEST", /unknown operation "publish".*read/);
    expectAclError(() => parseResourceType("user"), "INVALID_REQUEST", /unknown resource type "user"/);
  });
});

describe("hosts", () => {
  it("canonicalize IP addresses and refuse anything else", () => {
    expect(canonicalIp("10.0.0.1")).toBe("10.0.0.1");
    expect(canonicalIp("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(canonicalIp("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIp("2001:db8:0000:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(canonicalIp("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(canonicalIp("::ffff:a00:1")).toBe("10.0.0.1");
    expect(canonicalIp("::")).toBe("::");
    expect(canonicalIp("1::")).toBe("1::");
    for (const text of [
      "",
      "localhost",
      "10.0.0",
      "10.0.0.256",
      "010.0.0.1",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      ":::",
      "1.2.3.4::",
      "fe80::1%eth0",
      "12345::",
    ]) {
      expect(canonicalIp(text), text).toBeUndefined();
    }
  });

  it("take a client's address as ACLs see it", () => {
    expect(canonicalHost("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(canonicalHost("fe80::0001%eth0")).toBe("fe80::1");
    expect(canonicalHost("not-an-ip")).toBe("not-an-ip");
    expect(canonicalHost("*")).toBe("*");
  });

  it("agree with Node on which strings are addresses, and with RFC 5952 (as URLs print it) on IPv6", () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), (groups, padded) => {
        const text = groups.map((g) => (padded ? g.toString(16).padStart(4, "0") : g.toString(16))).join(":");
        const canonical = canonicalIp(text);
        expect(canonical).toBeDefined();
        expect(canonicalIp(canonical ?? "")).toBe(canonical);
        const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
        if (!mapped) expect(canonical).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f:.]{0,20}$/), (text) => {
        expect(canonicalIp(text) !== undefined).toBe(isIP(text) !== 0);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("validateBinding", () => {
  it("accepts well-formed bindings, for each operation Kafka supports on the type and for all", () => {
    for (const resourceType of RESOURCE_TYPES) {
      const resourceName = resourceType === "cluster" ? "kafka-cluster" : "x";
      for (const operation of ["all", ...supportedOperations(resourceType)] as Operation[]) {
        expect(() => validateBinding(acl({ resourceType, resourceName, operation }))).not.toThrow();
      }
    }
    expect(() => validateBinding(acl({ principal: "User:*", host: "::1", resourceName: "*" }))).not.toThrow();
    expect(() => validateBinding(acl({ principal: "Group:ops", host: "192.168.1.10" }))).not.toThrow();
    expect(() => validateBinding(acl({ patternType: "prefixed", resourceName: "ord" }))).not.toThrow();
    expect(() => validateBinding(acl({ principal: "User:CN=a:b" }))).not.toThrow();
  });

  it("refuses each malformed field with INVALID_REQUEST and a message naming it", () => {
    const cases: [Partial<AclBinding> | Record<string, string>, RegExp][] = [
      [{ principal: "alice" }, /Invalid principal "alice".*Type:name/],
      [{ principal: ":alice" }, /Invalid principal/],
      [{ principal: "User:" }, /Invalid principal/],
      [{ host: "localhost" }, /Invalid host "localhost".*IP address/],
      [{ host: "10.0.0.256" }, /Invalid host/],
      [{ host: "" }, /Invalid host/],
      [{ resourceType: "any" }, /Invalid resourceType any/],
      [{ resourceType: "unknown" }, /Invalid resourceType unknown/],
      [{ resourceType: "user" }, /Invalid resourceType user/],
      [{ patternType: "match" }, /Invalid patternType match/],
      [{ patternType: "any" }, /Invalid patternType any/],
      [{ operation: "any" }, /Invalid operation any/],
      [{ operation: "unknown" }, /Invalid operation unknown/],
      [{ permission: "any" }, /Invalid permissionType any/],
      [{ resourceName: "" }, /Invalid empty resource name/],
      [
        { resourceType: "cluster", resourceName: "my-cluster", operation: "alter" },
        /only valid name for the CLUSTER/,
      ],
      [
        {
          resourceType: "cluster",
          resourceName: "kafka-cluster",
          patternType: "prefixed",
          operation: "alter",
        },
        /only valid name for the CLUSTER.*literal/,
      ],
      [{ patternType: "prefixed", resourceName: "*" }, /Invalid prefixed resource name "\*"/],
      [
        { resourceType: "cluster", resourceName: "kafka-cluster", operation: "read" },
        /cluster only supports.*not read/,
      ],
      [{ resourceType: "group", operation: "write" }, /group only supports.*not write/],
      [{ resourceType: "transactionalId", operation: "read" }, /transactionalId only supports.*not read/],
      [{ operation: "idempotentWrite" }, /topic only supports.*not idempotentWrite/],
    ];
    for (const [fields, message] of cases) {
      expectAclError(() => validateBinding(acl(fields as Partial<AclBinding>)), "INVALID_REQUEST", message);
    }
  });

  it("parses principals at the first colon", () => {
    expect(parsePrincipal("User:alice")).toEqual({ type: "User", name: "alice" });
    expect(parsePrincipal("User:CN=x:y")).toEqual({ type: "User", name: "CN=x:y" });
  });
});

describe("filters", () => {
  const literal = acl({ resourceName: "orders" });
  const wildcard = acl({ resourceName: "*" });
  const prefix = acl({ resourceName: "ord", patternType: "prefixed" });
  const other = acl({ resourceName: "payments", patternType: "prefixed" });
  const group = acl({ resourceType: "group", resourceName: "orders" });
  const all = [literal, wildcard, prefix, other, group];
  const select = (filter: Parameters<typeof matches>[0]) => all.filter((binding) => matches(filter, binding));

  it("select everything when every field is any or left out", () => {
    expect(select(MATCH_ALL)).toEqual(all);
    expect(
      select({
        resourceType: "any",
        resourceName: null,
        patternType: "any",
        principal: null,
        host: null,
        operation: "any",
        permission: "any",
      }),
    ).toEqual(all);
  });

  it("compare the name exactly for any and for a pattern type", () => {
    expect(select({ resourceName: "orders" })).toEqual([literal, group]);
    expect(select({ resourceName: "orders", patternType: "literal" })).toEqual([literal, group]);
    expect(select({ resourceName: "orders", patternType: "prefixed" })).toEqual([]);
    expect(select({ resourceName: "ord", patternType: "prefixed" })).toEqual([prefix]);
    expect(select({ resourceName: "*", patternType: "literal" })).toEqual([wildcard]);
    expect(select({ resourceType: "topic", patternType: "prefixed" })).toEqual([prefix, other]);
  });

  it("with match, select the literal name, the wildcard and the prefixes the name starts with", () => {
    expect(select({ resourceType: "topic", resourceName: "orders", patternType: "match" })).toEqual([
      literal,
      wildcard,
      prefix,
    ]);
    expect(select({ resourceType: "topic", resourceName: "payments-eu", patternType: "match" })).toEqual([
      wildcard,
      other,
    ]);
    expect(select({ resourceType: "group", resourceName: "x", patternType: "match" })).toEqual([]);
  });

  it("compare principal, operation and permission exactly and hosts as addresses", () => {
    const bindings = [
      acl({ principal: "User:*" }),
      acl({ principal: "User:bob", host: "0:0:0:0:0:0:0:1" }),
      acl({ operation: "write", permission: "deny" }),
    ];
    const chosen = (filter: Parameters<typeof matches>[0]) => bindings.filter((b) => matches(filter, b));
    expect(chosen({ principal: "User:*" })).toEqual([bindings[0]]);
    expect(chosen({ principal: "User:alice" })).toEqual([bindings[2]]);
    expect(chosen({ host: "::1" })).toEqual([bindings[1]]);
    expect(chosen({ host: "*" })).toEqual([bindings[0], bindings[2]]);
    expect(chosen({ operation: "write" })).toEqual([bindings[2]]);
    expect(chosen({ operation: "read", permission: "allow" })).toEqual([bindings[0], bindings[1]]);
    expect(chosen({ permission: "deny" })).toEqual([bindings[2]]);
  });

  it("refuse fields that are none of their values", () => {
    expectAclError(
      () => validateFilter({ operation: "publish" as Operation }),
      "INVALID_REQUEST",
      /Invalid operation publish/,
    );
    expectAclError(
      () => validateFilter({ resourceType: "unknown" as ResourceType }),
      "INVALID_REQUEST",
      /Invalid resourceType unknown/,
    );
    expect(() => validateFilter({ patternType: "match", resourceName: "x" })).not.toThrow();
  });
});

describe("AclTable", () => {
  it("stores a binding once, hosts compared as addresses, and removes it", () => {
    const table = new AclTable();
    expect(table.add(acl({ host: "::1" }))).toBe(true);
    expect(table.add(acl({ host: "0:0::1" }))).toBe(false);
    expect(table.size).toBe(1);
    expect(table.has(acl({ host: "0:0:0:0:0:0:0:1" }))).toBe(true);
    expect(table.remove(acl({ host: "::1" }))).toBe(true);
    expect(table.remove(acl({ host: "::1" }))).toBe(false);
    expect(table.size).toBe(0);
  });

  it("keeps its own frozen copy of each binding", () => {
    const binding = { ...acl() };
    const table = AclTable.from([binding]);
    binding.resourceName = "changed";
    expect([...table]).toEqual([acl()]);
    expect(Object.isFrozen([...table][0])).toBe(true);
  });

  it("refuses an invalid binding", () => {
    expectAclError(() => new AclTable().add(acl({ host: "example.com" })), "INVALID_REQUEST", /Invalid host/);
  });

  it("is bounded: a full table refuses a new binding but takes an existing one", () => {
    const table = new AclTable({ maxBindings: 2 });
    table.add(acl({ resourceName: "a" }));
    table.add(acl({ resourceName: "b" }));
    expectAclError(
      () => table.add(acl({ resourceName: "c" })),
      "RESOURCE_LIMIT_REACHED",
      /full \(2 bindings\)/,
    );
    expect(table.add(acl({ resourceName: "a" }))).toBe(false);
    table.remove(acl({ resourceName: "a" }));
    expect(table.add(acl({ resourceName: "c" }))).toBe(true);
    expectAclError(() => new AclTable({ maxBindings: 0 }), "INVALID_CONFIG", /maxBindings/);
  });

  it("holds 100,000 bindings by default and refuses the next", () => {
    expect(DEFAULT_MAX_ACL_BINDINGS).toBe(100_000);
    const table = new AclTable();
    for (let i = 0; i < DEFAULT_MAX_ACL_BINDINGS; i++) table.add(acl({ resourceName: `topic-${i}` }));
    expectAclError(() => table.add(acl({ resourceName: "one-more" })), "RESOURCE_LIMIT_REACHED", /100000/);
    // Deciding looks only at the bindings that apply: one literal group here.
    expect(table.groupsFor("topic", "topic-77")).toHaveLength(1);
    expect(authorizer([]).authorize(alice, "read", "topic", "x").allowed).toBe(true);
    const decide = new Authorizer(table, { superUsers: [], allowEveryoneIfNoAclFound: undefined });
    expect(decide.authorize(alice, "read", "topic", "topic-99999").allowed).toBe(true);
    expect(decide.authorize(bob, "read", "topic", "topic-99999").allowed).toBe(false);
  });

  it("describes and removes what a filter selects, in the order added", () => {
    const table = AclTable.from([
      acl({ resourceName: "orders" }),
      acl({ resourceName: "ord", patternType: "prefixed", permission: "deny" }),
      acl({ resourceName: "*" }),
      acl({ resourceName: "payments" }),
    ]);
    const affecting = { resourceType: "topic", resourceName: "orders", patternType: "match" } as const;
    expect(table.describe(affecting).map((b) => b.resourceName)).toEqual(["orders", "ord", "*"]);
    expect(table.describe().length).toBe(4);
    expect(table.removeMatching({ permission: "deny" }).map((b) => b.resourceName)).toEqual(["ord"]);
    expect(table.describe(affecting).map((b) => b.resourceName)).toEqual(["orders", "*"]);
    expect(table.removeMatching(MATCH_ALL)).toHaveLength(3);
    expect(table.size).toBe(0);
  });

  it("finds prefixed bindings by each prefix length it holds, and forgets a length with its last binding", () => {
    const table = AclTable.from([
      acl({ resourceName: "o", patternType: "prefixed" }),
      acl({ resourceName: "ord", patternType: "prefixed" }),
      acl({ resourceName: "orders", patternType: "prefixed" }),
      acl({ resourceName: "orders-eu", patternType: "prefixed" }),
      acl({ resourceName: "pay", patternType: "prefixed" }),
    ]);
    expect(table.groupsFor("topic", "orders")).toHaveLength(3);
    expect(table.groupsFor("group", "orders")).toHaveLength(0);
    table.remove(acl({ resourceName: "ord", patternType: "prefixed" }));
    expect(table.groupsFor("topic", "orders")).toHaveLength(2);
    table.remove(acl({ resourceName: "pay", patternType: "prefixed" }));
    expect(table.groupsFor("topic", "orders")).toHaveLength(2);
  });
});

describe("Authorizer.authorize", () => {
  it("allows a super user everything, whatever DENY says", () => {
    const decide = authorizer(
      [acl({ principal: "User:*", operation: "all", permission: "deny", resourceName: "*" })],
      false,
      ["User:admin"],
    );
    const result = decide.authorize(
      { principal: "User:admin", host: "1.2.3.4" },
      "delete",
      "topic",
      "orders",
    );
    expect(result).toEqual({ allowed: true, reason: "allowed: User:admin is a super user" });
    expect(decide.authorize(alice, "read", "topic", "orders").allowed).toBe(false);
  });

  it("refuses a super user that is not a principal", () => {
    expectAclError(
      () => new Authorizer([], { superUsers: ["admin"], allowEveryoneIfNoAclFound: false }),
      "INVALID_CONFIG",
      /super user "admin"/,
    );
  });

  it("allows what an ALLOW names, and explains it", () => {
    const result = authorizer([acl()]).authorize(alice, "read", "topic", "orders");
    expect(result).toEqual({
      allowed: true,
      reason:
        "allowed: User:alice may read topic orders by [allow User:alice read topic literal:orders host *]",
    });
  });

  it("denies when a DENY matches, whatever ALLOWs match", () => {
    const decide = authorizer([
      acl({ principal: "User:*", operation: "all", resourceName: "*" }),
      acl(),
      acl({ operation: "read", permission: "deny", host: "10.0.0.1" }),
    ]);
    const result = decide.authorize(alice, "read", "topic", "orders");
    expect(result.allowed).toBe(false);
    expect(result.reason).toBe(
      "denied: User:alice may not read topic orders by [deny User:alice read topic literal:orders host 10.0.0.1]",
    );
    expect(decide.authorize({ ...alice, host: "10.0.0.9" }, "read", "topic", "orders").allowed).toBe(true);
  });

  it("denies every operation for a DENY of all, and a DENY denies only what it names", () => {
    const decide = authorizer([
      acl({ operation: "all" }),
      acl({ operation: "all", permission: "deny", resourceName: "x" }),
    ]);
    for (const operation of supportedOperations("topic")) {
      expect(decide.authorize(alice, operation, "topic", "x").allowed, operation).toBe(false);
    }
    const readDenied = authorizer([acl({ operation: "all" }), acl({ permission: "deny" })]);
    expect(readDenied.authorize(alice, "read", "topic", "orders").allowed).toBe(false);
    // Kafka: DENY read does not deny describe, which the ALLOW all grants.
    expect(readDenied.authorize(alice, "describe", "topic", "orders").allowed).toBe(true);
    expect(readDenied.authorize(alice, "write", "topic", "orders").allowed).toBe(true);
  });

  it("allows every operation for an ALLOW of all", () => {
    const decide = authorizer([acl({ operation: "all" })]);
    for (const operation of OPERATIONS) {
      expect(decide.authorize(alice, operation, "topic", "orders").allowed, operation).toBe(true);
    }
  });

  it("implies describe from an ALLOW of read, write, delete or alter, and not from create", () => {
    for (const operation of ["read", "write", "delete", "alter", "describe"] as const) {
      expect(
        authorizer([acl({ operation })]).authorize(alice, "describe", "topic", "orders").allowed,
        operation,
      ).toBe(true);
    }
    for (const operation of ["create", "describeConfigs", "alterConfigs"] as const) {
      expect(
        authorizer([acl({ operation })]).authorize(alice, "describe", "topic", "orders").allowed,
        operation,
      ).toBe(false);
    }
    // The implication runs one way: describe allows no read.
    expect(
      authorizer([acl({ operation: "describe" })]).authorize(alice, "read", "topic", "orders").allowed,
    ).toBe(false);
  });

  it("implies describeConfigs from an ALLOW of alterConfigs, and only from it", () => {
    const decide = authorizer([acl({ operation: "alterConfigs" })]);
    expect(decide.authorize(alice, "describeConfigs", "topic", "orders").allowed).toBe(true);
    expect(decide.authorize(alice, "describe", "topic", "orders").allowed).toBe(false);
    expect(
      authorizer([acl({ operation: "alter" })]).authorize(alice, "describeConfigs", "topic", "orders")
        .allowed,
    ).toBe(false);
    // A DENY of alterConfigs does not deny describeConfigs.
    const denied = authorizer([
      acl({ operation: "describeConfigs" }),
      acl({ operation: "alterConfigs", permission: "deny" }),
    ]);
    expect(denied.authorize(alice, "describeConfigs", "topic", "orders").allowed).toBe(true);
  });

  it("matches User:* to every principal and host * to every host, and nothing else by wildcard", () => {
    const decide = authorizer([
      acl({ principal: "User:*" }),
      acl({ principal: "Group:*", operation: "write" }),
    ]);
    expect(decide.authorize(bob, "read", "topic", "orders").allowed).toBe(true);
    expect(
      decide.authorize({ principal: "Group:ops", host: "1.1.1.1" }, "write", "topic", "orders").allowed,
    ).toBe(false);
    const fromHost = authorizer([acl({ host: "10.0.0.1" })]);
    expect(fromHost.authorize(alice, "read", "topic", "orders").allowed).toBe(true);
    expect(fromHost.authorize({ ...alice, host: "10.0.0.2" }, "read", "topic", "orders").allowed).toBe(false);
  });

  it("compares hosts as addresses: an IPv4 client of a dual-stack listener matches its IPv4 ACL", () => {
    const decide = authorizer([acl({ host: "10.0.0.1" }), acl({ host: "::1", operation: "write" })]);
    expect(decide.authorize({ ...alice, host: "::ffff:10.0.0.1" }, "read", "topic", "orders").allowed).toBe(
      true,
    );
    expect(decide.authorize({ ...alice, host: "0:0:0:0:0:0:0:1" }, "write", "topic", "orders").allowed).toBe(
      true,
    );
  });

  it("matches the wildcard resource and prefixed patterns, never a literal that is only a prefix", () => {
    const decide = authorizer([
      acl({ resourceName: "*", operation: "describe" }),
      acl({ resourceName: "ord", patternType: "prefixed", operation: "write" }),
      acl({ resourceName: "pay", operation: "read" }),
    ]);
    expect(decide.authorize(alice, "describe", "topic", "anything").allowed).toBe(true);
    expect(decide.authorize(alice, "describe", "group", "anything").allowed).toBe(false);
    expect(decide.authorize(alice, "write", "topic", "orders").allowed).toBe(true);
    expect(decide.authorize(alice, "write", "topic", "ord").allowed).toBe(true);
    expect(decide.authorize(alice, "write", "topic", "or").allowed).toBe(false);
    expect(decide.authorize(alice, "read", "topic", "pay").allowed).toBe(true);
    expect(decide.authorize(alice, "read", "topic", "payments").allowed).toBe(false);
  });

  it("denies when ACLs exist on the resource but none allows, naming who and what", () => {
    const result = authorizer([acl()], true).authorize(bob, "write", "topic", "orders");
    expect(result).toEqual({
      allowed: false,
      reason: "denied: no ACL allows User:bob to write topic orders",
    });
  });

  it("follows allowEveryoneIfNoAclFound when set, whatever other resources have", () => {
    const open = authorizer([acl({ resourceName: "payments" })], true);
    expect(open.authorize(bob, "write", "topic", "orders")).toEqual({
      allowed: true,
      reason: "allowed: no ACL on topic orders and allowEveryoneIfNoAclFound is true",
    });
    expect(open.authorize(bob, "write", "topic", "payments").allowed).toBe(false);
    const closed = authorizer([], false);
    expect(closed.authorize(bob, "write", "topic", "orders")).toEqual({
      allowed: false,
      reason: "denied: no ACL on topic orders and allowEveryoneIfNoAclFound is false",
    });
  });

  it("left undefined, is open until the first ACL is added and closed from then on", () => {
    const table = new AclTable();
    const decide = new Authorizer(table, { superUsers: [], allowEveryoneIfNoAclFound: undefined });
    expect(decide.authorize(bob, "write", "topic", "orders").allowed).toBe(true);
    table.add(acl({ resourceType: "group", resourceName: "g" }));
    const result = decide.authorize(bob, "write", "topic", "orders");
    expect(result.allowed).toBe(false);
    expect(result.reason).toMatch(/^denied: no ACL on topic orders/);
    table.remove(acl({ resourceType: "group", resourceName: "g" }));
    expect(decide.authorize(bob, "write", "topic", "orders").allowed).toBe(true);
  });

  it("closes a resource to everyone else once any ACL applies to it (Kafka's 'no ACL found' is per resource)", () => {
    const decide = authorizer([], true);
    expect(decide.authorize(alice, "read", "topic", "orders").allowed).toBe(true);
    decide.table.add(acl({ principal: "User:bob", resourceName: "ord", patternType: "prefixed" }));
    expect(decide.authorize(alice, "read", "topic", "orders").allowed).toBe(false);
    expect(decide.authorize(alice, "read", "topic", "payments").allowed).toBe(true);
  });

  it("reports the authorized operations of a resource, as bits", () => {
    const decide = authorizer([acl(), acl({ operation: "alterConfigs" })]);
    const operations = decide.authorizedOperations(alice, "topic", "orders");
    expect(operations).toEqual(["read", "describe", "describeConfigs", "alterConfigs"]);
    expect(operationsBitfield(operations)).toBe((1 << 3) | (1 << 8) | (1 << 10) | (1 << 11));
    expect(
      authorizer([acl({ principal: "User:*", operation: "all", resourceName: "*" })]).authorizedOperations(
        bob,
        "topic",
        "x",
      ),
    ).toEqual(supportedOperations("topic"));
  });
});

describe("Authorizer.authorizeByResourceType", () => {
  const write = (fields: Partial<AclBinding>) => acl({ operation: "write", ...fields });
  const byType = (bindings: AclBinding[], session: Session = alice) =>
    authorizer(bindings, false, ["User:admin"]).authorizeByResourceType(session, "write", "topic").allowed;

  it("allows when some ALLOW names the operation on some resource of the type", () => {
    expect(byType([write({ resourceName: "orders" })])).toBe(true);
    expect(byType([write({ resourceName: "ord", patternType: "prefixed" })])).toBe(true);
    expect(byType([write({ resourceName: "*" })])).toBe(true);
    expect(byType([write({ operation: "all" })])).toBe(true);
    expect(byType([write({ principal: "User:*", host: "10.0.0.1" })])).toBe(true);
  });

  it("does not imply, and counts only the principal's and host's bindings", () => {
    expect(byType([])).toBe(false);
    expect(byType([write({ operation: "read" })])).toBe(false);
    expect(byType([write({ principal: "User:bob" })])).toBe(false);
    expect(byType([write({ host: "10.0.0.2" })])).toBe(false);
    expect(byType([write({ resourceType: "transactionalId" })])).toBe(false);
    expect(
      authorizer([acl({ operation: "read" })], false).authorizeByResourceType(alice, "describe", "topic")
        .allowed,
    ).toBe(false);
  });

  it("cancels an ALLOW by a DENY of its literal name, of a prefix of it, or of everything", () => {
    expect(byType([write({}), write({ permission: "deny" })])).toBe(false);
    expect(
      byType([write({}), write({ permission: "deny", resourceName: "ord", patternType: "prefixed" })]),
    ).toBe(false);
    expect(
      byType([
        write({ resourceName: "orders-", patternType: "prefixed" }),
        write({ permission: "deny", resourceName: "ord", patternType: "prefixed" }),
      ]),
    ).toBe(false);
    expect(byType([write({ resourceName: "*" }), write({ permission: "deny", resourceName: "*" })])).toBe(
      false,
    );
    expect(
      byType([
        write({ resourceName: "x" }),
        write({ permission: "deny", resourceName: "*", operation: "all" }),
      ]),
    ).toBe(false);
    // A DENY of a literal name does not cancel a prefix that covers it, nor another name.
    expect(
      byType([write({ resourceName: "ord", patternType: "prefixed" }), write({ permission: "deny" })]),
    ).toBe(true);
    expect(byType([write({ resourceName: "payments" }), write({ permission: "deny" })])).toBe(true);
  });

  it("allows super users and, with the no-ACL default, everyone", () => {
    expect(
      byType([write({ permission: "deny", resourceName: "*" })], {
        principal: "User:admin",
        host: "1.1.1.1",
      }),
    ).toBe(true);
    expect(authorizer([], true).authorizeByResourceType(bob, "write", "topic").allowed).toBe(true);
    expect(authorizer([], undefined).authorizeByResourceType(bob, "write", "topic").allowed).toBe(true);
    expect(
      authorizer([acl({ resourceType: "group", resourceName: "g" })]).authorizeByResourceType(
        bob,
        "write",
        "topic",
      ),
    ).toEqual({ allowed: false, reason: "denied: no ACL allows User:bob to write some topic" });
  });
});

describe("wire bindings and filters", () => {
  const wire = {
    resourceType: 2,
    resourceName: "orders",
    patternType: 3,
    principal: "User:alice",
    host: "*",
    operation: 3,
    permissionType: 3,
  };

  it("decode to bindings and back", () => {
    expect(bindingFromWire(wire)).toEqual(acl());
    expect(bindingToWire(acl())).toEqual(wire);
    expect(
      bindingFromWire({ ...wire, resourceType: 4, resourceName: "kafka-cluster", operation: 9 }),
    ).toEqual(acl({ resourceType: "cluster", resourceName: "kafka-cluster", operation: "clusterAction" }));
  });

  it("refuse filter values, unknown codes and invalid bindings with Kafka's names", () => {
    expectAclError(
      () => bindingFromWire({ ...wire, resourceType: 1 }),
      "INVALID_REQUEST",
      /Invalid resourceType ANY/,
    );
    expectAclError(
      () => bindingFromWire({ ...wire, resourceType: 6 }),
      "INVALID_REQUEST",
      /Invalid resourceType DELEGATION_TOKEN/,
    );
    expectAclError(
      () => bindingFromWire({ ...wire, patternType: 2 }),
      "INVALID_REQUEST",
      /Invalid patternType MATCH/,
    );
    expectAclError(
      () => bindingFromWire({ ...wire, operation: 13 }),
      "INVALID_REQUEST",
      /Invalid operation CREATE_TOKENS/,
    );
    expectAclError(
      () => bindingFromWire({ ...wire, permissionType: 0 }),
      "INVALID_REQUEST",
      /Invalid permissionType UNKNOWN/,
    );
    expectAclError(
      () => bindingFromWire({ ...wire, resourceType: 4, operation: 4 }),
      "INVALID_REQUEST",
      /only valid name for the CLUSTER/,
    );
  });

  it("decode filters, any and match included, and refuse unknown codes", () => {
    const any = {
      resourceType: 1,
      resourceName: null,
      patternType: 1,
      principal: null,
      host: null,
      operation: 1,
      permissionType: 1,
    };
    const decoded = filterFromWire(any);
    expect(AclTable.from([acl(), acl({ resourceName: "x" })]).describe(decoded)).toHaveLength(2);
    expect(filterToWire(decoded)).toEqual(any);
    expect(filterToWire(MATCH_ALL)).toEqual(any);
    expect(filterFromWire({ ...any, patternType: 2, resourceName: "orders" })).toMatchObject({
      patternType: "match",
      resourceName: "orders",
    });
    expectAclError(
      () => filterFromWire({ ...any, resourceType: 0 }),
      "INVALID_REQUEST",
      /Invalid resourceType UNKNOWN/,
    );
    expectAclError(
      () => filterFromWire({ ...any, operation: 14 }),
      "INVALID_REQUEST",
      /Invalid operation DESCRIBE_TOKENS/,
    );
  });
});

// ---- Property tests: the indexed authorizer against a plain reading of Kafka's rules. ----

const principals = ["User:alice", "User:bob", "User:*"] as const;
const aclHosts = ["*", "10.0.0.1", "10.0.0.2", "::ffff:10.0.0.1"] as const;
const clientHosts = ["10.0.0.1", "10.0.0.2", "::ffff:10.0.0.2"] as const;
const names = fc.stringMatching(/^[ab]{1,3}$/);

const arbBinding: fc.Arbitrary<AclBinding> = fc
  .constantFrom(...RESOURCE_TYPES)
  .chain((resourceType) =>
    fc.record({
      principal: fc.constantFrom(...principals),
      host: fc.constantFrom(...aclHosts),
      resourceType: fc.constant(resourceType),
      resourceName:
        resourceType === "cluster" ? fc.constant("kafka-cluster") : fc.oneof(names, fc.constant("*")),
      patternType:
        resourceType === "cluster" ? fc.constant("literal" as const) : fc.constantFrom(...PATTERN_TYPES),
      operation: fc.constantFrom<Operation>("all", ...supportedOperations(resourceType)),
      permission: fc.constantFrom(...PERMISSIONS),
    }),
  )
  .filter((binding) => !(binding.patternType === "prefixed" && binding.resourceName === "*"));

interface Request {
  readonly session: Session;
  readonly operation: Operation;
  readonly resourceType: ResourceType;
  readonly resourceName: string;
}

const arbRequest: fc.Arbitrary<Request> = fc.constantFrom(...RESOURCE_TYPES).chain((resourceType) =>
  fc.record({
    session: fc.record({
      principal: fc.constantFrom("User:alice", "User:bob", "User:admin"),
      host: fc.constantFrom(...clientHosts),
    }),
    operation: fc.constantFrom(...OPERATIONS),
    resourceType: fc.constant(resourceType),
    resourceName: resourceType === "cluster" ? fc.constant("kafka-cluster") : names,
  }),
);

const arbDefault = fc.constantFrom(true, false, undefined);

/** Kafka's rules read plainly, over every binding (StandardAuthorizerData.findResult and friends). */
function reference(
  bindings: readonly AclBinding[],
  allowEveryoneIfNoAclFound: boolean | undefined,
  { session, operation, resourceType, resourceName }: Request,
): boolean {
  if (session.principal === "User:admin") return true;
  const applies = (b: AclBinding) =>
    b.resourceType === resourceType &&
    (b.patternType === "literal"
      ? b.resourceName === resourceName || b.resourceName === "*"
      : resourceName.startsWith(b.resourceName));
  const impliesDescribe: Operation[] = ["describe", "read", "write", "delete", "alter"];
  const impliesDescribeConfigs: Operation[] = ["describeConfigs", "alterConfigs"];
  const operationMatches = (b: AclBinding) => {
    if (b.operation === "all") return true;
    if (b.permission === "deny") return b.operation === operation;
    if (operation === "describe") return impliesDescribe.includes(b.operation);
    if (operation === "describeConfigs") return impliesDescribeConfigs.includes(b.operation);
    return b.operation === operation;
  };
  const entryMatches = (b: AclBinding) =>
    (b.principal === session.principal || b.principal === "User:*") &&
    (b.host === "*" || canonicalIp(b.host) === canonicalIp(session.host)) &&
    operationMatches(b);
  const applying = bindings.filter(applies);
  if (applying.some((b) => entryMatches(b) && b.permission === "deny")) return false;
  if (applying.some((b) => entryMatches(b) && b.permission === "allow")) return true;
  if (applying.length > 0) return false;
  return allowEveryoneIfNoAclFound ?? bindings.length === 0;
}

function decide(
  bindings: readonly AclBinding[],
  allowEveryoneIfNoAclFound: boolean | undefined,
  request: Request,
) {
  const authorizer = new Authorizer(bindings, { superUsers: ["User:admin"], allowEveryoneIfNoAclFound });
  const { session, operation, resourceType, resourceName } = request;
  return authorizer.authorize(session, operation, resourceType, resourceName);
}

describe("properties", () => {
  it("the indexed decision is Kafka's rules applied to every binding", () => {
    fc.assert(
      fc.property(
        fc.array(arbBinding, { maxLength: 30 }),
        arbDefault,
        arbRequest,
        (bindings, dflt, request) => {
          const unique = [...AclTable.from(bindings)];
          expect(decide(unique, dflt, request).allowed).toBe(reference(unique, dflt, request));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it("a matching DENY always wins, except for a super user", () => {
    fc.assert(
      fc.property(
        fc.array(arbBinding, { maxLength: 20 }),
        arbDefault,
        arbRequest,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (bindings, dflt, request, anyPrincipal, anyHost, denyAll) => {
          const deny: AclBinding = {
            principal: anyPrincipal ? "User:*" : request.session.principal,
            host: anyHost ? "*" : request.session.host,
            resourceType: request.resourceType,
            resourceName: request.resourceName,
            patternType: "literal",
            operation: denyAll ? "all" : request.operation,
            permission: "deny",
          };
          fc.pre(
            deny.operation === "all" || supportedOperations(request.resourceType).includes(deny.operation),
          );
          const result = decide([...bindings, deny], dflt, request);
          expect(result.allowed).toBe(request.session.principal === "User:admin");
        },
      ),
    );
  });

  it("adding an ALLOW never denies what was allowed, when the no-ACL default is deny", () => {
    fc.assert(
      fc.property(
        fc.array(arbBinding, { maxLength: 20 }),
        arbBinding,
        arbRequest,
        (bindings, allow, request) => {
          const extra = { ...allow, permission: "allow" as const };
          if (decide(bindings, false, request).allowed)
            expect(decide([...bindings, extra], false, request).allowed).toBe(true);
        },
      ),
    );
  });

  it("removeMatching removes exactly what describe selects", () => {
    const filter = fc.record({
      resourceType: fc.constantFrom<ResourceTypeFilter>("any", ...RESOURCE_TYPES),
      resourceName: fc.option(fc.oneof(names, fc.constant("*"))),
      patternType: fc.constantFrom<PatternTypeFilter>("any", "match", ...PATTERN_TYPES),
      principal: fc.option(fc.constantFrom(...principals)),
      host: fc.option(fc.constantFrom(...aclHosts)),
      operation: fc.constantFrom<OperationFilter>("any", ...OPERATIONS),
      permission: fc.constantFrom<PermissionFilter>("any", ...PERMISSIONS),
    });
    fc.assert(
      fc.property(fc.array(arbBinding, { maxLength: 30 }), filter, (bindings, f) => {
        const table = AclTable.from(bindings);
        const before = table.size;
        const selected = table.describe(f);
        expect(table.removeMatching(f)).toEqual(selected);
        expect(table.size).toBe(before - selected.length);
        expect(table.describe(f)).toEqual([]);
        for (const binding of table) expect(matches(f, binding)).toBe(false);
      }),
    );
  });

  it("every valid binding survives the wire, and reads back as one line", () => {
    fc.assert(
      fc.property(arbBinding, (binding) => {
        expect(bindingFromWire(bindingToWire(binding))).toEqual(binding);
        expect(formatAclBinding(binding)).toContain(`${binding.resourceType} ${binding.patternType}:`);
      }),
    );
  });
});
