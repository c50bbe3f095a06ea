// Bindings and filters as Kafka's CreateAcls, DescribeAcls and DeleteAcls carry them: the enums as
// int8 codes, the filter's strings nullable. Decoding refuses, with Kafka's wording, a binding that
// names "any", "match" or a code Brook does not know, and a filter holding an unknown code.

import {
  kafkaName,
  operationCode,
  operationFromCode,
  patternTypeCode,
  patternTypeFromCode,
  permissionCode,
  permissionFromCode,
  resourceTypeCode,
  resourceTypeFromCode,
} from "./codes.js";
import type { AclBindingFilter } from "./filter.js";
import {
  type AclBinding,
  AclError,
  isOperation,
  isPatternType,
  isPermission,
  isResourceType,
} from "./model.js";
import { validateBinding } from "./validate.js";

/** CreateAcls' AclCreation, and the binding DescribeAcls and DeleteAcls return. */
export interface WireAclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  /** Absent before v1 of the ACL APIs, where it is LITERAL (3). */
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

/** DescribeAcls' filter and DeleteAcls' DeleteAclsFilter. */
export interface WireAclFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

function invalid(field: string, kind: Parameters<typeof kafkaName>[0], code: number): AclError {
  return new AclError("INVALID_REQUEST", `Invalid ${field} ${kafkaName(kind, code)}`);
}

/** The binding `wire` describes, validated (throws an AclError, INVALID_REQUEST, naming the field). */
export function bindingFromWire(wire: WireAclBinding): AclBinding {
  const resourceType = resourceTypeFromCode(wire.resourceType);
  if (!isResourceType(resourceType)) throw invalid("resourceType", "resourceType", wire.resourceType);
  const patternType = patternTypeFromCode(wire.patternType);
  if (!isPatternType(patternType)) throw invalid("patternType", "patternType", wire.patternType);
  const operation = operationFromCode(wire.operation);
  if (!isOperation(operation)) throw invalid("operation", "operation", wire.operation);
  const permission = permissionFromCode(wire.permissionType);
  if (!isPermission(permission)) throw invalid("permissionType", "permissionType", wire.permissionType);
  const binding: AclBinding = {
    principal: wire.principal,
    host: wire.host,
    resourceType,
    resourceName: wire.resourceName,
    patternType,
    operation,
    permission,
  };
  validateBinding(binding);
  return binding;
}

export function bindingToWire(binding: AclBinding): WireAclBinding {
  return {
    resourceType: resourceTypeCode(binding.resourceType),
    resourceName: binding.resourceName,
    patternType: patternTypeCode(binding.patternType),
    principal: binding.principal,
    host: binding.host,
    operation: operationCode(binding.operation),
    permissionType: permissionCode(binding.permission),
  };
}

/** The filter `wire` describes; an AclError (INVALID_REQUEST) for an unknown code, as Kafka refuses it. */
export function filterFromWire(wire: WireAclFilter): AclBindingFilter {
  const resourceType = resourceTypeFromCode(wire.resourceType);
  if (resourceType === "unknown") throw invalid("resourceType", "resourceType", wire.resourceType);
  const patternType = patternTypeFromCode(wire.patternType);
  if (patternType === "unknown") throw invalid("patternType", "patternType", wire.patternType);
  const operation = operationFromCode(wire.operation);
  if (operation === "unknown") throw invalid("operation", "operation", wire.operation);
  const permission = permissionFromCode(wire.permissionType);
  if (permission === "unknown") throw invalid("permissionType", "permissionType", wire.permissionType);
  return {
    resourceType,
    resourceName: wire.resourceName,
    patternType,
    principal: wire.principal,
    host: wire.host,
    operation,
    permission,
  };
}

export function filterToWire(filter: AclBindingFilter): WireAclFilter {
  return {
    resourceType: resourceTypeCode(filter.resourceType ?? "any"),
    resourceName: filter.resourceName ?? null,
    patternType: patternTypeCode(filter.patternType ?? "any"),
    principal: filter.principal ?? null,
    host: filter.host ?? null,
    operation: operationCode(filter.operation ?? "any"),
    permissionType: permissionCode(filter.permission ?? "any"),
  };
}
