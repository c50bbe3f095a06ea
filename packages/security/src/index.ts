// Public API of @brook/security: who is calling and what they may do. Pure
// decisions over node:crypto (no sockets, no files): node identity tokens,
// SCRAM, the ACL authorizer.

export * from "./acl.js";
export {
  clusterSecretKey,
  clusterSecretLengthMin,
  type NodeTokenResult,
  NodeTokenVerifier,
  type NodeTokenVerifierOptions,
  newClusterSecret,
  nodeTokenReplayCacheMax,
  nodeTokenWindowMs,
  operatorNodeId,
  signNodeToken,
} from "./node-identity.js";
export * from "./scram.js";
export {
  signUserToken,
  type UserTokenResult,
  userTokenLifetimeMs,
  verifyUserToken,
} from "./user-token.js";
