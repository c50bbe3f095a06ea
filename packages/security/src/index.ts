// @brook/security: who is calling and what they may do. Pure decisions (no
// sockets, no files): node identity tokens, SCRAM, the ACL authorizer.
export {};
