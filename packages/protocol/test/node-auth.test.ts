// Node identity over gRPC: a real grpc-js server on 127.0.0.1 learns the calling node from the token a
// client made with createBrokerClient(address, { node }) adds to each call; a call without one is no
// node's; a token signed with another secret, made for another method, or sent twice is refused with
// CLUSTER_AUTHORIZATION_FAILED, which reaches the client typed. Also requireNode (the operator, node 0,
// never passes as a broker) and peerHost on grpc-js's peer strings.
import { clusterSecretKey, signNodeToken } from "@brook/security";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  anonymousCaller,
  anonymousCallerOf,
  type BrokerClient,
  BrokerService,
  BrookError,
  type Caller,
  createBrokerClient,
  fromServiceError,
  NodeAuthenticator,
  nodeTokenKey,
  peerHost,
  requireNode,
  toServiceError,
} from "../src/index.js";

const key = clusterSecretKey("k".repeat(40));
const otherKey = clusterSecretKey("o".repeat(40));
const describeClusterPath = "/brook.v1.Broker/DescribeCluster";

/** What the server saw of each call: the node id, or the error callerNode threw. */
interface Seen {
  nodeId?: number;
  error?: BrookError;
  path: string;
  peer: string;
  metadata: grpc.Metadata;
}

let server: grpc.Server;
let address: string;
const seen: Seen[] = [];
const authenticator = new NodeAuthenticator(key);
const clients: BrokerClient[] = [];

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(BrokerService, {
    DescribeCluster: (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const record: Seen = { path: call.getPath(), peer: call.getPeer(), metadata: call.metadata };
      seen.push(record);
      try {
        record.nodeId = authenticator.callerNode(call);
      } catch (error) {
        record.error = error as BrookError;
        callback(toServiceError(error));
        return;
      }
      callback(null, { clusterId: `node ${record.nodeId ?? "none"}` });
    },
  } as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => {
  for (const client of clients) client.close();
  server?.forceShutdown();
});

function client(security: Parameters<typeof createBrokerClient>[1] = {}): BrokerClient {
  const made = createBrokerClient(address, security);
  clients.push(made);
  return made;
}

/** Calls DescribeCluster; resolves with the server's record of the call, or rejects with the typed error. */
async function describeCluster(
  stub: BrokerClient,
  metadata = new grpc.Metadata(),
): Promise<{ seen: Seen; clusterId: string }> {
  const before = seen.length;
  const clusterId = await new Promise<string>((resolve, reject) =>
    stub.DescribeCluster({}, metadata, { deadline: Date.now() + 5_000 }, (error, response) =>
      error ? reject(fromServiceError(error)) : resolve(response?.clusterId ?? ""),
    ),
  );
  expect(seen.length).toBe(before + 1);
  return { seen: seen[before] as Seen, clusterId };
}

/** The typed error a call is refused with, and the server's record of it. */
async function refused(
  stub: BrokerClient,
  metadata?: grpc.Metadata,
): Promise<{ error: BrookError; seen: Seen }> {
  const before = seen.length;
  const error = await describeCluster(stub, metadata).then(
    () => {
      throw new Error("expected the call to be refused");
    },
    (e: unknown) => e as BrookError,
  );
  return { error, seen: seen[before] as Seen };
}

describe("NodeAuthenticator.callerNode over gRPC", () => {
  it("names the node that signed the call", async () => {
    const node3 = client({ node: { nodeId: 3, key } });
    const first = await describeCluster(node3);
    expect(first.seen.nodeId).toBe(3);
    expect(first.seen.path).toBe(describeClusterPath);
    expect(first.clusterId).toBe("node 3");
    // Every call gets a fresh token: the second is no replay.
    expect((await describeCluster(node3)).seen.nodeId).toBe(3);
  });

  it("names the operator (node 0)", async () => {
    expect((await describeCluster(client({ node: { nodeId: 0, key } }))).seen.nodeId).toBe(0);
  });

  it("is undefined for a call without a token", async () => {
    const { seen: record, clusterId } = await describeCluster(client());
    expect(record.nodeId).toBeUndefined();
    expect(record.error).toBeUndefined();
    expect(clusterId).toBe("node none");
  });

  it("refuses a token signed with another cluster's secret, with CLUSTER_AUTHORIZATION_FAILED", async () => {
    const { error, seen: record } = await refused(client({ node: { nodeId: 3, key: otherKey } }));
    expect(record.error).toBeInstanceOf(BrookError);
    expect(record.error?.code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    expect(record.error?.detail).toMatch(
      /^refused a node token for node 3 that the cluster secret did not sign/,
    );
    // The client gets the same typed error back.
    expect(error).toBeInstanceOf(BrookError);
    expect(error.code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    expect(error.detail).toBe(record.error?.detail);
  });

  it("refuses a token made for another method", async () => {
    const metadata = new grpc.Metadata();
    metadata.set(nodeTokenKey, signNodeToken(key, 3, "/brook.v1.Broker/Fetch", Date.now()));
    const { error } = await refused(client(), metadata);
    expect(error.code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    expect(error.detail).toContain("or for another method");
  });

  it("refuses a token sent twice", async () => {
    const metadata = new grpc.Metadata();
    metadata.set(nodeTokenKey, signNodeToken(key, 2, describeClusterPath, Date.now()));
    const stub = client();
    expect((await describeCluster(stub, metadata)).seen.nodeId).toBe(2);
    const { error } = await refused(stub, metadata);
    expect(error.code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    expect(error.detail).toBe("refused a node token from node 2 used twice");
  });

  it("refuses a token from a clock outside the window (the identity's clock signs it)", async () => {
    const skewed = client({ node: { nodeId: 4, key, now: () => Date.now() - 10 * 60_000 } });
    const { error } = await refused(skewed);
    expect(error.code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    expect(error.detail).toMatch(/clocks more than 60000 ms apart/);
  });

  it("refuses something that is not a token", async () => {
    const metadata = new grpc.Metadata();
    metadata.set(nodeTokenKey, "let me in");
    const { error } = await refused(client(), metadata);
    expect(error.code).toBe("CLUSTER_AUTHORIZATION_FAILED");
    expect(error.detail).toBe("refused not a node token");
  });

  it("keeps other interceptors' metadata alongside the token", async () => {
    const tagging: grpc.Interceptor = (options, nextCall) =>
      new grpc.InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          metadata.set("x-test", "yes");
          next(metadata, listener);
        },
      });
    const { seen: record } = await describeCluster(
      client({ node: { nodeId: 6, key }, interceptors: [tagging] }),
    );
    expect(record.nodeId).toBe(6);
    expect(record.metadata.get("x-test")).toEqual(["yes"]);
    expect(record.metadata.get(nodeTokenKey)).toHaveLength(1);
  });

  it("the server sees the client's IPv4 address", async () => {
    const { seen: record } = await describeCluster(client());
    expect(peerHost(record.peer)).toBe("127.0.0.1");
    expect(anonymousCallerOf({ getPeer: () => record.peer } as never)).toEqual(anonymousCaller("127.0.0.1"));
  });
});

describe("requireNode", () => {
  const node = (nodeId: number): Caller => ({
    nodeId,
    principal: `User:brook-node-${nodeId}`,
    host: "10.0.0.1",
  });
  const operator: Caller = { nodeId: 0, principal: "User:brook-operator", host: "10.0.0.1" };
  const alice: Caller = { principal: "User:alice", host: "10.0.0.2" };

  function refusal(run: () => void): BrookError {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(BrookError);
      expect((error as BrookError).code).toBe("CLUSTER_AUTHORIZATION_FAILED");
      return error as BrookError;
    }
    throw new Error("expected CLUSTER_AUTHORIZATION_FAILED");
  }

  it("refuses a caller that is no node, whatever it claims", () => {
    expect(refusal(() => requireNode(alice, "a replica fetch")).detail).toBe(
      "a replica fetch is for the cluster's own nodes; User:alice is not one",
    );
    expect(refusal(() => requireNode(alice, "a replica fetch", 2)).detail).toContain("User:alice is not one");
    expect(() => requireNode(anonymousCaller(), "AlterPartition")).toThrow(
      "AlterPartition is for the cluster's own nodes; User:ANONYMOUS is not one",
    );
  });

  it("passes a node with no claim to check", () => {
    expect(() => requireNode(node(3), "a transaction marker")).not.toThrow();
    expect(() => requireNode(operator, "creating the first users")).not.toThrow();
  });

  it("passes a node for its own id, and refuses it for another", () => {
    expect(() => requireNode(node(3), "a replica fetch", 3)).not.toThrow();
    expect(refusal(() => requireNode(node(3), "a replica fetch", 2)).detail).toBe(
      "a replica fetch claims to come from broker 2, but the caller is node 3",
    );
  });

  it("never passes the operator (node 0) as a broker, not even as broker 0", () => {
    expect(refusal(() => requireNode(operator, "RegisterBroker", 1)).detail).toBe(
      "RegisterBroker claims to come from broker 1, but the caller is node 0",
    );
    expect(refusal(() => requireNode(operator, "RegisterBroker", 0)).detail).toBe(
      "RegisterBroker claims to come from broker 0, but the caller is node 0",
    );
    expect(() => requireNode(operator, "a replica fetch", -1)).toThrow(BrookError);
  });
});

describe("peerHost", () => {
  it.each([
    ["ipv4:127.0.0.1:5000", "127.0.0.1"],
    ["ipv6:[::1]:5000", "::1"],
    ["127.0.0.1:5000", "127.0.0.1"],
    ["ipv6:[fe80::1%eth0]:443", "fe80::1%eth0"],
    ["[2001:db8::2]:9092", "2001:db8::2"],
    ["10.1.2.3", "10.1.2.3"],
    ["localhost:9092", "localhost"],
    ["unknown", "unknown"],
  ])("%s → %s", (peer, host) => {
    expect(peerHost(peer)).toBe(host);
  });
});
