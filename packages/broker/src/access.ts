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

/**
 * A policy's answer. `notReady`: the policy cannot decide yet (the broker has not caught up with the
 * metadata log since it started, so it may lack the latest ACLs): the request is refused with a
 * retriable error, so that clients try again (or elsewhere) rather than fail as if denied.
 */
export interface AccessDecision extends AuthorizationResult {
  readonly notReady?: boolean;
}

export interface AccessPolicy {
  authorize(caller: Caller, operation: Operation, resourceType: ResourceType, name: string): AccessDecision;
  /** Whether the caller may do `operation` on some resource of the type (Kafka's authorizeByResourceType, KIP-679). */
  authorizeAny(caller: Caller, operation: Operation, resourceType: ResourceType): AccessDecision;
}

/** Why each refused topic of a request was refused, by name. */
export type Refusals = ReadonlyMap<string, BrookError>;

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
    return this.refusal(caller, operation, resourceType, name) === undefined;
  }

  /**
   * Why the caller may not do `operation` on the resource: the resource type's authorization error, or a
   * retriable one while the policy is not ready; undefined when it may.
   */
  refusal(
    caller: Caller,
    operation: Operation,
    resourceType: ResourceType,
    name: string,
  ): BrookError | undefined {
    if (caller.nodeId !== undefined) return undefined; // the cluster's own nodes
    const result = this.policy.authorize(caller, operation, resourceType, name);
    if (result.allowed) return undefined;
    if (result.notReady) return notReady(resourceType, result.reason);
    this.logDenial(caller, `${operation} ${resourceType} ${name}`, result.reason);
    return new BrookError(
      deniedCode(resourceType),
      `${caller.principal} may not ${operation} ${resourceType} ${JSON.stringify(name)}`,
    );
  }

  /** Throws the refusal unless the caller may. */
  require(caller: Caller, operation: Operation, resourceType: ResourceType, name: string): void {
    const refusal = this.refusal(caller, operation, resourceType, name);
    if (refusal !== undefined) throw refusal;
  }

  /** The topics among `names` the caller may not do `operation` on, each with its refusal. */
  refusedTopics(caller: Caller, operation: Operation, names: Iterable<string>): Refusals {
    if (caller.nodeId !== undefined) return noTopics; // the cluster's own nodes
    let refused: Map<string, BrookError> | undefined;
    for (const name of new Set(names)) {
      const refusal = this.refusal(caller, operation, "topic", name);
      if (refusal === undefined) continue;
      refused ??= new Map();
      refused.set(name, refusal);
    }
    return refused ?? noTopics;
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

const noTopics: Refusals = new Map();

/**
 * The retriable error a request gets while the policy cannot decide: a topic's as from a broker that does
 * not lead it yet (clients refresh metadata and retry), anything else's as from a coordinator loading.
 */
function notReady(resourceType: ResourceType, reason: string): BrookError {
  const code = resourceType === "topic" ? "NOT_LEADER" : "COORDINATOR_LOAD_IN_PROGRESS";
  return new BrookError(code, `${reason}; retry shortly`);
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
