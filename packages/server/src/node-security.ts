// How one node secures what it says and learns who is speaking: the cluster
// secret's node identity (every call to another node signed, every call from
// one checked), and who a gRPC caller is. One place builds it from the config,
// so every listener and channel of the node agrees (docs/security.md).

import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TlsOptions } from "node:tls";
import type { KafkaSaslOptions } from "@brook/kafka";
import type { MetadataImage } from "@brook/metadata";
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
import {
  clusterSecretKey,
  newClusterSecret,
  operatorNodeId,
  type ScramCredential,
  type ScramMechanism,
  verifyUserToken,
} from "@brook/security";
import * as grpc from "@grpc/grpc-js";
import type { NodeConfig, TlsListener } from "./config.js";
import { GrpcSasl } from "./grpc-sasl.js";
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
  /** The gRPC SCRAM exchange, when SASL is on. */
  readonly sasl: GrpcSasl | undefined;
  /** The Kafka listener's SASL, when SASL is on: the same users and mechanisms. */
  readonly kafkaSasl: KafkaSaslOptions | undefined;
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

/**
 * The principal a node acts as: the same name its TLS certificate carries (scripts/gen-tls.sh); node 0 is
 * the operator (a tool holding the cluster secret).
 */
export function nodePrincipal(nodeId: number): string {
  return nodeId === operatorNodeId ? "User:brook-operator" : `User:brook-node-${nodeId}`;
}

/** What the node knows of users: their credentials, from the metadata image. */
export interface UserDirectory {
  credentialOf(username: string, mechanism: ScramMechanism): ScramCredential | undefined;
  exists(username: string): boolean;
}

/**
 * What SCRAM makes an unknown user's salt from: derived from the cluster secret, so every broker answers
 * an unknown name alike (a per-process secret would tell known users from unknown across brokers).
 */
export function unknownUserSecret(key: Buffer): Buffer {
  return createHmac("sha256", key).update("brook-scram-unknown-user").digest();
}

/** Users as the metadata image has them; none before the image exists. */
export function userDirectory(image: () => MetadataImage | undefined): UserDirectory {
  return {
    credentialOf: (username, mechanism) => image()?.users.get(username)?.get(mechanism),
    exists: (username) => image()?.users.has(username) ?? false,
  };
}

/** The metadata key a user token travels under (after a SaslAuthenticate exchange). */
export const userTokenKey = "brook-auth-token";
const saslAuthenticatePath = "/brook.v1.Broker/SaslAuthenticate";

export function nodeSecurity(
  config: NodeConfig,
  users: UserDirectory,
  onTlsError: (error: Error) => void,
): NodeSecurity {
  const identity: NodeIdentity = { nodeId: config.nodeId, key: clusterKey(config) };
  const authenticator = new NodeAuthenticator(identity.key);
  const callerNode = (call: SurfaceCall) => authenticator.callerNode(call);
  const tls = tlsOf(config, onTlsError);
  const on = (listener: TlsListener) => tls !== undefined && config.tlsListeners.includes(listener);
  const peer = (listener: TlsListener): ChannelSecurity =>
    tls !== undefined && on(listener)
      ? { node: identity, credentials: grpcChannelCredentials(tls) }
      : { node: identity };
  const saslOn = config.saslMechanisms.length > 0;
  const credentialOf = users.credentialOf;
  const unknownUsers = unknownUserSecret(identity.key);
  const mechanisms = config.saslMechanisms;
  return {
    tls,
    sasl: saslOn
      ? new GrpcSasl({ key: identity.key, unknownUserSecret: unknownUsers, mechanisms, credentialOf })
      : undefined,
    kafkaSasl: saslOn ? { mechanisms, credentialOf, unknownUserSecret: unknownUsers } : undefined,
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
    callerOf: onePerCall(callerOfCall(identity.key, callerNode, users, saslOn)),
  };
}

/**
 * Who a gRPC call comes from, in this order: a node token names a node; a user token (from
 * SaslAuthenticate) names a user; with SASL on, nothing else passes but the exchange itself; a verified
 * TLS client certificate names User:<CN>; else the caller is anonymous.
 */
function callerOfCall(
  key: Buffer,
  callerNode: (call: SurfaceCall) => number | undefined,
  users: UserDirectory,
  saslRequired: boolean,
): CallerOf {
  return (call) => {
    const host = peerHost(call.getPeer());
    const nodeId = callerNode(call);
    if (nodeId !== undefined) return { nodeId, principal: nodePrincipal(nodeId), host };
    const token = call.metadata.get(userTokenKey)[0];
    if (token !== undefined) return { principal: userOfToken(key, String(token), users), host };
    if (saslRequired && call.getPath() !== saslAuthenticatePath) {
      throw new BrookError(
        "SASL_AUTHENTICATION_FAILED",
        "this cluster requires clients to authenticate (SASL/SCRAM); give the client a user name and password",
      );
    }
    const name = grpcPeerName(call);
    return name === undefined ? anonymousCaller(host) : { principal: `User:${name}`, host };
  };
}

function userOfToken(key: Buffer, token: string, users: UserDirectory): string {
  const result = verifyUserToken(key, token, Date.now());
  if (!result.ok) throw new BrookError("SASL_AUTHENTICATION_FAILED", `refused ${result.reason}`);
  const username = result.principal.slice("User:".length);
  if (!users.exists(username)) {
    throw new BrookError("SASL_AUTHENTICATION_FAILED", `user ${username} no longer exists`);
  }
  return result.principal;
}

/**
 * Each call is authenticated once, however many handlers ask: a node token may be checked only once (a
 * second check would see its nonce again and call it a replay).
 */
function onePerCall(callerOf: CallerOf): CallerOf {
  const known = new WeakMap<SurfaceCall, Caller>();
  return (call) => {
    let caller = known.get(call);
    if (caller === undefined) {
      caller = callerOf(call);
      known.set(call, caller);
    }
    return caller;
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
