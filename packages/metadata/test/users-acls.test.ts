// Users' SCRAM credentials and ACL bindings in the metadata log: their records round-trip through
// the JSON encoding, decoding refuses one that could not have been written, replay builds an image
// that shares what did not change, and a snapshot keeps both.
import { type AclBinding, scramCredential } from "@brook/security";
import { describe, expect, it } from "vitest";
import {
  type AclRecord,
  aclBindingFromFields,
  aclFilterFromFields,
  applyRecords,
  decodeMetadataRecord,
  encodeMetadataRecord,
  imageFromSnapshot,
  imageToRecords,
  MetadataImage,
  type MetadataRecord,
  scramCredentialRecord,
} from "../src/index.js";

const salt = Buffer.alloc(16, 7);
const alice256 = scramCredential("SCRAM-SHA-256", "pw", { salt, iterations: 4096 });
const alice512 = scramCredential("SCRAM-SHA-512", "pw", { salt, iterations: 8192 });
const bob256 = scramCredential("SCRAM-SHA-256", "other", { salt, iterations: 4096 });

const readOrders: AclBinding = {
  principal: "User:alice",
  host: "*",
  resourceType: "topic",
  resourceName: "orders",
  patternType: "literal",
  operation: "read",
  permission: "allow",
};
const writePrefix: AclBinding = {
  ...readOrders,
  resourceName: "ord",
  patternType: "prefixed",
  operation: "write",
  host: "10.0.0.1",
};

const roundTrip = (record: MetadataRecord) => decodeMetadataRecord(encodeMetadataRecord(record));
const encodedWith = (record: MetadataRecord, changes: Record<string, unknown>) =>
  Buffer.from(JSON.stringify({ v: 1, ...record, ...changes }));

describe("user and ACL records", () => {
  it("round-trip through the JSON encoding; a credential keeps its keys and salt in base64", () => {
    const credential = scramCredentialRecord("alice", alice256);
    expect(credential).toEqual({
      type: "user-scram-credential",
      name: "alice",
      mechanism: "SCRAM-SHA-256",
      iterations: 4096,
      salt: salt.toString("base64"),
      storedKey: alice256.storedKey.toString("base64"),
      serverKey: alice256.serverKey.toString("base64"),
    });
    const records: MetadataRecord[] = [
      credential,
      { type: "user-scram-credential-removal", name: "alice", mechanism: "SCRAM-SHA-512" },
      { type: "acl", ...readOrders },
      { type: "acl-removal", ...writePrefix },
    ];
    for (const record of records) expect(roundTrip(record)).toEqual(record);
  });

  it("refuses a credential record with bad base64, a wrong key length, an unknown mechanism or bad iterations", () => {
    const record = scramCredentialRecord("alice", alice256);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ salt: "not base64!" }, /salt is not base64/],
      [{ storedKey: "" }, /storedKey is not base64/],
      [{ serverKey: alice512.serverKey.toString("base64") }, /serverKey is 64 bytes, not 32/],
      [{ mechanism: "SCRAM-SHA-1" }, /unknown SCRAM mechanism SCRAM-SHA-1/],
      [{ mechanism: "SCRAM-SHA-512" }, /storedKey is 32 bytes, not 64/],
      [{ iterations: 100 }, /iterations 100 outside 4096..16384/],
      [{ iterations: "4096" }, /iterations 4096 outside/],
      [{ name: "" }, /user name must not be empty/],
      [{ name: 7 }, /user name must not be empty/],
    ];
    for (const [changes, message] of bad) {
      expect(() => decodeMetadataRecord(encodedWith(record, changes)), JSON.stringify(changes)).toThrow(
        new RegExp(`invalid user-scram-credential metadata record: .*${message.source}`),
      );
    }
    const removal: MetadataRecord = {
      type: "user-scram-credential-removal",
      name: "alice",
      mechanism: "SCRAM-SHA-256",
    };
    expect(() => decodeMetadataRecord(encodedWith(removal, { mechanism: "PLAIN" }))).toThrow(
      /invalid user-scram-credential-removal metadata record: unknown SCRAM mechanism PLAIN/,
    );
  });

  it("refuses an ACL record whose binding is invalid", () => {
    const record: AclRecord = { type: "acl", ...readOrders };
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ operation: "fly" }, /Invalid operation fly/],
      [{ resourceType: "any" }, /Invalid resourceType any/],
      [{ principal: "alice" }, /Invalid principal "alice"/],
      [{ host: "example.com" }, /Invalid host "example.com"/],
      [{ resourceName: "" }, /Invalid empty resource name/],
      [{ operation: "idempotentWrite" }, /ResourceType topic only supports/],
    ];
    for (const [changes, message] of bad) {
      expect(() => decodeMetadataRecord(encodedWith(record, changes)), JSON.stringify(changes)).toThrow(
        new RegExp(`invalid acl metadata record: .*${message.source}`),
      );
    }
    expect(() =>
      decodeMetadataRecord(encodedWith({ type: "acl-removal", ...readOrders }, { permission: "maybe" })),
    ).toThrow(/invalid acl-removal metadata record: Invalid permissionType maybe/);
  });
});

describe("users and ACLs in the image", () => {
  const history: MetadataRecord[] = [
    scramCredentialRecord("alice", alice256),
    scramCredentialRecord("alice", alice512),
    scramCredentialRecord("bob", bob256),
    { type: "acl", ...readOrders },
    { type: "acl", ...writePrefix },
  ];

  it("replays credentials per user and mechanism, and bindings into the ACL table", () => {
    const image = applyRecords(MetadataImage.empty, history, 0);
    expect([...image.users.keys()]).toEqual(["alice", "bob"]);
    expect(image.users.get("alice")?.get("SCRAM-SHA-512")).toEqual(alice512);
    expect(image.users.get("bob")?.get("SCRAM-SHA-256")?.storedKey).toEqual(bob256.storedKey);
    expect(image.scramCredentialCount()).toBe(3);
    expect([...image.acls]).toEqual([readOrders, writePrefix]);
    expect(image.acls.describe({ resourceName: "orders", patternType: "match" })).toEqual([
      readOrders,
      writePrefix,
    ]);
  });

  it("an upsert replaces the mechanism's credential; removing a user's last credential removes the user", () => {
    const first = applyRecords(MetadataImage.empty, history, 0);
    const replaced = scramCredential("SCRAM-SHA-256", "new", { iterations: 8192 });
    const second = applyRecords(
      first,
      [
        scramCredentialRecord("alice", replaced),
        { type: "user-scram-credential-removal", name: "bob", mechanism: "SCRAM-SHA-256" },
      ],
      first.offset + 1,
    );
    expect(second.users.get("alice")?.get("SCRAM-SHA-256")?.iterations).toBe(8192);
    expect(second.users.has("bob")).toBe(false);
    // The image before is as it was; what the delta did not touch is shared.
    expect(first.users.get("alice")?.get("SCRAM-SHA-256")).toEqual(alice256);
    expect(first.users.has("bob")).toBe(true);
    expect(second.acls).toBe(first.acls);
    expect(second.topicsById).toBe(first.topicsById);
  });

  it("an ACL change builds a new table and leaves the old one as it was; unchanged users are shared", () => {
    const first = applyRecords(MetadataImage.empty, history, 0);
    const second = applyRecords(first, [{ type: "acl-removal", ...readOrders }], first.offset + 1);
    expect([...second.acls]).toEqual([writePrefix]);
    expect([...first.acls]).toEqual([readOrders, writePrefix]);
    expect(second.users).toBe(first.users);
    expect(applyRecords(first, [{ type: "topic", name: "t", topicId: "t" }], first.offset + 1).acls).toBe(
      first.acls,
    );
  });

  it("refuses records that do not fit the image: a missing credential or binding, a binding twice", () => {
    const image = applyRecords(MetadataImage.empty, history, 0);
    const next = image.offset + 1;
    expect(() =>
      applyRecords(
        image,
        [{ type: "user-scram-credential-removal", name: "bob", mechanism: "SCRAM-SHA-512" }],
        next,
      ),
    ).toThrow(/bob, who has no SCRAM-SHA-512 credential/);
    expect(() =>
      applyRecords(
        image,
        [{ type: "user-scram-credential-removal", name: "carol", mechanism: "SCRAM-SHA-256" }],
        next,
      ),
    ).toThrow(/carol, who has no SCRAM-SHA-256 credential/);
    expect(() => applyRecords(image, [{ type: "acl", ...readOrders }], next)).toThrow(/binding that exists/);
    expect(() =>
      applyRecords(image, [{ type: "acl-removal", ...readOrders, operation: "describe" }], next),
    ).toThrow(/binding that does not exist/);
  });

  it("a snapshot holds every credential and binding, and rebuilds them through the JSON encoding", () => {
    const image = applyRecords(
      MetadataImage.empty,
      [...history, { type: "acl-removal", ...readOrders }, { type: "acl", ...readOrders }],
      0,
    );
    const records = imageToRecords(image);
    expect(records.map((record) => record.type)).toEqual([
      "user-scram-credential",
      "user-scram-credential",
      "user-scram-credential",
      "acl",
      "acl",
    ]);
    const decoded = records.map((record) => decodeMetadataRecord(encodeMetadataRecord(record)));
    const rebuilt = imageFromSnapshot(decoded, image.offset);
    expect(rebuilt.users).toEqual(image.users);
    expect([...rebuilt.acls]).toEqual([writePrefix, readOrders]); // the table's order: as added
    expect(imageToRecords(rebuilt)).toEqual(records);
  });
});

describe("ACL bindings and filters from the wire's strings", () => {
  const fields = {
    principal: "User:alice",
    host: "*",
    resourceType: "TOPIC",
    resourceName: "orders",
    patternType: "Literal",
    operation: "DESCRIBE_CONFIGS",
    permission: "allow",
  };

  it("parses any spelling @brook/security's parse functions take", () => {
    expect(aclBindingFromFields(fields)).toEqual({
      ...fields,
      resourceType: "topic",
      patternType: "literal",
      operation: "describeConfigs",
    });
  });

  it("refuses a bad value with INVALID_REQUEST naming the field", () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ operation: "fly" }, /^operation: unknown operation "fly"; expected one of/],
      [{ resourceType: "user" }, /^resourceType: unknown resource type "user"/],
      [{ permission: "" }, /^permission is empty$/],
      [{ operation: "any" }, /^operation: "any" selects bindings in a filter; a binding names one$/],
      [{ patternType: "match" }, /^patternType: "match" selects bindings/],
      [{ host: "" }, /^host is empty$/],
      [{ principal: "alice" }, /Invalid principal "alice"/],
      [{ resourceType: "cluster" }, /only valid name for the CLUSTER resource is kafka-cluster/],
    ];
    for (const [changes, message] of cases) {
      expect(() => aclBindingFromFields({ ...fields, ...changes }), JSON.stringify(changes)).toThrow(
        expect.objectContaining({ code: "INVALID_REQUEST", detail: expect.stringMatching(message) }),
      );
    }
  });

  it("a filter takes empty fields as anything, and 'any' and 'match' where a filter may", () => {
    expect(aclFilterFromFields(null)).toEqual({});
    expect(
      aclFilterFromFields({
        principal: "",
        host: "",
        resourceType: "any",
        resourceName: "orders",
        patternType: "MATCH",
        operation: "",
        permission: "Deny",
      }),
    ).toEqual({ resourceType: "any", resourceName: "orders", patternType: "match", permission: "deny" });
    expect(() => aclFilterFromFields({ operation: "fly" })).toThrow(
      expect.objectContaining({
        code: "INVALID_REQUEST",
        detail: expect.stringMatching(/^operation: unknown/),
      }),
    );
  });
});
