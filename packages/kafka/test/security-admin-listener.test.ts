// Kafka's ACL and SCRAM-user admin apis on the listener, over a real in-process broker whose controller
// applies the real controller's decisions (listener-fixture.ts): kafkajs's admin createAcls,
// describeAcls and deleteAcls; the versions kafkajs does not send (v0's literal-only filters, the
// flexible v2 and v3) and the user apis, which kafkajs lacks, over a raw socket with the codec; a
// user created with AlterUserScramCredentials logging in with kafkajs and refused once deleted; a caller
// the broker refuses getting CLUSTER_AUTHORIZATION_FAILED (31) on every entry of every api, with the
// connection left open; unknown codes refused entry by entry with INVALID_REQUEST (42).

import { pbkdf2Sync, randomBytes } from "node:crypto";
import { Socket } from "node:net";
import type { AccessPolicy } from "@brook/broker";
import { anonymousPrincipal } from "@brook/protocol";
import { ScramClient, type ScramCredential, type ScramMechanism, scramCredential } from "@brook/security";
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  logLevel,
  ResourcePatternTypes,
} from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import {
  ApiKey,
  type ApiKeyNumber,
  decodeResponse,
  encodeRequest,
  FrameSplitter,
  KafkaErrorCode,
  type RequestInputs,
  type ResponseBodies,
} from "../src/index.js";
import {
  type FixtureListenerOptions,
  type ListenerFixture,
  startListenerFixture,
} from "./listener-fixture.js";

const fixtures: ListenerFixture[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(fixtures.splice(0).map((fixture) => fixture.close()));
});

async function listener(options: FixtureListenerOptions = {}): Promise<ListenerFixture> {
  const fixture = await startListenerFixture(options);
  fixtures.push(fixture);
  return fixture;
}

const admin = (fixture: ListenerFixture, sasl?: { username: string; password: string }) =>
  new Kafka({
    brokers: [fixture.bootstrap],
    clientId: "acl-admin",
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    ...(sasl ? { sasl: { mechanism: "scram-sha-256" as const, ...sasl } } : {}),
  }).admin();

// ---- a raw client: frames out, answers in order ---------------------------------------------------

interface RawClient {
  send<K extends ApiKeyNumber>(apiKey: K, version: number, body: RequestInputs[K]): void;
  /** The next answer, decoded as the response of `apiKey` in `version`. */
  answer<K extends ApiKeyNumber>(apiKey: K, version: number): Promise<ResponseBodies[K]>;
  readonly closed: () => boolean;
}

async function rawClient(port: number): Promise<RawClient> {
  const socket = new Socket();
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.connect(port, "127.0.0.1", resolve));
  const frames: Buffer[] = [];
  const splitter = new FrameSplitter();
  let closed = false;
  socket.on("data", (chunk: Buffer) => frames.push(...splitter.push(chunk)));
  socket.on("error", () => undefined);
  socket.on("close", () => {
    closed = true;
  });
  let id = 0;
  return {
    send: (apiKey, version, body) => {
      socket.write(Buffer.concat(encodeRequest(apiKey, version, ++id, "raw-admin", body)));
    },
    answer: async (apiKey, version) => {
      const deadline = Date.now() + 5_000;
      while (frames.length === 0) {
        if (closed) throw new Error("the broker closed the connection");
        if (Date.now() > deadline) throw new Error("no answer in time");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const frame = frames.shift() as Buffer;
      return decodeResponse(apiKey, version, frame).body as ResponseBodies[typeof apiKey];
    },
    closed: () => closed,
  };
}

/** Logs a raw client in with SCRAM-SHA-256 (SaslHandshake v1, SaslAuthenticate v2 twice). */
async function login(client: RawClient, username: string, password: string): Promise<void> {
  const scram = new ScramClient("SCRAM-SHA-256", username, password);
  client.send(ApiKey.SaslHandshake, 1, { mechanism: "SCRAM-SHA-256" });
  expect((await client.answer(ApiKey.SaslHandshake, 1)).errorCode).toBe(0);
  client.send(ApiKey.SaslAuthenticate, 2, { authBytes: scram.clientFirst() });
  const first = await client.answer(ApiKey.SaslAuthenticate, 2);
  client.send(ApiKey.SaslAuthenticate, 2, { authBytes: scram.handleServerFirst(first.authBytes) });
  expect((await client.answer(ApiKey.SaslAuthenticate, 2)).errorCode).toBe(0);
}

// ---- kafkajs's admin ---------------------------------------------------------------------------------

const aliceReadsOrders = {
  resourceType: AclResourceTypes.TOPIC,
  resourceName: "orders",
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: "User:alice",
  host: "*",
  operation: AclOperationTypes.READ,
  permissionType: AclPermissionTypes.ALLOW,
};
const bobWritesOrdersPrefix = {
  resourceType: AclResourceTypes.TOPIC,
  resourceName: "orders.",
  resourcePatternType: ResourcePatternTypes.PREFIXED,
  principal: "User:bob",
  host: "10.0.0.7",
  operation: AclOperationTypes.WRITE,
  permissionType: AclPermissionTypes.DENY,
};
const bobReadsGroup = {
  resourceType: AclResourceTypes.GROUP,
  resourceName: "etl",
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: "User:bob",
  host: "*",
  operation: AclOperationTypes.READ,
  permissionType: AclPermissionTypes.ALLOW,
};
const anyFilter = {
  resourceType: AclResourceTypes.ANY,
  resourcePatternType: ResourcePatternTypes.ANY,
  operation: AclOperationTypes.ANY,
  permissionType: AclPermissionTypes.ANY,
};

describe("kafkajs admin: createAcls, describeAcls, deleteAcls", () => {
  it("creates bindings, lists them grouped by resource, and deletes what a filter selects", async () => {
    const fixture = await listener();
    const client = admin(fixture);
    await client.connect();
    try {
      await expect(
        client.createAcls({ acl: [aliceReadsOrders, bobWritesOrdersPrefix, bobReadsGroup] }),
      ).resolves.toBe(true);
      // Creating a binding that exists succeeds and changes nothing, as in Kafka.
      await expect(client.createAcls({ acl: [aliceReadsOrders] })).resolves.toBe(true);
      expect(fixture.broker.api.metadata.image.acls.size).toBe(3);

      // In the broker's order: by resource type name (group before topic), then name, then pattern.
      const all = await client.describeAcls(anyFilter);
      expect(all.resources).toEqual([
        {
          resourceType: AclResourceTypes.GROUP,
          resourceName: "etl",
          resourcePatternType: ResourcePatternTypes.LITERAL,
          acls: [{ principal: "User:bob", host: "*", operation: 3, permissionType: 3 }],
        },
        {
          resourceType: AclResourceTypes.TOPIC,
          resourceName: "orders",
          resourcePatternType: ResourcePatternTypes.LITERAL,
          acls: [{ principal: "User:alice", host: "*", operation: 3, permissionType: 3 }],
        },
        {
          resourceType: AclResourceTypes.TOPIC,
          resourceName: "orders.",
          resourcePatternType: ResourcePatternTypes.PREFIXED,
          acls: [{ principal: "User:bob", host: "10.0.0.7", operation: 4, permissionType: 2 }],
        },
      ]);

      // MATCH: every binding that applies to the topic orders.audit, the prefixed one here.
      const applying = await client.describeAcls({
        ...anyFilter,
        resourceType: AclResourceTypes.TOPIC,
        resourceName: "orders.audit",
        resourcePatternType: ResourcePatternTypes.MATCH,
      });
      expect(applying.resources.map((resource) => resource.resourceName)).toEqual(["orders."]);

      const deleted = await client.deleteAcls({ filters: [{ ...anyFilter, principal: "User:bob" }] });
      expect(deleted.filterResponses).toHaveLength(1);
      expect(deleted.filterResponses[0]).toMatchObject({ errorCode: 0, errorMessage: null });
      expect(
        deleted.filterResponses[0].matchingAcls
          .map(({ errorCode, resourceName, resourcePatternType, principal }) => ({
            errorCode,
            resourceName,
            resourcePatternType,
            principal,
          }))
          .sort((a, b) => a.resourceName.localeCompare(b.resourceName)),
      ).toEqual([
        { errorCode: 0, resourceName: "etl", resourcePatternType: 3, principal: "User:bob" },
        { errorCode: 0, resourceName: "orders.", resourcePatternType: 4, principal: "User:bob" },
      ]);
      const left = await client.describeAcls(anyFilter);
      expect(left.resources.map((resource) => resource.resourceName)).toEqual(["orders"]);
    } finally {
      await client.disconnect();
    }
  }, 30_000);

  it("a binding Brook refuses rejects with INVALID_REQUEST, and the valid ones of the request are made", async () => {
    const fixture = await listener();
    const client = admin(fixture);
    await client.connect();
    try {
      // WRITE on a group is no operation a group has (Kafka's kafka-acls.sh refuses it too).
      const groupWrite = { ...bobReadsGroup, operation: AclOperationTypes.WRITE };
      await expect(client.createAcls({ acl: [aliceReadsOrders, groupWrite] })).rejects.toMatchObject({
        type: "INVALID_REQUEST",
      });
      const all = await client.describeAcls(anyFilter);
      expect(all.resources.map((resource) => resource.resourceName)).toEqual(["orders"]);
    } finally {
      await client.disconnect();
    }
  }, 30_000);

  it("a caller without Alter and Describe on the cluster gets CLUSTER_AUTHORIZATION_FAILED, and keeps its connection", async () => {
    const noClusterAccess: AccessPolicy = {
      authorize: (_, __, resourceType) =>
        resourceType === "cluster"
          ? { allowed: false, reason: "no ACL allows it" }
          : { allowed: true, reason: "topics and groups are open" },
      authorizeAny: () => ({ allowed: true, reason: "open" }),
    };
    const fixture = await listener({ access: noClusterAccess });
    const client = admin(fixture);
    await client.connect();
    try {
      const denied = { type: "CLUSTER_AUTHORIZATION_FAILED", code: 31 };
      await expect(client.createAcls({ acl: [aliceReadsOrders] })).rejects.toMatchObject(denied);
      await expect(client.describeAcls(anyFilter)).rejects.toMatchObject(denied);
      await expect(client.deleteAcls({ filters: [anyFilter] })).rejects.toMatchObject(denied);
      expect(fixture.broker.api.metadata.image.acls.size).toBe(0);
      await fixture.createTopic("open");
      expect(await client.listTopics()).toContain("open");
    } finally {
      await client.disconnect();
    }
  }, 30_000);
});

// ---- the versions kafkajs does not send, over a raw socket --------------------------------------------

const topic = 2;
const group = 3;
const literal = 3;
const prefixed = 4;
const any = 1;
const read = 3;
const write = 4;
const allow = 3;

function creation(resourceName: string, resourcePatternType: number, principal = "User:alice") {
  return {
    resourceType: topic,
    resourceName,
    resourcePatternType,
    principal,
    host: "*",
    operation: read,
    permissionType: allow,
  };
}

const anyRawFilter = {
  resourceTypeFilter: any,
  resourceNameFilter: null,
  patternTypeFilter: any,
  principalFilter: null,
  hostFilter: null,
  operation: any,
  permissionType: any,
};

describe("the ACL apis in every version", () => {
  it("v0 creates literal bindings; v0 filters select literal patterns only; v2 and v3 are flexible", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    client.send(ApiKey.CreateAcls, 0, { creations: [creation("orders", literal)] });
    expect((await client.answer(ApiKey.CreateAcls, 0)).results).toEqual([
      { errorCode: 0, errorMessage: null },
    ]);
    client.send(ApiKey.CreateAcls, 3, {
      creations: [creation("orders.", prefixed), creation("audit", literal)],
    });
    expect((await client.answer(ApiKey.CreateAcls, 3)).results.map((r) => r.errorCode)).toEqual([0, 0]);

    // v0: the prefixed binding is not selected (a v0 answer could not even say it is prefixed).
    client.send(ApiKey.DescribeAcls, 0, anyRawFilter);
    const v0 = await client.answer(ApiKey.DescribeAcls, 0);
    expect(v0.errorCode).toBe(0);
    expect(v0.resources.map((r) => [r.resourceName, r.patternType])).toEqual([
      ["audit", literal],
      ["orders", literal],
    ]);
    for (const version of [1, 2, 3]) {
      client.send(ApiKey.DescribeAcls, version, anyRawFilter);
      const answer = await client.answer(ApiKey.DescribeAcls, version);
      expect(answer.resources.map((r) => [r.resourceName, r.patternType])).toEqual([
        ["audit", literal],
        ["orders", literal],
        ["orders.", prefixed],
      ]);
      expect(answer.resources[1].acls).toEqual([
        { principal: "User:alice", host: "*", operation: read, permissionType: allow },
      ]);
    }

    // DeleteAcls v0 with a filter for everything removes the literal bindings only.
    client.send(ApiKey.DeleteAcls, 0, { filters: [anyRawFilter] });
    const deleted = await client.answer(ApiKey.DeleteAcls, 0);
    expect(deleted.filterResults).toHaveLength(1);
    const names = deleted.filterResults[0].matchingAcls.map((acl) => [acl.resourceName, acl.errorCode]);
    expect(names.sort()).toEqual([
      ["audit", 0],
      ["orders", 0],
    ]);
    client.send(ApiKey.DeleteAcls, 2, { filters: [anyRawFilter] });
    const rest = await client.answer(ApiKey.DeleteAcls, 2);
    expect(rest.filterResults[0].matchingAcls).toEqual([
      {
        errorCode: 0,
        errorMessage: null,
        resourceType: topic,
        resourceName: "orders.",
        patternType: prefixed,
        principal: "User:alice",
        host: "*",
        operation: read,
        permissionType: allow,
      },
    ]);
    expect(fixture.broker.api.metadata.image.acls.size).toBe(0);
  }, 30_000);

  it("unknown codes are refused entry by entry with INVALID_REQUEST; the rest of the request is served", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    client.send(ApiKey.CreateAcls, 1, {
      creations: [
        creation("orders", literal),
        { ...creation("x", literal), resourceType: 7 }, // USER (KIP-48 delegation tokens): none in Brook
        { ...creation("y", literal), operation: 99 },
        { ...creation("z", literal), resourcePatternType: 2 }, // MATCH selects; a binding names one
        { ...creation("w", literal), resourceType: group, operation: write },
      ],
    });
    const created = await client.answer(ApiKey.CreateAcls, 1);
    expect(created.results.map((r) => r.errorCode)).toEqual([0, 42, 42, 42, 42]);
    expect(created.results[1].errorMessage).toBe("Invalid resourceType USER");
    expect(created.results[2].errorMessage).toBe("Invalid operation UNKNOWN");
    expect(fixture.broker.api.metadata.image.acls.size).toBe(1);

    client.send(ApiKey.DescribeAcls, 1, { ...anyRawFilter, permissionType: 0 });
    const described = await client.answer(ApiKey.DescribeAcls, 1);
    expect(described).toMatchObject({
      errorCode: 42,
      errorMessage: "Invalid permissionType UNKNOWN",
      resources: [],
    });

    client.send(ApiKey.DeleteAcls, 1, {
      filters: [
        { ...anyRawFilter, resourceTypeFilter: 7 },
        { ...anyRawFilter, patternTypeFilter: 9 },
        anyRawFilter,
      ],
    });
    const deleted = await client.answer(ApiKey.DeleteAcls, 1);
    expect(deleted.filterResults.map((r) => [r.errorCode, r.errorMessage, r.matchingAcls.length])).toEqual([
      [42, "Invalid resourceType USER", 0],
      [42, "Invalid patternType UNKNOWN", 0],
      [0, null, 1],
    ]);
    expect(fixture.broker.api.metadata.image.acls.size).toBe(0);
    expect(client.closed()).toBe(false);
  }, 30_000);

  it("an empty (not null) name, principal or host selects nothing, rather than everything", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    client.send(ApiKey.CreateAcls, 2, { creations: [creation("orders", literal)] });
    await client.answer(ApiKey.CreateAcls, 2);
    for (const empty of ["resourceNameFilter", "principalFilter", "hostFilter"]) {
      client.send(ApiKey.DescribeAcls, 2, { ...anyRawFilter, [empty]: "" });
      expect((await client.answer(ApiKey.DescribeAcls, 2)).resources).toEqual([]);
      client.send(ApiKey.DeleteAcls, 2, { filters: [{ ...anyRawFilter, [empty]: "" }] });
      expect((await client.answer(ApiKey.DeleteAcls, 2)).filterResults).toEqual([
        { errorCode: 0, errorMessage: null, matchingAcls: [] },
      ]);
    }
    expect(fixture.broker.api.metadata.image.acls.size).toBe(1);
  }, 30_000);
});

// ---- users ------------------------------------------------------------------------------------------

const ADMIN_PASSWORD = "admin-secret";
const ADMIN_CREDENTIALS = new Map<ScramMechanism, ScramCredential>(
  (["SCRAM-SHA-256", "SCRAM-SHA-512"] as const).map((mechanism) => [
    mechanism,
    scramCredential(mechanism, ADMIN_PASSWORD),
  ]),
);

/** A listener requiring SCRAM: "admin" has a fixed credential, every other user the image's. */
async function saslListener(): Promise<ListenerFixture> {
  let fixture: ListenerFixture | undefined;
  fixture = await listener({
    sasl: {
      mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"],
      credentialOf: (username, mechanism) =>
        username === "admin"
          ? ADMIN_CREDENTIALS.get(mechanism)
          : fixture?.broker.api.metadata.image.users.get(username)?.get(mechanism),
    },
  });
  return fixture;
}

/** What a Kafka client sends to set a password: its own salt, and Hi(password, salt, iterations). */
function upsertion(name: string, password: string, iterations = 4096) {
  const salt = randomBytes(16);
  return {
    name,
    mechanism: 1,
    iterations,
    salt,
    saltedPassword: pbkdf2Sync(password, salt, iterations, 32, "sha256"),
  };
}

describe("DescribeUserScramCredentials and AlterUserScramCredentials", () => {
  it("a user created with the client's salted password logs in with kafkajs; deleted, it cannot", async () => {
    const fixture = await saslListener();
    const client = await rawClient(fixture.port);
    await login(client, "admin", ADMIN_PASSWORD);

    client.send(ApiKey.AlterUserScramCredentials, 0, {
      deletions: [],
      upsertions: [upsertion("carol", "carol-secret", 8192)],
    });
    expect(await client.answer(ApiKey.AlterUserScramCredentials, 0)).toEqual({
      throttleTimeMs: 0,
      results: [{ user: "carol", errorCode: 0, errorMessage: null }],
    });

    client.send(ApiKey.DescribeUserScramCredentials, 0, { users: null });
    expect(await client.answer(ApiKey.DescribeUserScramCredentials, 0)).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      results: [
        {
          user: "carol",
          errorCode: 0,
          errorMessage: null,
          credentialInfos: [{ mechanism: 1, iterations: 8192 }],
        },
      ],
    });
    client.send(ApiKey.DescribeUserScramCredentials, 0, {
      users: [{ name: "carol" }, { name: "dave" }, { name: "erin" }, { name: "erin" }],
    });
    const named = await client.answer(ApiKey.DescribeUserScramCredentials, 0);
    expect(named.results.map((r) => [r.user, r.errorCode, r.credentialInfos.length])).toEqual([
      ["carol", 0, 1],
      ["dave", KafkaErrorCode.RESOURCE_NOT_FOUND, 0],
      ["erin", KafkaErrorCode.DUPLICATE_RESOURCE, 0],
    ]);

    const carol = admin(fixture, { username: "carol", password: "carol-secret" });
    await carol.connect();
    await fixture.createTopic("carols");
    expect(await carol.listTopics()).toContain("carols");
    await carol.disconnect();

    client.send(ApiKey.AlterUserScramCredentials, 0, {
      deletions: [{ name: "carol", mechanism: 1 }],
      upsertions: [],
    });
    expect((await client.answer(ApiKey.AlterUserScramCredentials, 0)).results).toEqual([
      { user: "carol", errorCode: 0, errorMessage: null },
    ]);
    await expect(admin(fixture, { username: "carol", password: "carol-secret" }).connect()).rejects.toThrow(
      /SASL SCRAM SHA256 authentication failed|Authentication failed/,
    );
  }, 30_000);

  it("refuses per user as Kafka does; a refused user's other alterations are not made", async () => {
    const fixture = await listener();
    const client = await rawClient(fixture.port);
    client.send(ApiKey.AlterUserScramCredentials, 0, {
      deletions: [{ name: "ghost", mechanism: 1 }],
      upsertions: [
        upsertion("ok", "pw"),
        upsertion("few", "pw", 100),
        upsertion("", "pw"),
        { ...upsertion("odd", "pw"), mechanism: 9 },
        upsertion("twice", "pw"),
        upsertion("twice", "pw"),
        upsertion("mixed", "pw"),
        { ...upsertion("mixed", "pw"), mechanism: 0 },
      ],
    });
    const answer = await client.answer(ApiKey.AlterUserScramCredentials, 0);
    expect(answer.results.map((r) => [r.user, r.errorCode, r.errorMessage])).toEqual([
      ["ghost", KafkaErrorCode.INVALID_REQUEST, expect.stringContaining("ghost")],
      ["ok", 0, null],
      ["few", KafkaErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations"],
      ["", KafkaErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"],
      ["odd", KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"],
      [
        "twice",
        KafkaErrorCode.DUPLICATE_RESOURCE,
        "A user credential cannot be altered twice in the same request",
      ],
      ["mixed", KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"],
    ]);
    expect([...fixture.broker.api.metadata.image.users.keys()]).toEqual(["ok"]);
  }, 30_000);

  it("a caller without Alter and Describe on the cluster gets CLUSTER_AUTHORIZATION_FAILED for every user", async () => {
    const onlyAdmin: AccessPolicy = {
      authorize: (caller) =>
        caller.principal === anonymousPrincipal
          ? { allowed: false, reason: "anonymous" }
          : { allowed: true, reason: "known" },
      authorizeAny: () => ({ allowed: false, reason: "anonymous" }),
    };
    const fixture = await listener({ access: onlyAdmin });
    const client = await rawClient(fixture.port);
    client.send(ApiKey.AlterUserScramCredentials, 0, {
      deletions: [{ name: "bob", mechanism: 2 }],
      upsertions: [upsertion("alice", "pw"), upsertion("", "pw")],
    });
    client.send(ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: "alice" }, { name: "bob" }] });
    client.send(ApiKey.DescribeUserScramCredentials, 0, { users: null });
    client.send(ApiKey.CreateAcls, 3, {
      creations: [creation("t", literal), { ...creation("t", literal), operation: 0 }],
    });
    client.send(ApiKey.DescribeAcls, 3, { ...anyRawFilter, operation: 0 });
    client.send(ApiKey.DeleteAcls, 3, { filters: [anyRawFilter, { ...anyRawFilter, hostFilter: "" }] });

    const altered = await client.answer(ApiKey.AlterUserScramCredentials, 0);
    expect(altered.results.map((r) => [r.user, r.errorCode])).toEqual([
      ["bob", 31],
      ["alice", 31],
      ["", 31],
    ]);
    expect(altered.results[0].errorMessage).toBe('User:ANONYMOUS may not alter cluster "kafka-cluster"');
    const describedNamed = await client.answer(ApiKey.DescribeUserScramCredentials, 0);
    expect(describedNamed.errorCode).toBe(31);
    expect(describedNamed.results.map((r) => [r.user, r.errorCode])).toEqual([
      ["alice", 31],
      ["bob", 31],
    ]);
    const describedAll = await client.answer(ApiKey.DescribeUserScramCredentials, 0);
    expect([describedAll.errorCode, describedAll.results]).toEqual([31, []]);
    const created = await client.answer(ApiKey.CreateAcls, 3);
    expect(created.results.map((r) => r.errorCode)).toEqual([31, 31]);
    expect((await client.answer(ApiKey.DescribeAcls, 3)).errorCode).toBe(31);
    const deleted = await client.answer(ApiKey.DeleteAcls, 3);
    expect(deleted.filterResults.map((r) => r.errorCode)).toEqual([31, 31]);
    expect(client.closed()).toBe(false);
    expect(fixture.broker.api.metadata.image.users.size).toBe(0);
  }, 30_000);
});
