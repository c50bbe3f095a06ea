// The node's access policy: Kafka's ACL authorizer over the ACLs of the
// current metadata image, with the configured super users. An image's ACL
// table never changes once built, so one Authorizer (and the decisions it
// made, remembered) serves until the image brings another table. Until the broker has caught up with the metadata log
// nobody but super users is allowed: an image from before the latest ACLs
// could let through what they deny.

import type { AccessDecision, AccessPolicy } from "@brook/broker";
import type { MetadataImage } from "@brook/metadata";
import type { Caller } from "@brook/protocol";
import {
  type AclTable,
  type AuthorizationResult,
  Authorizer,
  type Operation,
  type ResourceType,
} from "@brook/security";
import type { NodeConfig } from "./config.js";

export interface AclPolicyOptions {
  readonly superUsers: NodeConfig["superUsers"];
  readonly allowEveryoneIfNoAclFound: NodeConfig["allowEveryoneIfNoAclFound"];
  /** The image whose ACLs count; undefined before there is one. */
  image(): MetadataImage | undefined;
  /** Whether the broker has caught up with the metadata log since it started. */
  caughtUp(): boolean;
}

/** Decisions remembered per ACL table (every request asks again for the same topics); past it, forgotten. */
const decisionsMax = 10_000;

const open: AuthorizationResult = { allowed: true, reason: "allowed: the cluster has no ACL" };

export function aclPolicy(options: AclPolicyOptions): AccessPolicy {
  let built:
    | { acls: AclTable; authorizer: Authorizer; decisions: Map<string, AuthorizationResult> }
    | undefined;
  const current = (image: MetadataImage) => {
    if (built?.acls !== image.acls) {
      built = {
        acls: image.acls,
        authorizer: new Authorizer(image.acls, {
          superUsers: options.superUsers,
          allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound,
        }),
        decisions: new Map(),
      };
    }
    return built;
  };
  // With no ACL at all and the default left open, everything is allowed: the data path asks nothing more.
  const openWithoutAcls = options.allowEveryoneIfNoAclFound !== false;
  const decide = (caller: Caller, operation: Operation, resourceType: ResourceType, name: string) => {
    const image = options.image();
    if (image === undefined) return notReady(caller);
    // An open cluster stays open while a restarted broker catches up (its image, if stale, can only lack
    // a first ACL made while it was down: a moment's exposure, against refusing every client each restart).
    if (openWithoutAcls && image.acls.size === 0) return open;
    if (!options.caughtUp()) return notReady(caller);
    const state = current(image);
    const key = `${caller.principal}\n${caller.host}\n${operation}\n${resourceType}\n${name}`;
    let decision = state.decisions.get(key);
    if (decision === undefined) {
      decision = state.authorizer.authorize(session(caller), operation, resourceType, name);
      if (state.decisions.size >= decisionsMax) state.decisions.clear();
      state.decisions.set(key, decision);
    }
    return decision;
  };
  const notReady = (caller: Caller): AccessDecision =>
    options.superUsers.includes(caller.principal)
      ? { allowed: true, reason: `${caller.principal} is a super user` }
      : {
          allowed: false,
          notReady: true,
          reason: "this broker has not caught up with the metadata log (its ACLs) yet",
        };
  return {
    authorize: decide,
    authorizeAny: (caller, operation, resourceType) => {
      const image = options.image();
      if (image === undefined || !options.caughtUp()) return notReady(caller);
      return current(image).authorizer.authorizeByResourceType(session(caller), operation, resourceType);
    },
  };
}

function session(caller: Caller) {
  return { principal: caller.principal, host: caller.host };
}
