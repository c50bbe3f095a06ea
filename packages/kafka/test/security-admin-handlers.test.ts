// Rule: the ACL and SCRAM-user handlers hand the broker exactly what the Kafka request says, in its
// names (v0's filters literal, "any" for Kafka's ANY, no empty field standing for "anything"), pass the
// client's salt and salted password through, and turn every failure of the broker's calls into the
// response's error fields: a thrown or rejected BrookError (authorization, a lost controller) is every
// entry's error, never a thrown handler (which would close the connection).

import { AccessControl, allowEverything, type BrokerApi } from "@brook/broker";
import { anonymousCaller, BrookError } from "@brook/protocol";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createAcls, deleteAcls, describeAcls } from "../src/handlers/acls.js";
import type { RequestContext } from "../src/handlers/context.js";
import { alterUserScramCredentials, describeUserScramCredentials } from "../src/handlers/scram-users.js";
import { KafkaErrorCode } from "../src/index.js";

type Calls = Record<string, unknown[]>;

function contextOver(broker: Partial<BrokerApi>, apiVersion = 1): { ctx: RequestContext; calls: Calls } {
  const calls: Calls = {};
  const recorded = Object.fromEntries(
    Object.entries(broker).map(([name, method]) => [
      name,
      (request: unknown, ...rest: unknown[]) => {
        calls[name] = [...(calls[name] ?? []), request];
        return (method as (...args: unknown[]) => unknown)(request, ...rest);
      },
    ]),
  );
  const ctx: RequestContext = {
    broker: {
      access: new AccessControl(allowEverything, pino({ level: "silent" })),
      ...recorded,
    } as unknown as BrokerApi,
    autoCreateTopics: false,
    logger: pino({ level: "silent" }),
    apiVersion,
    clientId: "test",
    clientHost: "127.0.0.1",
    caller: anonymousCaller("127.0.0.1"),
    signal: new AbortController().signal,
    mute: () => undefined,
  };
  return { ctx, calls };
}

const denied = () => {
  throw new BrookError(
    "CLUSTER_AUTHORIZATION_FAILED",
    'User:ANONYMOUS may not alter cluster "kafka-cluster"',
  );
};
const lostController = async () => {
  throw new BrookError("NOT_CONTROLLER", "the controller moved");
};

const binding = {
  resourceType: 2,
  resourceName: "orders",
  resourcePatternType: 4,
  principal: "User:alice",
  host: "*",
  operation: 3,
  permissionType: 3,
};
const filter = {
  resourceTypeFilter: 2,
  resourceNameFilter: "orders",
  patternTypeFilter: 2,
  principalFilter: null,
  hostFilter: null,
  operation: 1,
  permissionType: 1,
};
const ok = { code: "", message: "" };

describe("ACL handlers", () => {
  it("CreateAcls sends the valid bindings in Brook's names and lines the answers up with the request", async () => {
    const { ctx, calls } = contextOver({
      createAcls: async (request) => ({
        results: request.bindings.map((_, index) =>
          index === 0 ? { error: ok } : { error: { code: "RESOURCE_LIMIT_REACHED", message: "full" } },
        ),
      }),
    });
    const answer = await createAcls(
      { creations: [binding, { ...binding, operation: 42 }, { ...binding, resourceName: "audit" }] },
      ctx,
    );
    expect(calls.createAcls).toEqual([
      {
        bindings: [
          {
            principal: "User:alice",
            host: "*",
            resourceType: "topic",
            resourceName: "orders",
            patternType: "prefixed",
            operation: "read",
            permission: "allow",
          },
          expect.objectContaining({ resourceName: "audit" }),
        ],
      },
    ]);
    expect(answer.results).toEqual([
      { errorCode: 0, errorMessage: null },
      { errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: "Invalid operation UNKNOWN" },
      { errorCode: KafkaErrorCode.POLICY_VIOLATION, errorMessage: "full" },
    ]);
  });

  it("CreateAcls v0 bindings are literal whatever the decoded body holds", async () => {
    const { ctx, calls } = contextOver({ createAcls: async () => ({ results: [{ error: ok }] }) }, 0);
    await createAcls({ creations: [binding] }, ctx);
    expect(calls.createAcls).toEqual([{ bindings: [expect.objectContaining({ patternType: "literal" })] }]);
  });

  it("DescribeAcls and DeleteAcls send Kafka's ANY as any, null as empty, and v0 filters as literal", async () => {
    const anyResource = {
      resourceTypeFilter: 1,
      resourceNameFilter: null,
      principalFilter: null,
      hostFilter: null,
    };
    for (const version of [0, 1]) {
      const { ctx, calls } = contextOver(
        {
          describeAcls: () => ({ error: ok, bindings: [] }),
          deleteAcls: async () => ({ results: [{ error: ok, bindings: [] }] }),
        },
        version,
      );
      describeAcls({ ...filter, ...anyResource, patternTypeFilter: 1 }, ctx);
      await deleteAcls({ filters: [filter] }, ctx);
      const anyFilter = {
        principal: "",
        host: "",
        resourceType: "any",
        resourceName: "",
        patternType: version === 0 ? "literal" : "any",
        operation: "any",
        permission: "any",
      };
      expect(calls.describeAcls).toEqual([{ filter: anyFilter }]);
      expect(calls.deleteAcls).toEqual([
        {
          filters: [
            {
              ...anyFilter,
              resourceType: "topic",
              resourceName: "orders",
              patternType: version === 0 ? "literal" : "match",
            },
          ],
        },
      ]);
    }
  });

  it("DescribeAcls groups the broker's bindings by resource pattern, in its order", () => {
    const info = (resourceName: string, principal: string, patternType = "literal") => ({
      principal,
      host: "*",
      resourceType: "topic",
      resourceName,
      patternType,
      operation: "describe",
      permission: "deny",
    });
    const { ctx } = contextOver({
      describeAcls: () => ({
        error: ok,
        bindings: [
          info("a", "User:x"),
          info("a", "User:y"),
          info("a", "User:z", "prefixed"),
          info("b", "User:x"),
        ],
      }),
    });
    const answer = describeAcls(filter, ctx);
    expect(
      answer.resources.map((r) => [r.resourceName, r.patternType, r.acls.map((acl) => acl.principal)]),
    ).toEqual([
      ["a", 3, ["User:x", "User:y"]],
      ["a", 4, ["User:z"]],
      ["b", 3, ["User:x"]],
    ]);
    expect(answer.resources[0].acls[0]).toEqual({
      principal: "User:x",
      host: "*",
      operation: 8,
      permissionType: 2,
    });
  });

  it("DeleteAcls answers each filter with what it removed, every binding with error 0", async () => {
    const { ctx } = contextOver({
      deleteAcls: async () => ({
        results: [
          {
            error: ok,
            bindings: [
              {
                principal: "User:bob",
                host: "10.0.0.1",
                resourceType: "transactionalId",
                resourceName: "tx",
                patternType: "literal",
                operation: "write",
                permission: "allow",
              },
            ],
          },
          { error: { code: "INVALID_REQUEST", message: "patternType: nope" }, bindings: [] },
        ],
      }),
    });
    const answer = await deleteAcls({ filters: [filter, filter] }, ctx);
    expect(answer.filterResults).toEqual([
      {
        errorCode: 0,
        errorMessage: null,
        matchingAcls: [
          {
            errorCode: 0,
            errorMessage: null,
            resourceType: 5,
            resourceName: "tx",
            patternType: 3,
            principal: "User:bob",
            host: "10.0.0.1",
            operation: 4,
            permissionType: 3,
          },
        ],
      },
      { errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: "patternType: nope", matchingAcls: [] },
    ]);
  });

  it("a thrown or rejected BrookError is every entry's error", async () => {
    for (const failing of [denied, lostController]) {
      const { ctx } = contextOver({ createAcls: failing, deleteAcls: failing, describeAcls: denied });
      const code = failing === denied ? 31 : KafkaErrorCode.NOT_CONTROLLER;
      const created = await createAcls({ creations: [binding, { ...binding, permissionType: 7 }] }, ctx);
      expect(created.results.map((r) => r.errorCode)).toEqual([code, code]);
      const deleted = await deleteAcls({ filters: [filter, filter] }, ctx);
      expect(deleted.filterResults.map((r) => [r.errorCode, r.matchingAcls])).toEqual([
        [code, []],
        [code, []],
      ]);
    }
    const { ctx } = contextOver({ describeAcls: denied });
    expect(describeAcls(filter, ctx)).toEqual({
      throttleTimeMs: 0,
      errorCode: 31,
      errorMessage: 'User:ANONYMOUS may not alter cluster "kafka-cluster"',
      resources: [],
    });
  });

  it("a result missing from the broker's answer is UNKNOWN_SERVER_ERROR for its entry", async () => {
    const { ctx } = contextOver({ createAcls: async () => ({ results: [{ error: ok }] }) });
    const answer = await createAcls({ creations: [binding, binding] }, ctx);
    expect(answer.results.map((r) => r.errorCode)).toEqual([0, KafkaErrorCode.UNKNOWN_SERVER_ERROR]);
  });
});

describe("SCRAM user handlers", () => {
  it("DescribeUserScramCredentials: null and an empty list ask for every user; mechanisms become codes", () => {
    const { ctx, calls } = contextOver({
      describeUserScramCredentials: () => ({
        results: [
          {
            user: "alice",
            error: ok,
            credentials: [
              { mechanism: "SCRAM-SHA-256", iterations: 4096 },
              { mechanism: "SCRAM-SHA-512", iterations: 8192 },
            ],
          },
        ],
      }),
    });
    const all = describeUserScramCredentials({ users: null }, ctx);
    describeUserScramCredentials({ users: [] }, ctx);
    expect(calls.describeUserScramCredentials).toEqual([{ users: [] }, { users: [] }]);
    expect(all).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      results: [
        {
          user: "alice",
          errorCode: 0,
          errorMessage: null,
          credentialInfos: [
            { mechanism: 1, iterations: 4096 },
            { mechanism: 2, iterations: 8192 },
          ],
        },
      ],
    });
  });

  it("DescribeUserScramCredentials refused: the top-level error and every named user's", () => {
    const { ctx } = contextOver({ describeUserScramCredentials: denied });
    const answer = describeUserScramCredentials(
      { users: [{ name: "a" }, { name: "b" }, { name: "a" }] },
      ctx,
    );
    expect([answer.errorCode, answer.results.map((r) => [r.user, r.errorCode])]).toEqual([
      31,
      [
        ["a", 31],
        ["b", 31],
      ],
    ]);
  });

  it("AlterUserScramCredentials passes the salt and salted password through, by mechanism name", async () => {
    const { ctx, calls } = contextOver({
      alterUserScramCredentials: async (request) => ({
        results: [...new Set([...request.deletions, ...request.upsertions].map((a) => a.name))].map(
          (user) => ({
            user,
            error: ok,
          }),
        ),
      }),
    });
    const salt = Buffer.from("salt");
    const saltedPassword = Buffer.alloc(64, 7);
    const answer = await alterUserScramCredentials(
      {
        deletions: [{ name: "bob", mechanism: 1 }],
        upsertions: [{ name: "alice", mechanism: 2, iterations: 4096, salt, saltedPassword }],
      },
      ctx,
    );
    expect(calls.alterUserScramCredentials).toEqual([
      {
        deletions: [{ name: "bob", mechanism: "SCRAM-SHA-256" }],
        upsertions: [{ name: "alice", mechanism: "SCRAM-SHA-512", iterations: 4096, salt, saltedPassword }],
      },
    ]);
    const sent = (calls.alterUserScramCredentials[0] as { upsertions: { salt: Buffer }[] }).upsertions[0];
    expect(sent.salt).not.toBe(salt); // a copy: the decoded field is a view of the request's frame
    expect(answer.results).toEqual([
      { user: "bob", errorCode: 0, errorMessage: null },
      { user: "alice", errorCode: 0, errorMessage: null },
    ]);
  });

  it("AlterUserScramCredentials: every user refused here is answered without asking the broker, but only once authorized", async () => {
    const refusedOnly = {
      deletions: [{ name: "x", mechanism: 3 }],
      upsertions: [
        {
          name: "y",
          mechanism: 1,
          iterations: 99_999,
          salt: Buffer.alloc(8),
          saltedPassword: Buffer.alloc(32),
        },
      ],
    };
    const allowed = contextOver({ alterUserScramCredentials: denied });
    const answer = await alterUserScramCredentials(refusedOnly, allowed.ctx);
    expect(allowed.calls.alterUserScramCredentials).toBeUndefined();
    expect(answer.results).toEqual([
      {
        user: "x",
        errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM,
        errorMessage: "Unknown SCRAM mechanism",
      },
      { user: "y", errorCode: KafkaErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: "Too many iterations" },
    ]);
    // The same request from a caller without Alter on the cluster: authorization comes first, as in Kafka.
    const refusingPolicy = {
      authorize: () => ({ allowed: false, reason: "no" }),
      authorizeAny: () => ({ allowed: false, reason: "no" }),
    };
    const { ctx } = contextOver({});
    const locked = {
      ...ctx,
      broker: { ...ctx.broker, access: new AccessControl(refusingPolicy, pino({ level: "silent" })) },
    };
    const refused = await alterUserScramCredentials(refusedOnly, locked as RequestContext);
    expect(refused.results.map((r) => r.errorCode)).toEqual([31, 31]);
    const acls = await createAcls({ creations: [{ ...binding, operation: 0 }] }, locked as RequestContext);
    expect(acls.results.map((r) => r.errorCode)).toEqual([31]);
    expect(describeAcls({ ...filter, operation: 0 }, locked as RequestContext).errorCode).toBe(31);
  });

  it("AlterUserScramCredentials: a rejected call is every user's error", async () => {
    const { ctx } = contextOver({ alterUserScramCredentials: lostController });
    const answer = await alterUserScramCredentials(
      {
        deletions: [
          { name: "a", mechanism: 1 },
          { name: "b", mechanism: 1 },
        ],
        upsertions: [],
      },
      ctx,
    );
    expect(answer.results).toEqual([
      { user: "a", errorCode: KafkaErrorCode.NOT_CONTROLLER, errorMessage: "the controller moved" },
      { user: "b", errorCode: KafkaErrorCode.NOT_CONTROLLER, errorMessage: "the controller moved" },
    ]);
  });
});
