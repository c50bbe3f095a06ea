// The node's access policy (aclPolicy) over a metadata image built from `acl` records: Kafka's
// decisions over the image's ACLs, super users allowed everything, nobody else before there is an image
// or before the broker has caught up, and one Authorizer per ACL table: rebuilt only when the image's
// `acls` object changes.
import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import type { Caller } from "@brook/protocol";
import type { AclBinding } from "@brook/security";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { aclPolicy } from "../src/access-policy.js";

// Counts the Authorizers built, to see when the policy rebuilds one.
const built = vi.hoisted(() => ({ count: 0 }));
vi.mock("@brook/security", async (importOriginal) => {
  const original = await importOriginal<typeof import("@brook/security")>();
  class CountingAuthorizer extends original.Authorizer {
    constructor(...args: ConstructorParameters<typeof original.Authorizer>) {
      super(...args);
      built.count++;
    }
  }
  return { ...original, Authorizer: CountingAuthorizer };
});

const alice: Caller = { principal: "User:alice", host: "10.0.0.1" };
const bob: Caller = { principal: "User:bob", host: "10.0.0.2" };
const admin: Caller = { principal: "User:admin", host: "10.0.0.3" };

const aliceReadsOrders: AclBinding = {
  principal: "User:alice",
  host: "*",
  resourceType: "topic",
  resourceName: "orders",
  patternType: "literal",
  operation: "read",
  permission: "allow",
};
const bobWritesPayments: AclBinding = {
  ...aliceReadsOrders,
  principal: "User:bob",
  resourceName: "pay",
  patternType: "prefixed",
  operation: "write",
};

function imageWith(...bindings: AclBinding[]): MetadataImage {
  return applyRecords(
    MetadataImage.empty,
    bindings.map((binding): MetadataRecord => ({ type: "acl", ...binding })),
    0,
  );
}

function policyOver(
  initial: MetadataImage | undefined,
  options: { superUsers?: string[]; allowEveryoneIfNoAclFound?: boolean; caughtUp?: boolean } = {},
) {
  const state = { image: initial, caughtUp: options.caughtUp ?? true };
  const policy = aclPolicy({
    superUsers: options.superUsers ?? ["User:admin"],
    allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound,
    image: () => state.image,
    caughtUp: () => state.caughtUp,
  });
  return { policy, state };
}

beforeEach(() => {
  built.count = 0;
});

describe("decisions over the image's ACLs", () => {
  it("allows what a binding allows and denies the rest once there are ACLs", () => {
    const { policy } = policyOver(imageWith(aliceReadsOrders, bobWritesPayments));
    expect(policy.authorize(alice, "read", "topic", "orders").allowed).toBe(true);
    // An ALLOW of read also allows describe (Kafka's implication).
    expect(policy.authorize(alice, "describe", "topic", "orders").allowed).toBe(true);
    expect(policy.authorize(alice, "write", "topic", "orders").allowed).toBe(false);
    expect(policy.authorize(bob, "read", "topic", "orders").allowed).toBe(false);
    expect(policy.authorize(bob, "write", "topic", "payments").allowed).toBe(true);
    expect(policy.authorize(bob, "write", "topic", "orders").allowed).toBe(false);
    // A resource no ACL names: closed, since the cluster has ACLs (allowEveryoneIfNoAclFound unset).
    expect(policy.authorize(alice, "read", "topic", "unnamed").allowed).toBe(false);
  });

  it("matches the caller's host against the binding's", () => {
    const fromOneHost: AclBinding = { ...aliceReadsOrders, host: "10.0.0.1" };
    const { policy } = policyOver(imageWith(fromOneHost));
    expect(policy.authorize(alice, "read", "topic", "orders").allowed).toBe(true);
    expect(policy.authorize({ ...alice, host: "10.0.0.9" }, "read", "topic", "orders").allowed).toBe(false);
  });

  it("answers authorizeAny by resource type", () => {
    const { policy } = policyOver(imageWith(aliceReadsOrders, bobWritesPayments));
    expect(policy.authorizeAny(bob, "write", "topic").allowed).toBe(true);
    expect(policy.authorizeAny(alice, "write", "topic").allowed).toBe(false);
    expect(policy.authorizeAny(alice, "read", "topic").allowed).toBe(true);
  });

  it("with no ACL at all, the cluster is open unless allowEveryoneIfNoAclFound is false", () => {
    expect(policyOver(imageWith()).policy.authorize(bob, "write", "topic", "t").allowed).toBe(true);
    const closed = policyOver(imageWith(), { allowEveryoneIfNoAclFound: false }).policy;
    expect(closed.authorize(bob, "write", "topic", "t").allowed).toBe(false);
    const open = policyOver(imageWith(aliceReadsOrders), { allowEveryoneIfNoAclFound: true }).policy;
    expect(open.authorize(bob, "write", "topic", "unnamed").allowed).toBe(true);
    expect(open.authorize(bob, "read", "topic", "orders").allowed).toBe(false);
  });
});

describe("super users", () => {
  it("are allowed everything, whatever the ACLs say", () => {
    const deny: AclBinding = {
      ...aliceReadsOrders,
      principal: "User:admin",
      permission: "deny",
      operation: "all",
    };
    const { policy } = policyOver(imageWith(aliceReadsOrders, deny));
    expect(policy.authorize(admin, "read", "topic", "orders").allowed).toBe(true);
    expect(policy.authorize(admin, "alter", "cluster", "kafka-cluster").allowed).toBe(true);
    expect(policy.authorizeAny(admin, "write", "transactionalId").allowed).toBe(true);
    expect(policy.authorize(alice, "alter", "cluster", "kafka-cluster").allowed).toBe(false);
  });
});

describe("before the broker has caught up", () => {
  it("only super users pass: before there is an image", () => {
    const { policy } = policyOver(undefined);
    expect(policy.authorize(admin, "write", "topic", "t")).toEqual({
      allowed: true,
      reason: "User:admin is a super user",
    });
    // Not ready (a retriable refusal), rather than denied.
    expect(policy.authorize(alice, "read", "topic", "orders")).toEqual({
      allowed: false,
      notReady: true,
      reason: "this broker has not caught up with the metadata log (its ACLs) yet",
    });
    expect(policy.authorizeAny(alice, "read", "topic").allowed).toBe(false);
    expect(policy.authorizeAny(admin, "read", "topic").allowed).toBe(true);
    expect(built.count).toBe(0);
  });

  it("only super users pass: with an image, until the broker has caught up, even on an open cluster", () => {
    const { policy, state } = policyOver(imageWith(aliceReadsOrders), {
      caughtUp: false,
      allowEveryoneIfNoAclFound: true,
    });
    expect(policy.authorize(alice, "read", "topic", "orders").allowed).toBe(false);
    expect(policy.authorize(bob, "write", "topic", "anything").allowed).toBe(false);
    expect(policy.authorize(admin, "write", "topic", "anything").allowed).toBe(true);
    expect(built.count).toBe(0);
    state.caughtUp = true;
    expect(policy.authorize(alice, "read", "topic", "orders").allowed).toBe(true);
    expect(built.count).toBe(1);
  });
});

describe("the authorizer", () => {
  it("is built once per ACL table, and again only when the image's acls object changes", () => {
    const first = imageWith(aliceReadsOrders);
    const { policy, state } = policyOver(first);
    for (let i = 0; i < 5; i++) {
      policy.authorize(alice, "read", "topic", "orders");
      policy.authorizeAny(bob, "write", "topic");
    }
    expect(built.count).toBe(1);

    // A new image whose change left the ACLs alone shares the table: no rebuild.
    const topicAdded = applyRecords(first, [{ type: "topic", name: "t", topicId: "t-id" }], first.offset + 1);
    expect(topicAdded).not.toBe(first);
    expect(topicAdded.acls).toBe(first.acls);
    state.image = topicAdded;
    policy.authorize(alice, "read", "topic", "orders");
    expect(built.count).toBe(1);
    state.image = first.withOffset(first.offset + 10);
    policy.authorize(alice, "read", "topic", "orders");
    expect(built.count).toBe(1);

    // An ACL change: a new table, a new authorizer, and its decisions follow.
    const aclAdded = applyRecords(topicAdded, [{ type: "acl", ...bobWritesPayments }], topicAdded.offset + 1);
    expect(aclAdded.acls).not.toBe(topicAdded.acls);
    state.image = aclAdded;
    expect(policy.authorize(bob, "write", "topic", "payments").allowed).toBe(true);
    policy.authorize(alice, "read", "topic", "orders");
    expect(built.count).toBe(2);

    // Back to an image with the first table: that is another object than the last one built over.
    state.image = first;
    expect(policy.authorize(bob, "write", "topic", "payments").allowed).toBe(false);
    expect(built.count).toBe(3);
  });

  it("is not built while the broker has not caught up, nor kept from before it fell behind", () => {
    const image = imageWith(aliceReadsOrders);
    const { policy, state } = policyOver(image);
    policy.authorize(alice, "read", "topic", "orders");
    expect(built.count).toBe(1);
    state.caughtUp = false;
    expect(policy.authorize(alice, "read", "topic", "orders").allowed).toBe(false);
    state.caughtUp = true;
    expect(policy.authorize(alice, "read", "topic", "orders").allowed).toBe(true);
    expect(built.count).toBe(1);
  });

  it("keeps an open cluster (no ACL, default open) open while the broker catches up", () => {
    const { policy } = policyOver(imageWith(), { caughtUp: false });
    expect(policy.authorize(alice, "read", "topic", "orders").allowed).toBe(true);
    const closed = policyOver(imageWith(aliceReadsOrders), { caughtUp: false }).policy;
    expect(closed.authorize(alice, "read", "topic", "orders")).toMatchObject({
      allowed: false,
      notReady: true,
    });
  });

  it("refuses a super user that is not a principal when it is built", () => {
    // (An image with an ACL: without any, an open cluster needs no authorizer at all.)
    const { policy } = policyOver(imageWith(aliceReadsOrders), { superUsers: ["admin"] });
    expect(() => policy.authorize(alice, "read", "topic", "t")).toThrow(
      /super user "admin" is not a principal/,
    );
  });
});
