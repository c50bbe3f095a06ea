// Public API of @brook/security: who is calling and what they may do. Pure
// decisions over node:crypto (no sockets, no files): node identity tokens,
// SCRAM, the ACL authorizer.

export {
  clusterSecretKey,
  clusterSecretLengthMin,
  type NodeTokenResult,
  NodeTokenVerifier,
  type NodeTokenVerifierOptions,
  newClusterSecret,
  nodeTokenReplayCacheMax,
  nodeTokenWindowMs,
  signNodeToken,
} from "./node-identity.js";
export * from "./acl.js";
export * from "./scram.js";
