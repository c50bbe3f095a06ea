// The controller's decisions about users and ACLs, as pure functions of the image: one outcome per
// user, binding or filter, the records to commit, and the typed refusals; then the Controller
// committing them to a durable log, where they survive a restart.
import { pbkdf2Sync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AclBindingFields,
  applyRecords,
  MetadataImage,
  type MetadataRecord,
  scramCredentialRecord,
} from "@brook/metadata";
import { type AclBinding, type ScramMechanism, scramCredential } from "@brook/security";
import { afterEach, describe, expect, it } from "vitest";
import {
  alterUserScramCredentials,
  Controller,
  createAcls,
  deleteAcls,
  planAlterUserScramCredentials,
  planCreateAcls,
  planDeleteAcls,
  type ScramCredentialUpsertion,
} from "../src/index.js";
import { LevelMetadataLog } from "./helpers/level-metadata-log.js";

const salt = Buffer.alloc(16, 3);

/** What a client sends for `password`: the salted password (Hi of RFC 5802), never the password. */
function upsertion(
  name: string,
  password: string,
  mechanism: ScramMechanism = "SCRAM-SHA-256",
  iterations = 4096,
): ScramCredentialUpsertion {
  const [hash, bytes] = mechanism === "SCRAM-SHA-256" ? ["sha256", 32] : ["sha512", 64];
  const saltedPassword = pbkdf2Sync(password, salt, iterations, bytes as number, hash as string);
  return { name, mechanism, iterations, salt, saltedPassword };
}

const imageWith = (records: readonly MetadataRecord[]) => applyRecords(MetadataImage.empty, records, 0);
const apply = (image: MetadataImage, records: readonly MetadataRecord[]) =>
  applyRecords(image, records, image.offset + 1);
const codes = (results: readonly { error?: { code: string } }[]) => results.map((r) => r.error?.code ?? "ok");

describe("planAlterUserScramCredentials", () => {
  it("stores the credential the password gives, derived from the salted password alone", () => {
    const plan = planAlterUserScramCredentials(MetadataImage.empty, {
      upsertions: [upsertion("alice", "secret"), upsertion("alice", "secret", "SCRAM-SHA-512", 8192)],
      deletions: [],
    });
    expect(plan.results).toEqual([{ user: "alice" }]);
    expect(plan.records).toEqual([
      scramCredentialRecord("alice", scramCredential("SCRAM-SHA-256", "secret", { salt, iterations: 4096 })),
      scramCredentialRecord("alice", scramCredential("SCRAM-SHA-512", "secret", { salt, iterations: 8192 })),
    ]);
    expect(JSON.stringify(plan.records)).not.toContain(
      pbkdf2Sync("secret", salt, 4096, 32, "sha256").toString("base64"),
    );
  });

  it("answers per user in the order first named, and a user's alterations all or none", () => {
    const image = imageWith(
      planAlterUserScramCredentials(MetadataImage.empty, {
        upsertions: [upsertion("carol", "c"), upsertion("dave", "d")],
        deletions: [],
      }).records,
    );
    const plan = planAlterUserScramCredentials(image, {
      deletions: [
        { name: "carol", mechanism: "SCRAM-SHA-256" },
        { name: "dave", mechanism: "SCRAM-SHA-256" },
      ],
      upsertions: [
        upsertion("alice", "a"),
        // Dave's deletion is refused with his bad upsertion: neither is made.
        upsertion("dave", "d", "SCRAM-SHA-512", 100),
        upsertion("bob", "b", "SCRAM-SHA-512"),
      ],
    });
    expect(plan.results.map((r) => r.user)).toEqual(["carol", "dave", "alice", "bob"]);
    expect(codes(plan.results)).toEqual(["ok", "INVALID_REQUEST", "ok", "ok"]);
    expect(plan.results[1].error?.message).toMatch(
      /iteration count 100 is outside Kafka's range 4096..16384/,
    );
    const after = apply(image, plan.records);
    expect([...after.users.keys()].sort()).toEqual(["alice", "bob", "dave"]);
    expect(after.users.get("dave")?.has("SCRAM-SHA-256")).toBe(true);
  });

  it("refuses with INVALID_REQUEST, saying why: bad names, mechanisms, duplicates, lengths, missing credentials", () => {
    const cases: Array<[Parameters<typeof planAlterUserScramCredentials>[1], RegExp]> = [
      [{ upsertions: [upsertion("", "x")], deletions: [] }, /user name must not be empty/],
      [{ upsertions: [upsertion("a\nb", "x")], deletions: [] }, /control character/],
      [{ upsertions: [upsertion("x".repeat(256), "x")], deletions: [] }, /at most 255 are allowed/],
      [
        { upsertions: [{ ...upsertion("alice", "x"), mechanism: "SCRAM-SHA-1" }], deletions: [] },
        /unknown SCRAM mechanism 'SCRAM-SHA-1'/,
      ],
      [
        { upsertions: [upsertion("alice", "x")], deletions: [{ name: "alice", mechanism: "SCRAM-SHA-256" }] },
        /SCRAM-SHA-256 credential of user 'alice' is altered twice in one request/,
      ],
      [
        { upsertions: [{ ...upsertion("alice", "x"), saltedPassword: Buffer.alloc(31) }], deletions: [] },
        /SCRAM-SHA-256 salted password is 32 bytes, not 31/,
      ],
      [
        { upsertions: [{ ...upsertion("alice", "x"), salt: Buffer.alloc(0) }], deletions: [] },
        /a salt must be 1..1024 bytes, not 0/,
      ],
      [
        { upsertions: [upsertion("alice", "x", "SCRAM-SHA-256", 20_000)], deletions: [] },
        /iteration count 20000 is outside/,
      ],
      [
        { upsertions: [], deletions: [{ name: "alice", mechanism: "SCRAM-SHA-512" }] },
        /user 'alice' has no SCRAM-SHA-512 credential to delete/,
      ],
    ];
    for (const [request, message] of cases) {
      const plan = planAlterUserScramCredentials(MetadataImage.empty, request);
      expect(plan.records, message.source).toEqual([]);
      expect(plan.results[0].error, message.source).toMatchObject({
        code: "INVALID_REQUEST",
        detail: expect.stringMatching(message),
      });
    }
  });

  it("bounds the credentials: a replacement or a deletion makes room, a new credential past the bound is refused", () => {
    const image = imageWith(
      planAlterUserScramCredentials(MetadataImage.empty, {
        upsertions: [upsertion("alice", "a"), upsertion("bob", "b")],
        deletions: [],
      }).records,
    );
    const plan = planAlterUserScramCredentials(
      image,
      {
        deletions: [{ name: "bob", mechanism: "SCRAM-SHA-256" }],
        upsertions: [upsertion("alice", "new"), upsertion("carol", "c"), upsertion("dave", "d")],
      },
      2,
    );
    expect(codes(plan.results)).toEqual(["ok", "ok", "ok", "RESOURCE_LIMIT_REACHED"]);
    expect(plan.results[3].error?.message).toMatch(/holds 2 SCRAM credentials, and at most 2 are allowed/);
    expect(apply(image, plan.records).scramCredentialCount()).toBe(2);
  });
});

const binding = (overrides: Partial<AclBindingFields> = {}): AclBindingFields => ({
  principal: "User:alice",
  host: "*",
  resourceType: "topic",
  resourceName: "orders",
  patternType: "literal",
  operation: "read",
  permission: "allow",
  ...overrides,
});
const acl = (fields: AclBindingFields) => fields as AclBinding;

describe("planCreateAcls", () => {
  it("adds each new binding once; one that exists, or repeats in the request, succeeds with no record", () => {
    const image = imageWith([{ type: "acl", ...acl(binding()) }]);
    const write = binding({ operation: "WRITE", host: "10.0.0.1" });
    const plan = planCreateAcls(image, [binding(), write, { ...write, host: "10.0.0.1" }]);
    expect(codes(plan.results)).toEqual(["ok", "ok", "ok"]);
    expect(plan.records).toEqual([{ type: "acl", ...binding({ operation: "write", host: "10.0.0.1" }) }]);
  });

  it("refuses a bad binding with INVALID_REQUEST naming the field, and adds the others", () => {
    const plan = planCreateAcls(MetadataImage.empty, [
      binding({ operation: "fly" }),
      binding({ resourceType: "cluster" }),
      binding({ principal: "alice" }),
      binding({ operation: "any" }),
      binding({ patternType: "prefixed", resourceName: "ord" }),
    ]);
    expect(codes(plan.results)).toEqual([
      "INVALID_REQUEST",
      "INVALID_REQUEST",
      "INVALID_REQUEST",
      "INVALID_REQUEST",
      "ok",
    ]);
    expect(plan.results.map((r) => r.error?.detail)).toEqual([
      expect.stringMatching(/^operation: unknown operation "fly"/),
      expect.stringMatching(/only valid name for the CLUSTER resource is kafka-cluster/),
      expect.stringMatching(/Invalid principal "alice"/),
      expect.stringMatching(/^operation: "any" selects bindings in a filter/),
      undefined,
    ]);
    expect(plan.records).toHaveLength(1);
  });

  it("refuses the bindings past the table's bound with RESOURCE_LIMIT_REACHED", () => {
    const image = imageWith([{ type: "acl", ...acl(binding()) }]);
    const plan = planCreateAcls(
      image,
      [binding({ operation: "write" }), binding({ operation: "describe" })],
      2,
    );
    expect(codes(plan.results)).toEqual(["ok", "RESOURCE_LIMIT_REACHED"]);
    expect(plan.results[1].error?.message).toMatch(/holds 2 ACL bindings, and at most 2 are allowed/);
  });
});

describe("planDeleteAcls", () => {
  const bindings = [binding(), binding({ operation: "write" }), binding({ principal: "User:bob" })];
  const image = imageWith(bindings.map((fields): MetadataRecord => ({ type: "acl", ...acl(fields) })));
  const any = binding({
    principal: "",
    host: "",
    resourceType: "",
    resourceName: "",
    patternType: "",
    operation: "",
    permission: "",
  });

  it("lists per filter what it matched, and removes each matched binding once", () => {
    const plan = planDeleteAcls(image, [
      { ...any, principal: "User:alice" },
      { ...any, operation: "WRITE" },
      { ...any, resourceName: "payments" },
    ]);
    expect(plan.results).toEqual([
      { bindings: [bindings[0], bindings[1]] },
      { bindings: [bindings[1]] },
      { bindings: [] },
    ]);
    expect(plan.records).toEqual([
      { type: "acl-removal", ...bindings[0] },
      { type: "acl-removal", ...bindings[1] },
    ]);
    expect([...apply(image, plan.records).acls]).toEqual([bindings[2]]);
  });

  it("refuses a filter field that is none of its values, naming it", () => {
    const plan = planDeleteAcls(image, [{ ...any, permission: "maybe" }, any]);
    expect(codes(plan.results)).toEqual(["INVALID_REQUEST", "ok"]);
    expect(plan.results[0].error?.detail).toMatch(/^permission: unknown permission "maybe"/);
    expect(plan.records).toHaveLength(3);
  });
});

describe("users and ACLs through the Controller", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const open = async (dir: string) =>
    Controller.open({ nodeId: 1, log: await LevelMetadataLog.open(dir), sessionCheckIntervalMs: 0 });

  it("commits them, answers in wire form, and they survive a restart (records decoded and checked)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brook-controller-"));
    dirs.push(dir);
    const first = await open(dir);
    expect(
      await alterUserScramCredentials(first, {
        upsertions: [upsertion("alice", "a"), { ...upsertion("bob", "b"), mechanism: "MD5" }],
        deletions: [],
      }),
    ).toEqual({
      results: [
        { user: "alice", error: { code: "", message: "" } },
        {
          user: "bob",
          error: {
            code: "INVALID_REQUEST",
            message: "INVALID_REQUEST: unknown SCRAM mechanism 'MD5': use SCRAM-SHA-256 or SCRAM-SHA-512",
          },
        },
      ],
    });
    const created = await createAcls(first, {
      bindings: [binding(), binding({ operation: "write" }), binding({ host: "nowhere" })],
    });
    expect(created.results.map((r) => r.error.code)).toEqual(["", "", "INVALID_REQUEST"]);
    const deleted = await deleteAcls(first, { filters: [binding({ operation: "WRITE" })] });
    expect(deleted.results).toEqual([
      { error: { code: "", message: "" }, bindings: [binding({ operation: "write" })] },
    ]);
    const offset = first.image.offset;
    await first.close();

    const second = await open(dir);
    expect(second.image.offset).toBe(offset);
    expect(second.image.users.get("alice")?.get("SCRAM-SHA-256")?.storedKey).toEqual(
      scramCredential("SCRAM-SHA-256", "a", { salt, iterations: 4096 }).storedKey,
    );
    expect(second.image.users.has("bob")).toBe(false);
    expect([...second.image.acls]).toEqual([binding()]);
    await second.close();
  });
});
