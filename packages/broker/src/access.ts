// Authorization on the broker: whether a caller may do an operation on a
// resource, asked by every request of both front ends (gRPC, the Kafka
// listener) before it touches anything. The decision is the ACL authorizer's
// (@brook/security, Kafka's rules); the policy that feeds it the ACLs of the
// current metadata image is given by the node. A denial is answered with the
// resource's *_AUTHORIZATION_FAILED and logged, once per principal,
// operation and resource in a minute.

import { BrookError, type Caller, type ErrorCode, unreachable } from "@brook/protocol";
import type { AuthorizationResult, Operation, ResourceType } from "@brook/security";
import type { Logger } from "pino";

export interface AccessPolicy {
  authorize(
    caller: Caller,
    operation: Operation,
    resourceType: ResourceType,
    name: string,
  ): AuthorizationResult;
  /** Whether the caller may do `operation` on some resource of the type (Kafka's authorizeByResourceType, KIP-679). */
  authorizeAny(caller: Caller, operation: Operation, resourceType: ResourceType): AuthorizationResult;
}

/** No ACLs in force: everyone may do everything (a broker built without a policy, as in tests). */
export const allowEverything: AccessPolicy = {
  authorize: () => ({ allowed: true, reason: "no authorization configured" }),
  authorizeAny: () => ({ allowed: true, reason: "no authorization configured" }),
};

/** Denials remembered for rate-limited logging, at most; past it the memory starts over. */
const denialKeysMax = 10_000;
const denialLogIntervalMs = 60_000;

/** Checks requests against the policy; owns the denial log. */
export class AccessControl {
  private readonly lastLoggedMs = new Map<string, number>();

  constructor(
    private readonly policy: AccessPolicy,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  allowed(caller: Caller, operation: Operation, resourceType: ResourceType, name: string): boolean {
    if (caller.nodeId !== undefined) return true; // the cluster's own nodes
    const result = this.policy.authorize(caller, operation, resourceType, name);
    if (!result.allowed) this.logDenial(caller, `${operation} ${resourceType} ${name}`, result.reason);
    return result.allowed;
  }

  /** Throws the resource type's authorization error unless the caller may. */
  require(caller: Caller, operation: Operation, resourceType: ResourceType, name: string): void {
    if (this.allowed(caller, operation, resourceType, name)) return;
    throw new BrookError(
      deniedCode(resourceType),
      `${caller.principal} may not ${operation} ${resourceType} ${JSON.stringify(name)}`,
    );
  }

  /** The topics among `names` the caller may not do `operation` on. */
  deniedTopics(caller: Caller, operation: Operation, names: Iterable<string>): ReadonlySet<string> {
    if (caller.nodeId !== undefined) return noTopics; // the cluster's own nodes
    const denied = new Set<string>();
    for (const name of new Set(names)) if (!this.allowed(caller, operation, "topic", name)) denied.add(name);
    return denied;
  }

  /** Whether the caller may do `operation` on any resource of the type (no denial is logged). */
  allowedAny(caller: Caller, operation: Operation, resourceType: ResourceType): boolean {
    if (caller.nodeId !== undefined) return true;
    return this.policy.authorizeAny(caller, operation, resourceType).allowed;
  }

  private logDenial(caller: Caller, what: string, reason: string): void {
    const key = `${caller.principal}\n${what}`;
    const now = this.now();
    const last = this.lastLoggedMs.get(key);
    if (last !== undefined && now - last < denialLogIntervalMs) return;
    if (this.lastLoggedMs.size >= denialKeysMax) this.lastLoggedMs.clear();
    this.lastLoggedMs.set(key, now);
    this.logger.warn(
      { principal: caller.principal, host: caller.host, request: what, reason },
      "request denied",
    );
  }
}

const noTopics: ReadonlySet<string> = new Set();

/** The error for a topic operation that was denied. */
export function deniedTopic(operation: Operation, topic: string): BrookError {
  return new BrookError(
    "TOPIC_AUTHORIZATION_FAILED",
    `not authorized to ${operation} topic ${JSON.stringify(topic)}`,
  );
}

/** Kafka's error for a denied operation on each resource type. */
export function deniedCode(resourceType: ResourceType): ErrorCode {
  switch (resourceType) {
    case "topic":
      return "TOPIC_AUTHORIZATION_FAILED";
    case "group":
      return "GROUP_AUTHORIZATION_FAILED";
    case "cluster":
      return "CLUSTER_AUTHORIZATION_FAILED";
    case "transactionalId":
      return "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";
    default:
      return unreachable(resourceType, "resource type");
  }
}
