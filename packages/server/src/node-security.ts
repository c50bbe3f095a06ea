// How one node secures what it says and learns who is speaking: the cluster
// secret's node identity (every call to another node signed, every call from
// one checked), and who a gRPC caller is. One place builds it from the config,
// so every listener and channel of the node agrees (docs/security.md).

import { readFileSync } from "node:fs";
import type { TlsOptions } from "node:tls";
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
import * as grpc from "@grpc/grpc-js";
import type { NodeConfig, TlsListener } from "./config.js";
import {
  grpcChannelCredentials,
  grpcPeerName,
  grpcServerCredentials,
  ReloadingTls,
  tlsServerOptions,
} from "./tls.js";

export interface NodeSecurity {
  /** TLS material when TLS is on (reloaded on change), for the listeners in config.tlsListeners. */
  readonly tls: ReloadingTls | undefined;
  /** For the channels this node opens to other nodes' broker ports: it calls as itself, over TLS if they serve it. */
  readonly brokerPeer: ChannelSecurity;
  /** The same for other nodes' controller ports (Raft, the Controller service). */
  readonly controllerPeer: ChannelSecurity;
  /** What a gRPC listener binds with: TLS credentials that follow reloads, or plaintext. */
  grpcCredentials(listener: "broker" | "controller"): grpc.ServerCredentials;
  /** tls.createServer / https.createServer options for a TCP listener; undefined for plaintext. */
  tlsOptions(listener: "kafka" | "http"): TlsOptions | undefined;
  /** Which node, if any, a call comes from (a bad token is refused). */
  callerNode(call: SurfaceCall): number | undefined;
  /** Who a gRPC call comes from, for the broker's checks. */
  readonly callerOf: CallerOf;
}

/** The principal a node acts as: the same name its TLS certificate carries (scripts/gen-tls.sh). */
export function nodePrincipal(nodeId: number): string {
  return `User:brook-node-${nodeId}`;
}

export function nodeSecurity(config: NodeConfig, onTlsError: (error: Error) => void): NodeSecurity {
  const identity: NodeIdentity = { nodeId: config.nodeId, key: clusterKey(config) };
  const authenticator = new NodeAuthenticator(identity.key);
  const callerNode = (call: SurfaceCall) => authenticator.callerNode(call);
  // A node token names a node; else a verified client certificate names a user; else nobody.
  const callerOf = (call: SurfaceCall): Caller => {
    const host = peerHost(call.getPeer());
    const nodeId = callerNode(call);
    if (nodeId !== undefined) return { nodeId, principal: nodePrincipal(nodeId), host };
    const name = grpcPeerName(call);
    return name === undefined ? anonymousCaller(host) : { principal: `User:${name}`, host };
  };
  const tls = tlsOf(config, onTlsError);
  const on = (listener: TlsListener) => tls !== undefined && config.tlsListeners.includes(listener);
  const peer = (listener: TlsListener): ChannelSecurity =>
    tls !== undefined && on(listener)
      ? { node: identity, credentials: grpcChannelCredentials(tls) }
      : { node: identity };
  return {
    tls,
    brokerPeer: peer("broker"),
    controllerPeer: peer("controller"),
    grpcCredentials: (listener) =>
      tls !== undefined && on(listener)
        ? grpcServerCredentials(tls)
        : grpc.ServerCredentials.createInsecure(),
    tlsOptions: (listener) =>
      tls !== undefined && on(listener)
        ? tlsServerOptions(tls, listener === "http" ? "none" : config.tlsClientAuth)
        : undefined,
    callerNode,
    callerOf,
  };
}

function tlsOf(config: NodeConfig, onError: (error: Error) => void): ReloadingTls | undefined {
  if (config.tlsCertFile === undefined || config.tlsKeyFile === undefined) return undefined;
  return new ReloadingTls(
    {
      certFile: config.tlsCertFile,
      keyFile: config.tlsKeyFile,
      caFile: config.tlsCaFile,
      clientAuth: config.tlsClientAuth,
    },
    { onError },
  );
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
