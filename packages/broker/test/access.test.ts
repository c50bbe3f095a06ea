// AccessControl over a fake policy: a denial throws the resource type's *_AUTHORIZATION_FAILED; the
// cluster's own nodes pass without asking the policy; refusedTopics names exactly the denied topics; a
// denial is logged once per principal, operation and resource a minute (injected clock), and the memory
// of logged denials is bounded.
import { BrookError, type Caller } from "@brook/protocol";
import type { AuthorizationResult, Operation, ResourceType } from "@brook/security";
import type { Logger } from "pino";
import { describe, expect, it } from "vitest";
import { AccessControl, type AccessPolicy, allowEverything, deniedCode } from "../src/access.js";

const alice: Caller = { principal: "User:alice", host: "10.0.0.1" };
const bob: Caller = { principal: "User:bob", host: "10.0.0.2" };
const node: Caller = { nodeId: 2, principal: "User:brook-node-2", host: "10.0.0.3" };
const operator: Caller = { nodeId: 0, principal: "User:brook-operator", host: "10.0.0.4" };

/** Allows what `allowed` lists as "principal operation resourceType name"; counts what it is asked. */
function fakePolicy(...allowed: string[]) {
  const asked: string[] = [];
  const askedAny: string[] = [];
  const decide = (what: string): AuthorizationResult =>
    allowed.includes(what)
      ? { allowed: true, reason: `allowed ${what}` }
      : { allowed: false, reason: `no ACL for ${what}` };
  const policy: AccessPolicy = {
    authorize(caller, operation, resourceType, name) {
      const what = `${caller.principal} ${operation} ${resourceType} ${name}`;
      asked.push(what);
      return decide(what);
    },
    authorizeAny(caller, operation, resourceType) {
      const what = `${caller.principal} ${operation} ${resourceType} *`;
      askedAny.push(what);
      return decide(what);
    },
  };
  return { policy, asked, askedAny };
}

/** A pino-like logger that keeps its warn calls. */
function fakeLogger() {
  const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
  } as unknown as Logger;
  return { logger, warnings };
}

function accessControl(...allowed: string[]) {
  let now = 1_700_000_000_000;
  const { policy, asked, askedAny } = fakePolicy(...allowed);
  const { logger, warnings } = fakeLogger();
  const access = new AccessControl(policy, logger, () => now);
  return {
    access,
    asked,
    askedAny,
    warnings,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function thrown(run: () => void): BrookError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BrookError);
    return error as BrookError;
  }
  throw new Error("expected a BrookError");
}

describe("require", () => {
  it.each([
    ["topic", "orders", "read", "TOPIC_AUTHORIZATION_FAILED"],
    ["group", "billing", "read", "GROUP_AUTHORIZATION_FAILED"],
    ["cluster", "kafka-cluster", "alter", "CLUSTER_AUTHORIZATION_FAILED"],
    ["transactionalId", "tx-1", "write", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"],
  ] as Array<[ResourceType, string, Operation, string]>)(
    "a denied %s throws its own code",
    (resourceType, name, operation, code) => {
      const { access } = accessControl();
      const error = thrown(() => access.require(alice, operation, resourceType, name));
      expect(error.code).toBe(code);
      expect(deniedCode(resourceType)).toBe(code);
      expect(error.detail).toBe(`User:alice may not ${operation} ${resourceType} ${JSON.stringify(name)}`);
    },
  );

  it("passes what the policy allows, asking it with the caller, operation, type and name", () => {
    const { access, asked } = accessControl("User:alice read topic orders");
    expect(() => access.require(alice, "read", "topic", "orders")).not.toThrow();
    expect(asked).toEqual(["User:alice read topic orders"]);
    expect(() => access.require(bob, "read", "topic", "orders")).toThrow(BrookError);
    expect(() => access.require(alice, "write", "topic", "orders")).toThrow(BrookError);
    expect(() => access.require(alice, "read", "topic", "orders2")).toThrow(BrookError);
  });

  it("allowed answers without throwing", () => {
    const { access } = accessControl("User:alice describe group g");
    expect(access.allowed(alice, "describe", "group", "g")).toBe(true);
    expect(access.allowed(alice, "delete", "group", "g")).toBe(false);
  });

  it("a policy that is not ready refuses with a retriable error, and logs no denial", () => {
    const notReady: AccessPolicy = {
      authorize: () => ({ allowed: false, notReady: true, reason: "not caught up" }),
      authorizeAny: () => ({ allowed: false, notReady: true, reason: "not caught up" }),
    };
    const { logger, warnings } = fakeLogger();
    const access = new AccessControl(notReady, logger);
    expect(access.refusal(alice, "write", "topic", "orders")).toMatchObject({
      code: "NOT_LEADER",
      retriable: true,
    });
    expect(access.refusal(alice, "read", "group", "g")).toMatchObject({
      code: "COORDINATOR_LOAD_IN_PROGRESS",
      retriable: true,
    });
    expect(warnings).toEqual([]);
  });

  it("a denied topic's refusal is the topic error", () => {
    const { access } = accessControl();
    const refusal = access.refusedTopics(bob, "write", ["orders"]).get("orders");
    expect(refusal?.code).toBe("TOPIC_AUTHORIZATION_FAILED");
    expect(refusal?.detail).toBe('User:bob may not write topic "orders"');
  });

  it("allowEverything allows everything", () => {
    const access = new AccessControl(allowEverything, fakeLogger().logger);
    expect(() => access.require(alice, "alter", "cluster", "kafka-cluster")).not.toThrow();
    expect(access.refusedTopics(bob, "write", ["a", "b"]).size).toBe(0);
    expect(access.allowedAny(bob, "write", "transactionalId")).toBe(true);
  });
});

describe("the cluster's own nodes", () => {
  it("are always allowed, without asking the policy or logging", () => {
    const { access, asked, askedAny, warnings } = accessControl();
    for (const caller of [node, operator]) {
      expect(() => access.require(caller, "clusterAction", "cluster", "kafka-cluster")).not.toThrow();
      expect(() => access.require(caller, "write", "topic", "orders")).not.toThrow();
      expect(access.allowed(caller, "read", "group", "g")).toBe(true);
      expect(access.allowedAny(caller, "write", "transactionalId")).toBe(true);
      expect(access.refusedTopics(caller, "read", ["a", "b"]).size).toBe(0);
    }
    expect(asked).toEqual([]);
    expect(askedAny).toEqual([]);
    expect(warnings).toEqual([]);
  });
});

describe("refusedTopics", () => {
  it("names the denied topics among those asked, asking once per distinct name", () => {
    const { access, asked } = accessControl("User:alice read topic a", "User:alice read topic c");
    const denied = access.refusedTopics(alice, "read", ["a", "b", "c", "d", "b", "a"]);
    expect([...denied.keys()].sort()).toEqual(["b", "d"]);
    expect(asked).toEqual([
      "User:alice read topic a",
      "User:alice read topic b",
      "User:alice read topic c",
      "User:alice read topic d",
    ]);
  });

  it("is empty for no topics, or when all are allowed", () => {
    const { access } = accessControl("User:alice write topic a");
    expect(access.refusedTopics(alice, "write", []).size).toBe(0);
    expect(access.refusedTopics(alice, "write", new Set(["a"])).size).toBe(0);
  });

  it("logs each denied topic", () => {
    const { access, warnings } = accessControl();
    access.refusedTopics(bob, "write", ["x", "y"]);
    expect(warnings.map((w) => w.fields.request)).toEqual(["write topic x", "write topic y"]);
  });
});

describe("allowedAny", () => {
  it("asks the policy about the resource type and logs no denial", () => {
    const { access, askedAny, warnings } = accessControl("User:alice write transactionalId *");
    expect(access.allowedAny(alice, "write", "transactionalId")).toBe(true);
    expect(access.allowedAny(bob, "write", "transactionalId")).toBe(false);
    expect(askedAny).toEqual(["User:alice write transactionalId *", "User:bob write transactionalId *"]);
    expect(warnings).toEqual([]);
  });
});

describe("the denial log", () => {
  it("logs a denial with who, from where, what and why", () => {
    const { access, warnings } = accessControl();
    access.allowed(bob, "read", "topic", "orders");
    expect(warnings).toEqual([
      {
        fields: {
          principal: "User:bob",
          host: "10.0.0.2",
          request: "read topic orders",
          reason: "no ACL for User:bob read topic orders",
        },
        message: "request denied",
      },
    ]);
  });

  it("logs a principal's denial on a resource once a minute", () => {
    const { access, warnings, advance } = accessControl();
    const deny = () => thrown(() => access.require(bob, "read", "topic", "orders"));
    deny();
    deny();
    advance(59_999);
    deny();
    expect(warnings).toHaveLength(1);
    advance(1);
    deny();
    expect(warnings).toHaveLength(2);
    // The minute counts from the last time it was logged.
    advance(30_000);
    deny();
    expect(warnings).toHaveLength(2);
    advance(30_000);
    deny();
    expect(warnings).toHaveLength(3);
  });

  it("counts principals, operations and resources apart (the host does not)", () => {
    const { access, warnings } = accessControl();
    access.allowed(bob, "read", "topic", "orders");
    access.allowed(alice, "read", "topic", "orders");
    access.allowed(bob, "write", "topic", "orders");
    access.allowed(bob, "read", "topic", "payments");
    access.allowed(bob, "read", "group", "orders");
    expect(warnings).toHaveLength(5);
    access.allowed({ ...bob, host: "10.9.9.9" }, "read", "topic", "orders");
    access.allowed(alice, "read", "topic", "orders");
    expect(warnings).toHaveLength(5);
  });

  it("allowed requests are not logged", () => {
    const { access, warnings } = accessControl("User:alice read topic orders");
    for (let i = 0; i < 3; i++) access.require(alice, "read", "topic", "orders");
    expect(warnings).toEqual([]);
  });

  it("remembers at most 10000 denials: past that it starts over", () => {
    // 10000 is access.ts's denialKeysMax (not exported).
    const remembered = 10_000;
    const { access, warnings } = accessControl();
    for (let i = 0; i < remembered; i++) access.allowed(bob, "read", "topic", `t${i}`);
    expect(warnings).toHaveLength(remembered);
    // Full, but what it holds is still held: a repeat within the minute is not logged.
    access.allowed(bob, "read", "topic", "t0");
    access.allowed(bob, "read", "topic", `t${remembered - 1}`);
    expect(warnings).toHaveLength(remembered);
    // One more denial makes it forget the rest...
    access.allowed(bob, "read", "topic", "one-more");
    expect(warnings).toHaveLength(remembered + 1);
    access.allowed(bob, "read", "topic", "one-more");
    expect(warnings).toHaveLength(remembered + 1);
    // ...so an old one is logged again, within the minute.
    access.allowed(bob, "read", "topic", "t0");
    expect(warnings).toHaveLength(remembered + 2);
  });
});
