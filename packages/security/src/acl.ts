// The ACL authorizer: Kafka's ACL model and StandardAuthorizer decisions, pure (no I/O). It decides
// every request of the Kafka listener and the gRPC API, and backs CreateAcls / DescribeAcls /
// DeleteAcls and `brook acl add|remove|list`. The pieces, in reading order:
//   acl/model.ts       the types, Kafka's supported operations per resource type, AclError
//   acl/codes.ts       Kafka's wire codes both ways, and names as a person types them
//   acl/host.ts        canonical IP addresses, so hosts compare as addresses
//   acl/validate.ts    what makes a binding storable
//   acl/filter.ts      DescribeAcls / DeleteAcls filters
//   acl/table.ts       the bounded, indexed table of bindings
//   acl/authorizer.ts  the decision
//   acl/wire.ts        bindings and filters as the ACL APIs carry them

export {
  Authorizer,
  type AuthorizerOptions,
  formatAclBinding,
  operationsBitfield,
} from "./acl/authorizer.js";
export {
  type AclEnumKind,
  kafkaName,
  operationCode,
  operationFromCode,
  parseOperation,
  parsePatternType,
  parsePermission,
  parseResourceType,
  patternTypeCode,
  patternTypeFromCode,
  permissionCode,
  permissionFromCode,
  resourceTypeCode,
  resourceTypeFromCode,
  UNKNOWN_CODE,
} from "./acl/codes.js";
export { type AclBindingFilter, MATCH_ALL, matches, validateFilter } from "./acl/filter.js";
export { canonicalHost, canonicalIp } from "./acl/host.js";
export {
  type AclBinding,
  AclError,
  type AclErrorCode,
  type AuthorizationResult,
  CLUSTER_RESOURCE_NAME,
  isOperation,
  isPatternType,
  isPermission,
  isResourceType,
  OPERATIONS,
  type Operation,
  type OperationFilter,
  PATTERN_TYPES,
  type PatternType,
  type PatternTypeFilter,
  PERMISSIONS,
  type Permission,
  type PermissionFilter,
  RESOURCE_TYPES,
  type ResourceType,
  type ResourceTypeFilter,
  type Session,
  supportedOperations,
  WILDCARD_HOST,
  WILDCARD_PRINCIPAL,
  WILDCARD_RESOURCE,
} from "./acl/model.js";
export { AclTable, type AclTableOptions, DEFAULT_MAX_ACL_BINDINGS } from "./acl/table.js";
export { type Principal, parsePrincipal, validateBinding } from "./acl/validate.js";
export {
  bindingFromWire,
  bindingToWire,
  filterFromWire,
  filterToWire,
  type WireAclBinding,
  type WireAclFilter,
} from "./acl/wire.js";
