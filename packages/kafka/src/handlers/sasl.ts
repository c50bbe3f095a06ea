// SaslHandshake and SaslAuthenticate that reach the dispatcher: on a listener without SASL, or from a
// client that has already authenticated (before that, listener/sasl.ts answers them). Kafka answers both
// in KafkaApis (handleSaslHandshakeRequest, handleSaslAuthenticateRequest) with ILLEGAL_SASL_STATE and
// keeps the connection open: a PLAINTEXT listener has no SaslServerAuthenticator, and with
// connections.max.reauth.ms off (Brook answers a session lifetime of 0) an authenticated client's
// handshake is not a re-authentication. The mechanism list is empty, as in Kafka since 2.x.

import { KafkaErrorCode } from "../error-codes.js";
import type { SaslAuthenticateResponseInput, SaslHandshakeResponseInput } from "../generated/messages.js";

export function saslHandshakeRefused(): SaslHandshakeResponseInput {
  return { errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
}

export function saslAuthenticateRefused(): SaslAuthenticateResponseInput {
  return {
    errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE,
    // Kafka's text, which it also gives on a PLAINTEXT listener where nobody authenticated.
    errorMessage: "SaslAuthenticate request received after successful authentication",
    authBytes: Buffer.alloc(0),
    sessionLifetimeMs: 0n,
  };
}
