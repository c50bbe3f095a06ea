// Filters select bindings for DescribeAcls, DeleteAcls and `brook acl list|remove`, with the
// semantics of Kafka's AclBindingFilter (ResourcePatternFilter + AccessControlEntryFilter):
// every field left out, null or "any" matches everything; the others match exactly, except the
// pattern type "match", which selects every binding that applies to the named resource.

import { canonicalHost } from "./host.js";
import {
  type AclBinding,
  AclError,
  isOperation,
  isPatternType,
  isPermission,
  isResourceType,
  type OperationFilter,
  type PatternTypeFilter,
  type PermissionFilter,
  type ResourceTypeFilter,
  unreachable,
  WILDCARD_RESOURCE,
} from "./model.js";

export interface AclBindingFilter {
  readonly resourceType?: ResourceTypeFilter;
  /** null or left out: any name. */
  readonly resourceName?: string | null;
  /**
   * Left out: "any". "any" and a pattern type compare the name exactly (so a literal filter for
   * "orders" does not select the wildcard "*"); "match" selects the literal name, the literal "*"
   * and every prefixed pattern the name starts with: all the bindings that apply to the resource.
   */
  readonly patternType?: PatternTypeFilter;
  /** Compared exactly: "User:*" selects the bindings for "User:*", not every binding. */
  readonly principal?: string | null;
  /** Compared as canonical addresses: "::1" selects a binding for "0:0:0:0:0:0:0:1". */
  readonly host?: string | null;
  readonly operation?: OperationFilter;
  readonly permission?: PermissionFilter;
}

/** Matches every binding. */
export const MATCH_ALL: AclBindingFilter = Object.freeze({});

function isAny(value: string | null | undefined): value is "any" | null | undefined {
  return value === undefined || value === null || value === "any";
}

function namesMatch(filter: AclBindingFilter, binding: AclBinding): boolean {
  const name = filter.resourceName;
  if (name === undefined || name === null) return true;
  const patternType = filter.patternType ?? "any";
  if (patternType !== "match") return name === binding.resourceName;
  switch (binding.patternType) {
    case "literal":
      return name === binding.resourceName || binding.resourceName === WILDCARD_RESOURCE;
    case "prefixed":
      return name.startsWith(binding.resourceName);
    default:
      return unreachable(binding.patternType, "pattern type");
  }
}

function patternMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (!isAny(filter.resourceType) && filter.resourceType !== binding.resourceType) return false;
  const patternType = filter.patternType;
  if (!isAny(patternType) && patternType !== "match" && patternType !== binding.patternType) return false;
  return namesMatch(filter, binding);
}

function entryMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (!isAny(filter.principal) && filter.principal !== binding.principal) return false;
  if (!isAny(filter.host) && canonicalHost(filter.host) !== canonicalHost(binding.host)) return false;
  if (!isAny(filter.operation) && filter.operation !== binding.operation) return false;
  return isAny(filter.permission) || filter.permission === binding.permission;
}

/** Whether `filter` selects `binding`, as Kafka's DescribeAcls and DeleteAcls decide it. */
export function matches(filter: AclBindingFilter, binding: AclBinding): boolean {
  return patternMatches(filter, binding) && entryMatches(filter, binding);
}

/**
 * Throws an AclError (INVALID_REQUEST) for a field that is none of its values, as Kafka refuses a
 * filter with UNKNOWN elements (a filter from JSON or a CLI may hold anything).
 */
export function validateFilter(filter: AclBindingFilter): void {
  const checks: ReadonlyArray<readonly [string, unknown, (value: unknown) => boolean]> = [
    ["resourceType", filter.resourceType, isResourceType],
    ["patternType", filter.patternType, (value) => isPatternType(value) || value === "match"],
    ["operation", filter.operation, isOperation],
    ["permissionType", filter.permission, isPermission],
  ];
  for (const [field, value, valid] of checks) {
    if (value !== undefined && value !== null && value !== "any" && !valid(value)) {
      throw new AclError("INVALID_REQUEST", `Invalid ${field} ${String(value)} in an ACL filter`);
    }
  }
  for (const [field, value] of [
    ["resourceName", filter.resourceName],
    ["principal", filter.principal],
    ["host", filter.host],
  ] as const) {
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw new AclError("INVALID_REQUEST", `Invalid ${field} ${String(value)} in an ACL filter`);
    }
  }
}
