// Node identity on gRPC: the calling side adds a node token (signed with the
// cluster secret, @brook/security) to every call it makes as a node; the
// serving side reads it back and learns which node, if any, is calling. The
// token is bound to the method path, so one taken from a Fetch cannot open a
// Raft stream, and to a nonce, so it is good for one call.

import { NodeTokenVerifier, type NodeTokenVerifierOptions, signNodeToken } from "@brook/security";
import * as grpc from "@grpc/grpc-js";
import { BrookError } from "./errors.js";

/** The metadata key a node token travels under. */
export const nodeTokenKey = "brook-node-token";

/** What a node needs to call others as itself. */
export interface NodeIdentity {
  readonly nodeId: number;
  /** The cluster secret's bytes (clusterSecretKey in @brook/security). */
  readonly key: Buffer;
  readonly now?: () => number;
}

/** A client interceptor that signs each call as `identity`'s node. */
export function nodeTokenInterceptor(identity: NodeIdentity): grpc.Interceptor {
  const now = identity.now ?? Date.now;
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(
          nodeTokenKey,
          signNodeToken(identity.key, identity.nodeId, options.method_definition.path, now()),
        );
        next(metadata, listener);
      },
    });
}

/** What the serving side sees of a call: its metadata and its method path. */
export interface IncomingCall {
  readonly metadata: grpc.Metadata;
  getPath(): string;
}

/** The serving side: which node a call comes from, by its token. One per node (it owns the replay cache). */
export class NodeAuthenticator {
  private readonly verifier: NodeTokenVerifier;

  constructor(key: Buffer, options: NodeTokenVerifierOptions = {}) {
    this.verifier = new NodeTokenVerifier(key, options);
  }

  /** The calling node's id; undefined when the call carries no token. A bad token is refused outright. */
  callerNode(call: IncomingCall): number | undefined {
    const token = call.metadata.get(nodeTokenKey)[0];
    if (token === undefined) return undefined;
    const result = this.verifier.verify(String(token), call.getPath());
    if (!result.ok) throw new BrookError("CLUSTER_AUTHORIZATION_FAILED", `refused ${result.reason}`);
    return result.nodeId;
  }
}
