// The ACL model, as Kafka has it (KIP-11 and KIP-290): a binding says that a
// principal, from a host, is allowed or denied an operation on the resources
// that a resource pattern names. The names here are Brook's (camelCase); the
// numeric codes Kafka's wire protocol carries live in codes.ts.

export type ResourceType = "topic" | "group" | "cluster" | "transactionalId";
export type ResourceTypeFilter = ResourceType | "any";

/** "literal": the name itself ("*" is the wildcard: every name). "prefixed": every name starting with it. */
export type PatternType = "literal" | "prefixed";
/** In a filter, "any" matches every pattern type by exact name, and "match" every pattern that applies to the name. */
export type PatternTypeFilter = PatternType | "any" | "match";

export type Operation =
  | "all"
  | "read"
  | "write"
  | "create"
  | "delete"
  | "alter"
  | "describe"
  | "clusterAction"
  | "describeConfigs"
  | "alterConfigs"
  | "idempotentWrite";
export type OperationFilter = Operation | "any";

export type Permission = "allow" | "deny";
export type PermissionFilter = Permission | "any";

export const RESOURCE_TYPES: readonly ResourceType[] = ["topic", "group", "cluster", "transactionalId"];
export const PATTERN_TYPES: readonly PatternType[] = ["literal", "prefixed"];
export const OPERATIONS: readonly Operation[] = [
  "all",
  "read",
  "write",
  "create",
  "delete",
  "alter",
  "describe",
  "clusterAction",
  "describeConfigs",
  "alterConfigs",
  "idempotentWrite",
];
export const PERMISSIONS: readonly Permission[] = ["allow", "deny"];

// Guards for values that arrive untyped (JSON, a CLI, a decoded request), and to narrow a filter value.
export function isResourceType(value: unknown): value is ResourceType {
  return (RESOURCE_TYPES as readonly unknown[]).includes(value);
}
export function isPatternType(value: unknown): value is PatternType {
  return (PATTERN_TYPES as readonly unknown[]).includes(value);
}
export function isOperation(value: unknown): value is Operation {
  return (OPERATIONS as readonly unknown[]).includes(value);
}
export function isPermission(value: unknown): value is Permission {
  return (PERMISSIONS as readonly unknown[]).includes(value);
}

/** The one name of the cluster resource: Kafka's authorizer is only ever asked about this name. */
export const CLUSTER_RESOURCE_NAME = "kafka-cluster";
/** A literal resource name matching every name of its resource type. */
export const WILDCARD_RESOURCE = "*";
/** The principal matching every principal (Kafka has no wildcard for other principal types). */
export const WILDCARD_PRINCIPAL = "User:*";
/** The host matching every host. */
export const WILDCARD_HOST = "*";

export interface AclBinding {
  /** "Type:name", e.g. "User:alice"; "User:*" matches every principal. */
  readonly principal: string;
  /** "*" or an IP address (no hostnames: Kafka compares the client's address). */
  readonly host: string;
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly patternType: PatternType;
  readonly operation: Operation;
  readonly permission: Permission;
}

/** Who asks: the authenticated principal ("User:alice") and the client's IP address. */
export interface Session {
  readonly principal: string;
  readonly host: string;
}

export interface AuthorizationResult {
  readonly allowed: boolean;
  /** One line for logs: which rule decided, e.g. "denied: no ACL allows User:bob to write topic orders". */
  readonly reason: string;
}

/**
 * Codes are Brook error codes (@brook/protocol's ErrorCode) so a caller can rethrow them as a BrookError:
 * INVALID_REQUEST for a malformed binding or filter (Kafka's INVALID_REQUEST), INVALID_CONFIG for a bad
 * authorizer setting, RESOURCE_LIMIT_REACHED when the ACL table is full (Kafka's POLICY_VIOLATION).
 */
export type AclErrorCode = "INVALID_REQUEST" | "INVALID_CONFIG" | "RESOURCE_LIMIT_REACHED";

export class AclError extends Error {
  readonly code: AclErrorCode;

  constructor(code: AclErrorCode, message: string) {
    super(message);
    this.name = "AclError";
    this.code = code;
  }
}

/** For the `default` of a switch that must name every variant: a new variant fails to compile here. */
export function unreachable(value: never, what: string): never {
  throw new Error(`unexpected ${what}: ${String(value)}`);
}

/**
 * The operations an ACL on a resource type can meaningfully name, as Kafka's AclEntry.supportedOperations
 * lists them (group configs, KIP-848, included). `all` is valid on every type besides these. This is also
 * the set Kafka reports as "authorized operations" in Metadata, DescribeGroups and DescribeCluster.
 */
export function supportedOperations(resourceType: ResourceType): readonly Operation[] {
  switch (resourceType) {
    case "topic":
      return ["read", "write", "create", "describe", "delete", "alter", "describeConfigs", "alterConfigs"];
    case "group":
      return ["read", "describe", "delete", "describeConfigs", "alterConfigs"];
    case "cluster":
      return [
        "create",
        "clusterAction",
        "describeConfigs",
        "alterConfigs",
        "idempotentWrite",
        "alter",
        "describe",
      ];
    case "transactionalId":
      return ["describe", "write"];
    default:
      return unreachable(resourceType, "resource type");
  }
}
