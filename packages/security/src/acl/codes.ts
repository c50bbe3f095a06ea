// The numeric codes of Kafka's wire protocol (CreateAcls, DescribeAcls, DeleteAcls) for each ACL
// enum, both ways, and the parsing of the names a person types (`brook acl add --operation Read`).
// Codes as in Kafka's ResourceType.java, PatternType.java, AclOperation.java, AclPermissionType.java.
// Each table is a Record over its type, so a new variant cannot be added without its code.

import type { OperationFilter, PatternTypeFilter, PermissionFilter, ResourceTypeFilter } from "./model.js";
import { AclError } from "./model.js";

/** Kafka's code for a value it does not know (and for a filter, "unknown" can never match). */
export const UNKNOWN_CODE = 0;

const RESOURCE_TYPE_CODES: Readonly<Record<ResourceTypeFilter, number>> = {
  any: 1,
  topic: 2,
  group: 3,
  cluster: 4,
  transactionalId: 5,
};

const PATTERN_TYPE_CODES: Readonly<Record<PatternTypeFilter, number>> = {
  any: 1,
  match: 2,
  literal: 3,
  prefixed: 4,
};

const OPERATION_CODES: Readonly<Record<OperationFilter, number>> = {
  any: 1,
  all: 2,
  read: 3,
  write: 4,
  create: 5,
  delete: 6,
  alter: 7,
  describe: 8,
  clusterAction: 9,
  describeConfigs: 10,
  alterConfigs: 11,
  idempotentWrite: 12,
};

const PERMISSION_CODES: Readonly<Record<PermissionFilter, number>> = {
  any: 1,
  deny: 2,
  allow: 3,
};

// Kafka's enum names by code, for error messages. They include the codes Brook decodes as "unknown"
// because it has no such thing (DELEGATION_TOKEN 6, USER 7; CREATE_TOKENS 13, DESCRIBE_TOKENS 14,
// TWO_PHASE_COMMIT 15), so a client is told what it sent rather than "UNKNOWN".
const KAFKA_NAMES = {
  resourceType: [
    "UNKNOWN",
    "ANY",
    "TOPIC",
    "GROUP",
    "CLUSTER",
    "TRANSACTIONAL_ID",
    "DELEGATION_TOKEN",
    "USER",
  ],
  patternType: ["UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"],
  operation: [
    "UNKNOWN",
    "ANY",
    "ALL",
    "READ",
    "WRITE",
    "CREATE",
    "DELETE",
    "ALTER",
    "DESCRIBE",
    "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",
    "IDEMPOTENT_WRITE",
    "CREATE_TOKENS",
    "DESCRIBE_TOKENS",
    "TWO_PHASE_COMMIT",
  ],
  permissionType: ["UNKNOWN", "ANY", "DENY", "ALLOW"],
} as const satisfies Record<string, readonly string[]>;

export type AclEnumKind = keyof typeof KAFKA_NAMES;

/** Kafka's name for a code of one of the ACL enums ("TRANSACTIONAL_ID"), "UNKNOWN" for a code it lacks. */
export function kafkaName(kind: AclEnumKind, code: number): string {
  const names: readonly string[] = KAFKA_NAMES[kind];
  return names[code] ?? "UNKNOWN";
}

function invert<T extends string>(codes: Readonly<Record<T, number>>): ReadonlyMap<number, T> {
  return new Map(Object.entries<number>(codes).map(([name, code]) => [code, name as T]));
}

const RESOURCE_TYPE_BY_CODE = invert(RESOURCE_TYPE_CODES);
const PATTERN_TYPE_BY_CODE = invert(PATTERN_TYPE_CODES);
const OPERATION_BY_CODE = invert(OPERATION_CODES);
const PERMISSION_BY_CODE = invert(PERMISSION_CODES);

export function resourceTypeCode(value: ResourceTypeFilter): number {
  return RESOURCE_TYPE_CODES[value];
}
export function patternTypeCode(value: PatternTypeFilter): number {
  return PATTERN_TYPE_CODES[value];
}
export function operationCode(value: OperationFilter): number {
  return OPERATION_CODES[value];
}
export function permissionCode(value: PermissionFilter): number {
  return PERMISSION_CODES[value];
}

// From a code: "unknown" (Kafka's UNKNOWN) for a code Brook does not know, as Kafka's fromCode does.
export function resourceTypeFromCode(code: number): ResourceTypeFilter | "unknown" {
  return RESOURCE_TYPE_BY_CODE.get(code) ?? "unknown";
}
export function patternTypeFromCode(code: number): PatternTypeFilter | "unknown" {
  return PATTERN_TYPE_BY_CODE.get(code) ?? "unknown";
}
export function operationFromCode(code: number): OperationFilter | "unknown" {
  return OPERATION_BY_CODE.get(code) ?? "unknown";
}
export function permissionFromCode(code: number): PermissionFilter | "unknown" {
  return PERMISSION_BY_CODE.get(code) ?? "unknown";
}

// Typed names: case, "_", "-" and spaces are ignored, so "DescribeConfigs", "DESCRIBE_CONFIGS" and
// "describe-configs" are one operation (Kafka's kafka-acls.sh takes the first two forms).
function normalize(text: string): string {
  return text.replace(/[\s_-]/g, "").toLowerCase();
}

function parser<T extends string>(kind: string, codes: Readonly<Record<T, number>>): (text: string) => T {
  const byName = new Map(Object.keys(codes).map((name) => [normalize(name), name as T]));
  return (text) => {
    const value = byName.get(normalize(text));
    if (value === undefined) {
      throw new AclError(
        "INVALID_REQUEST",
        `unknown ${kind} "${text}"; expected one of ${Object.keys(codes).join(", ")}`,
      );
    }
    return value;
  };
}

/** "Topic", "transactional-id", "any", ...; narrow with isResourceType where "any" is not allowed. */
export const parseResourceType: (text: string) => ResourceTypeFilter = parser(
  "resource type",
  RESOURCE_TYPE_CODES,
);
export const parsePatternType: (text: string) => PatternTypeFilter = parser(
  "pattern type",
  PATTERN_TYPE_CODES,
);
export const parseOperation: (text: string) => OperationFilter = parser("operation", OPERATION_CODES);
export const parsePermission: (text: string) => PermissionFilter = parser("permission", PERMISSION_CODES);
