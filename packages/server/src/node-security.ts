// How one node secures what it says and learns who is speaking: the cluster
// secret's node identity (every call to another node signed, every call from
// one checked), and who a gRPC caller is. One place builds it from the config,
// so every listener and channel of the node agrees (docs/security.md).

import { readFileSync } from "node:fs";
import {
  anonymousCaller,
  BrookError,
  type Caller,
  type CallerOf,
  type ChannelSecurity,
  NodeAuthenticator,
  type NodeIdentity,
  peerHost,
  type SurfaceCall,
} from "@brook/protocol";
import { clusterSecretKey, newClusterSecret } from "@brook/security";
import type { NodeConfig } from "./config.js";

export interface NodeSecurity {
  /** For every channel this node opens to another node: it calls as itself. */
  readonly peer: ChannelSecurity;
  /** Which node, if any, a call comes from (a bad token is refused). */
  callerNode(call: SurfaceCall): number | undefined;
  /** Who a gRPC call comes from, for the broker's checks. */
  readonly callerOf: CallerOf;
}

/** The principal a node acts as: the same name its TLS certificate carries (scripts/gen-tls.sh). */
export function nodePrincipal(nodeId: number): string {
  return `User:brook-node-${nodeId}`;
}

export function nodeSecurity(config: NodeConfig): NodeSecurity {
  const identity: NodeIdentity = { nodeId: config.nodeId, key: clusterKey(config) };
  const authenticator = new NodeAuthenticator(identity.key);
  const callerNode = (call: SurfaceCall) => authenticator.callerNode(call);
  const callerOf = (call: SurfaceCall): Caller => {
    const host = peerHost(call.getPeer());
    const nodeId = callerNode(call);
    return nodeId === undefined ? anonymousCaller(host) : { nodeId, principal: nodePrincipal(nodeId), host };
  };
  return { peer: { node: identity }, callerNode, callerOf };
}

/**
 * The cluster secret from its file. A node that is the whole cluster may go without one (config.ts
 * refuses a larger cluster without it): it makes a random one of its own, since no other node has to
 * prove anything to it.
 */
function clusterKey(config: NodeConfig): Buffer {
  if (config.clusterSecretFile === undefined) return clusterSecretKey(newClusterSecret());
  let text: string;
  try {
    text = readFileSync(config.clusterSecretFile, "utf8");
  } catch (error) {
    throw new BrookError(
      "INVALID_CONFIG",
      `cannot read the cluster secret file ${config.clusterSecretFile}: ${(error as Error).message}`,
    );
  }
  try {
    return clusterSecretKey(text);
  } catch (error) {
    throw new BrookError("INVALID_CONFIG", `${config.clusterSecretFile}: ${(error as Error).message}`);
  }
}
