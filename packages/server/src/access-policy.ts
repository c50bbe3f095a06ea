// The node's access policy: Kafka's ACL authorizer over the ACLs of the
// current metadata image, with the configured super users. An image's ACL
// table never changes once built, so one Authorizer serves until the image
// brings another table. Until the broker has caught up with the metadata log
// nobody but super users is allowed: an image from before the latest ACLs
// could let through what they deny.

import type { AccessPolicy } from "@brook/broker";
import type { MetadataImage } from "@brook/metadata";
import type { Caller } from "@brook/protocol";
import { type AclTable, type AuthorizationResult, Authorizer } from "@brook/security";
import type { NodeConfig } from "./config.js";

export interface AclPolicyOptions {
  readonly superUsers: NodeConfig["superUsers"];
  readonly allowEveryoneIfNoAclFound: NodeConfig["allowEveryoneIfNoAclFound"];
  /** The image whose ACLs count; undefined before there is one. */
  image(): MetadataImage | undefined;
  /** Whether the broker has caught up with the metadata log since it started. */
  caughtUp(): boolean;
}

export function aclPolicy(options: AclPolicyOptions): AccessPolicy {
  let built: { acls: AclTable; authorizer: Authorizer } | undefined;
  const authorizer = (): Authorizer | undefined => {
    const image = options.image();
    if (image === undefined || !options.caughtUp()) return undefined;
    if (built?.acls !== image.acls) {
      built = {
        acls: image.acls,
        authorizer: new Authorizer(image.acls, {
          superUsers: options.superUsers,
          allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound,
        }),
      };
    }
    return built.authorizer;
  };
  const notReady = (caller: Caller): AuthorizationResult =>
    options.superUsers.includes(caller.principal)
      ? { allowed: true, reason: `${caller.principal} is a super user` }
      : { allowed: false, reason: "this broker has not caught up with the metadata log (its ACLs) yet" };
  return {
    authorize: (caller, operation, resourceType, name) =>
      authorizer()?.authorize(session(caller), operation, resourceType, name) ?? notReady(caller),
    authorizeAny: (caller, operation, resourceType) =>
      authorizer()?.authorizeByResourceType(session(caller), operation, resourceType) ?? notReady(caller),
  };
}

function session(caller: Caller) {
  return { principal: caller.principal, host: caller.host };
}
