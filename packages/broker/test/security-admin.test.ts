// Users and ACLs on the broker: describes come from its metadata image (a credential's mechanism and
// iterations, never its salt or keys; bindings in a stable order, a bad filter field named), and
// writes go to the controller as they came, whose answer is the broker's.
import { type MetadataRecord, scramCredentialRecord } from "@brook/metadata";
import { type AclBinding, scramCredential } from "@brook/security";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ControllerChannel } from "../src/context.js";
import { createAcls, deleteAcls, describeAcls, describeUserScramCredentials } from "../src/security-admin.js";
import { startTestBroker, stubController, type TestBroker } from "./helpers.js";

let broker: TestBroker;
beforeEach(() => {
  broker = startTestBroker();
});
afterEach(async () => {
  await broker.close();
});

const noError = { code: "", message: "" };
const acl = (binding: Partial<AclBinding>): AclBinding => ({
  principal: "User:alice",
  host: "*",
  resourceType: "topic",
  resourceName: "orders",
  patternType: "literal",
  operation: "read",
  permission: "allow",
  ...binding,
});

describe("DescribeUserScramCredentials", () => {
  const users: MetadataRecord[] = [
    scramCredentialRecord("bob", scramCredential("SCRAM-SHA-512", "b", { iterations: 8192 })),
    scramCredentialRecord("alice", scramCredential("SCRAM-SHA-512", "a", { iterations: 4096 })),
    scramCredentialRecord("alice", scramCredential("SCRAM-SHA-256", "a", { iterations: 16384 })),
  ];

  it("lists every user by name with mechanisms and iterations, and nothing secret", async () => {
    await broker.apply(users);
    const response = describeUserScramCredentials(broker.ctx, { users: [] });
    expect(response).toEqual({
      results: [
        {
          user: "alice",
          error: noError,
          credentials: [
            { mechanism: "SCRAM-SHA-256", iterations: 16384 },
            { mechanism: "SCRAM-SHA-512", iterations: 4096 },
          ],
        },
        { user: "bob", error: noError, credentials: [{ mechanism: "SCRAM-SHA-512", iterations: 8192 }] },
      ],
    });
  });

  it("answers named users in the request's order; an unknown or repeated name gets INVALID_REQUEST", async () => {
    await broker.apply(users);
    const response = describeUserScramCredentials(broker.ctx, { users: ["bob", "carol", "alice", "alice"] });
    expect(response.results?.map(({ user, error }) => [user, error?.code])).toEqual([
      ["bob", ""],
      ["carol", "INVALID_REQUEST"],
      ["alice", "INVALID_REQUEST"],
    ]);
    expect(response.results?.[1].error?.message).toMatch(/user 'carol' has no SCRAM credentials/);
    expect(response.results?.[2].error?.message).toMatch(/user 'alice' is named 2 times in one request/);
  });
});

describe("DescribeAcls", () => {
  const bindings = [
    acl({ resourceName: "payments", operation: "write" }),
    acl({ principal: "User:bob" }),
    acl({ resourceType: "group", resourceName: "g" }),
    acl({ resourceName: "ord", patternType: "prefixed", permission: "deny" }),
    acl({}),
  ];

  it("selects with the filter, in order of resource, then principal, whatever order they were added in", async () => {
    await broker.apply(bindings.map((binding): MetadataRecord => ({ type: "acl", ...binding })));
    const all = describeAcls(broker.ctx, { filter: null });
    expect(all.error).toEqual(noError);
    expect(all.bindings?.map((b) => `${b.resourceType}:${b.resourceName}:${b.principal}`)).toEqual([
      "group:g:User:alice",
      "topic:ord:User:alice",
      "topic:orders:User:alice",
      "topic:orders:User:bob",
      "topic:payments:User:alice",
    ]);
    const filter = {
      principal: "",
      host: "",
      resourceType: "TOPIC",
      resourceName: "orders",
      patternType: "match",
      operation: "",
      permission: "",
    };
    expect(describeAcls(broker.ctx, { filter }).bindings).toEqual([bindings[3], bindings[4], bindings[1]]);
    expect(describeAcls(broker.ctx, { filter: { ...filter, principal: "User:bob" } }).bindings).toEqual([
      bindings[1],
    ]);
  });

  it("answers a filter field that is none of its values with INVALID_REQUEST naming it", () => {
    const response = describeAcls(broker.ctx, {
      filter: {
        principal: "",
        host: "",
        resourceType: "",
        resourceName: "",
        patternType: "",
        operation: "fly",
        permission: "",
      },
    });
    expect(response.bindings).toEqual([]);
    expect(response.error).toMatchObject({
      code: "INVALID_REQUEST",
      message: expect.stringContaining('operation: unknown operation "fly"'),
    });
  });
});

describe("ACL and credential writes", () => {
  it("go to the controller as they came, and its answer is the broker's", async () => {
    const asked: unknown[] = [];
    const controller: ControllerChannel = {
      ...stubController,
      createAcls: async (request) => {
        asked.push(request);
        return { results: [{ error: noError }] };
      },
      deleteAcls: async (request) => {
        asked.push(request);
        return { results: [{ error: noError, bindings: [acl({})] }] };
      },
    };
    const ctx = { ...broker.ctx, controller };
    const binding = { ...acl({}) };
    expect(await createAcls(ctx, { bindings: [binding] })).toEqual({ results: [{ error: noError }] });
    const filter = { ...binding, operation: "any" };
    expect(await deleteAcls(ctx, { filters: [filter] })).toEqual({
      results: [{ error: noError, bindings: [acl({})] }],
    });
    expect(asked).toEqual([{ bindings: [binding] }, { filters: [filter] }]);
  });
});
