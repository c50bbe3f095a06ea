// Who a gRPC call comes from (nodeSecurity's callerOf), on fake calls: a node token names the node
// (User:brook-node-N; node 0 is User:brook-operator); a user token names its user while the user exists;
// with SASL on nothing else passes but the SaslAuthenticate exchange itself; with SASL off the caller is
// anonymous (or the CN of a verified TLS client certificate); each call is authenticated once. Also what
// the node builds from its config: the cluster key from --cluster-secret-file, the SCRAM services only
// with SASL on, and channels to other nodes that sign as this node.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrookError, type SurfaceCall } from "@brook/protocol";
import {
  clusterSecretKey,
  NodeTokenVerifier,
  type ScramCredential,
  type ScramMechanism,
  scramCredential,
  signNodeToken,
  signUserToken,
} from "@brook/security";
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.js";
import { GrpcSasl } from "../src/grpc-sasl.js";
import {
  nodePrincipal,
  nodeSecurity,
  type UserDirectory,
  unknownUserSecret,
  userTokenKey,
} from "../src/node-security.js";

const dir = mkdtempSync(join(tmpdir(), "brook-node-security-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secret = "s".repeat(44);
const secretFile = join(dir, "cluster.secret");
writeFileSync(secretFile, `${secret}\n`);
const key = clusterSecretKey(secret);
const otherKey = clusterSecretKey("o".repeat(44));

const metadataPath = "/brook.v1.Broker/Metadata";
const saslPath = "/brook.v1.Broker/SaslAuthenticate";
const peer = "ipv4:10.0.0.7:41000";

/** A directory of users the test changes as it goes. */
function fakeUsers(...names: string[]) {
  const users = new Map<string, ScramCredential>();
  for (const name of names) users.set(name, scramCredential("SCRAM-SHA-256", `${name}-pw`));
  const directory: UserDirectory = {
    credentialOf: (username: string, mechanism: ScramMechanism) =>
      mechanism === "SCRAM-SHA-256" ? users.get(username) : undefined,
    exists: (username: string) => users.has(username),
  };
  return { users, directory };
}

function security(flags: Record<string, string>, users: UserDirectory = fakeUsers().directory) {
  const config = resolveConfig({ nodeId: "1", clusterSecretFile: secretFile, ...flags }, {});
  return nodeSecurity(config, users, (error) => {
    throw error;
  });
}

const saslOn = { saslMechanisms: "SCRAM-SHA-256" };

/** A call as grpc-js hands it to a handler, as far as callerOf looks. */
function fakeCall(
  entries: Record<string, string> = {},
  options: { path?: string; peer?: string; commonName?: string } = {},
): SurfaceCall {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(entries)) metadata.set(name, value);
  const authContext =
    options.commonName === undefined
      ? {}
      : { transportSecurityType: "ssl", sslPeerCertificate: { subject: { CN: options.commonName } } };
  return {
    metadata,
    getPeer: () => options.peer ?? peer,
    getPath: () => options.path ?? metadataPath,
    getAuthContext: () => authContext,
  } as unknown as SurfaceCall;
}

function nodeCall(nodeId: number, signingKey = key, path = metadataPath): SurfaceCall {
  return fakeCall({ "brook-node-token": signNodeToken(signingKey, nodeId, path, Date.now()) }, { path });
}

function userCall(principal: string, signingKey = key, expiresMs = Date.now() + 60_000): SurfaceCall {
  return fakeCall({ [userTokenKey]: signUserToken(signingKey, principal, expiresMs) });
}

function refusal(run: () => unknown): BrookError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BrookError);
    return error as BrookError;
  }
  throw new Error("expected a BrookError");
}

describe("callerOf", () => {
  it("a node token names the node, as User:brook-node-N, from its address", () => {
    for (const flags of [saslOn, {}]) {
      const { callerOf } = security(flags);
      expect(callerOf(nodeCall(2))).toEqual({ nodeId: 2, principal: "User:brook-node-2", host: "10.0.0.7" });
    }
  });

  it("an operator token (node 0) names User:brook-operator", () => {
    const { callerOf } = security(saslOn);
    expect(callerOf(nodeCall(0))).toEqual({ nodeId: 0, principal: "User:brook-operator", host: "10.0.0.7" });
    expect(nodePrincipal(0)).toBe("User:brook-operator");
    expect(nodePrincipal(7)).toBe("User:brook-node-7");
  });

  it("a node token signed with another secret, or for another method, is refused", () => {
    const { callerOf } = security(saslOn);
    expect(refusal(() => callerOf(nodeCall(2, otherKey))).code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    const forFetch = fakeCall({
      "brook-node-token": signNodeToken(key, 2, "/brook.v1.Broker/Fetch", Date.now()),
    });
    expect(refusal(() => callerOf(forFetch)).code).toBe("CLUSTER_AUTHORIZATION_FAILED");
  });

  it("a user token of an existing user names that user", () => {
    const { callerOf } = security(saslOn, fakeUsers("alice").directory);
    expect(callerOf(userCall("User:alice"))).toEqual({ principal: "User:alice", host: "10.0.0.7" });
  });

  it("a user token is refused once its user is deleted", () => {
    const { users, directory } = fakeUsers("alice");
    const { callerOf } = security(saslOn, directory);
    expect(callerOf(userCall("User:alice")).principal).toBe("User:alice");
    users.delete("alice");
    const error = refusal(() => callerOf(userCall("User:alice")));
    expect(error.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(error.detail).toBe("user alice no longer exists");
  });

  it("a user token of another cluster, or an expired one, is refused", () => {
    const { callerOf } = security(saslOn, fakeUsers("alice").directory);
    const foreign = refusal(() => callerOf(userCall("User:alice", otherKey)));
    expect(foreign.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(foreign.detail).toBe("refused a user token this cluster did not sign");
    const expired = refusal(() => callerOf(userCall("User:alice", key, Date.now() - 1)));
    expect(expired.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(expired.detail).toContain("expired");
    expect(refusal(() => callerOf(fakeCall({ [userTokenKey]: "garbage" }))).code).toBe(
      "SASL_AUTHENTICATION_FAILED",
    );
  });

  it("a user token counts with SASL off too (the node still checks what it is given)", () => {
    const { callerOf } = security({}, fakeUsers("alice").directory);
    expect(callerOf(userCall("User:alice")).principal).toBe("User:alice");
    expect(refusal(() => callerOf(userCall("User:bob"))).code).toBe("SASL_AUTHENTICATION_FAILED");
  });

  it("with SASL on, a call without credentials is refused, but for the SaslAuthenticate exchange", () => {
    const { callerOf } = security(saslOn);
    const error = refusal(() => callerOf(fakeCall()));
    expect(error.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(error.detail).toContain("requires clients to authenticate");
    // Not even a verified TLS client certificate stands in for SASL.
    expect(refusal(() => callerOf(fakeCall({}, { commonName: "alice" }))).code).toBe(
      "SASL_AUTHENTICATION_FAILED",
    );
    expect(callerOf(fakeCall({}, { path: saslPath }))).toEqual({
      principal: "User:ANONYMOUS",
      host: "10.0.0.7",
    });
  });

  it("with SASL off, a call without credentials is anonymous, or the CN of a verified certificate", () => {
    const { callerOf } = security({});
    expect(callerOf(fakeCall())).toEqual({ principal: "User:ANONYMOUS", host: "10.0.0.7" });
    expect(callerOf(fakeCall({}, { peer: "ipv6:[::1]:5000" }))).toEqual({
      principal: "User:ANONYMOUS",
      host: "::1",
    });
    expect(callerOf(fakeCall({}, { commonName: "alice" }))).toEqual({
      principal: "User:alice",
      host: "10.0.0.7",
    });
  });

  it("a node token wins over a user token on the same call", () => {
    const { callerOf } = security(saslOn, fakeUsers("alice").directory);
    const call = fakeCall({
      "brook-node-token": signNodeToken(key, 3, metadataPath, Date.now()),
      [userTokenKey]: signUserToken(key, "User:alice", Date.now() + 60_000),
    });
    expect(callerOf(call)).toMatchObject({ nodeId: 3, principal: "User:brook-node-3" });
  });
});

describe("each call is authenticated once", () => {
  it("the same call object gives the same answer, however often it is asked", () => {
    const { callerOf } = security(saslOn, fakeUsers("alice").directory);
    const node = nodeCall(2);
    const first = callerOf(node);
    // A second check of the token would see its nonce again and call it a replay.
    expect(callerOf(node)).toBe(first);
    expect(callerOf(node)).toBe(first);
    const user = userCall("User:alice");
    expect(callerOf(user)).toBe(callerOf(user));
  });

  it("another call carrying the same node token is a replay", () => {
    const { callerOf } = security(saslOn);
    const token = signNodeToken(key, 2, metadataPath, Date.now());
    expect(callerOf(fakeCall({ "brook-node-token": token })).nodeId).toBe(2);
    const error = refusal(() => callerOf(fakeCall({ "brook-node-token": token })));
    expect(error.code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    expect(error.detail).toContain("used twice");
  });

  it("callerNode and callerOf share one replay cache", () => {
    const security1 = security(saslOn);
    const token = signNodeToken(key, 2, metadataPath, Date.now());
    expect(security1.callerNode(fakeCall({ "brook-node-token": token }))).toBe(2);
    expect(refusal(() => security1.callerOf(fakeCall({ "brook-node-token": token }))).code).toBe(
      "CLUSTER_AUTHORIZATION_FAILED",
    );
  });

  it("a refused call is refused again (a refusal is not remembered as a caller)", () => {
    const { users, directory } = fakeUsers();
    const { callerOf } = security(saslOn, directory);
    const call = userCall("User:alice");
    expect(refusal(() => callerOf(call)).code).toBe("SASL_AUTHENTICATION_FAILED");
    users.set("alice", scramCredential("SCRAM-SHA-256", "pw"));
    expect(callerOf(call).principal).toBe("User:alice");
  });
});

describe("what the node builds from its config", () => {
  it("with SASL on: the gRPC exchange and the Kafka listener's SASL over the same users", async () => {
    const { users, directory } = fakeUsers("alice");
    const built = security({ saslMechanisms: "scram-sha-256,SCRAM-SHA-512" }, directory);
    expect(built.sasl).toBeInstanceOf(GrpcSasl);
    expect(built.kafkaSasl?.mechanisms).toEqual(["SCRAM-SHA-256", "SCRAM-SHA-512"]);
    expect(built.kafkaSasl?.credentialOf("alice", "SCRAM-SHA-256")).toBe(users.get("alice"));
    // An unknown user's made-up salt comes from the cluster secret: the same on every node.
    expect(built.kafkaSasl?.unknownUserSecret).toEqual(unknownUserSecret(key));
    expect(unknownUserSecret(key)).not.toEqual(unknownUserSecret(otherKey));
  });

  it("with SASL off: neither", () => {
    const built = security({});
    expect(built.sasl).toBeUndefined();
    expect(built.kafkaSasl).toBeUndefined();
    expect(built.tls).toBeUndefined();
    expect(built.tlsOptions("kafka")).toBeUndefined();
  });

  it("channels to other nodes sign as this node with the cluster secret from the file", () => {
    const built = security({ nodeId: "4" });
    expect(built.brokerPeer.node?.nodeId).toBe(4);
    expect(built.brokerPeer.node?.key).toEqual(key);
    expect(built.controllerPeer.node?.nodeId).toBe(4);
    expect(built.brokerPeer.credentials).toBeUndefined();
    const token = signNodeToken(built.brokerPeer.node?.key as Buffer, 4, metadataPath, Date.now());
    expect(new NodeTokenVerifier(key).verify(token, metadataPath)).toEqual({ ok: true, nodeId: 4 });
  });

  it("refuses a cluster secret file that is too short, or missing, with INVALID_CONFIG", () => {
    const short = join(dir, "short.secret");
    writeFileSync(short, "too short\n");
    const tooShort = refusal(() => security({ clusterSecretFile: short }));
    expect(tooShort.code).toBe("INVALID_CONFIG");
    expect(tooShort.detail).toContain("the cluster secret has 9 characters; it needs at least 32");
    const missing = refusal(() => security({ clusterSecretFile: join(dir, "nowhere") }));
    expect(missing.code).toBe("INVALID_CONFIG");
    expect(missing.detail).toContain("cannot read the cluster secret file");
  });

  it("a one-node cluster without a secret file makes a key of its own: nobody else's tokens pass", () => {
    const config = resolveConfig({ nodeId: "1" }, {});
    const built = nodeSecurity(config, fakeUsers().directory, () => {});
    expect(refusal(() => built.callerOf(nodeCall(2))).code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    expect(built.brokerPeer.node?.key.length).toBeGreaterThanOrEqual(32);
  });
});
