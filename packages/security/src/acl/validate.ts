// What makes a binding storable. Kafka's broker checks the enums (AclControlManager.validateNewAcl),
// the cluster name and an empty name (AclApis.handleCreateAcls); its kafka-acls.sh also checks that
// the operation applies to the resource type (AclCommand.validateOperation), which Brook does for
// every binding since an ACL that can never be asked about is a mistake. Bindings may come from JSON
// or a CLI, so every field is checked at run time even though the type says what it must be.

import { canonicalIp } from "./host.js";
import {
  type AclBinding,
  AclError,
  CLUSTER_RESOURCE_NAME,
  isOperation,
  isPatternType,
  isPermission,
  isResourceType,
  supportedOperations,
  WILDCARD_HOST,
  WILDCARD_RESOURCE,
} from "./model.js";

function invalid(message: string): AclError {
  return new AclError("INVALID_REQUEST", message);
}

export interface Principal {
  readonly type: string;
  readonly name: string;
}

/** "User:alice" → { type: "User", name: "alice" }; the name may hold ":" (Kafka splits at the first). */
export function parsePrincipal(text: string): Principal {
  const colon = typeof text === "string" ? text.indexOf(":") : -1;
  if (colon <= 0 || colon === text.length - 1) {
    throw invalid(`Invalid principal "${String(text)}": expected Type:name, e.g. User:alice or User:*`);
  }
  return { type: text.slice(0, colon), name: text.slice(colon + 1) };
}

function checkEnums(binding: AclBinding): void {
  if (!isResourceType(binding.resourceType)) throw invalid(`Invalid resourceType ${binding.resourceType}`);
  if (!isPatternType(binding.patternType)) throw invalid(`Invalid patternType ${binding.patternType}`);
  if (!isOperation(binding.operation)) throw invalid(`Invalid operation ${binding.operation}`);
  if (!isPermission(binding.permission)) throw invalid(`Invalid permissionType ${binding.permission}`);
}

function checkResource(binding: AclBinding): void {
  const { resourceType, resourceName, patternType } = binding;
  if (typeof resourceName !== "string" || resourceName === "") {
    throw invalid("Invalid empty resource name");
  }
  if (resourceType === "cluster" && (resourceName !== CLUSTER_RESOURCE_NAME || patternType !== "literal")) {
    throw invalid(
      `The only valid name for the CLUSTER resource is ${CLUSTER_RESOURCE_NAME} (a literal pattern)`,
    );
  }
  // A prefixed "*" would match only names that start with a "*": the literal "*" was meant.
  if (patternType === "prefixed" && resourceName === WILDCARD_RESOURCE) {
    throw invalid(`Invalid prefixed resource name "*": use the literal "*" for every ${resourceType}`);
  }
}

function checkHost(host: string): void {
  if (host === WILDCARD_HOST) return;
  if (typeof host !== "string" || canonicalIp(host) === undefined) {
    throw invalid(
      `Invalid host "${String(host)}": expected "*" or an IP address (hostnames are not supported)`,
    );
  }
}

function checkOperation(binding: AclBinding): void {
  const supported = supportedOperations(binding.resourceType);
  if (binding.operation !== "all" && !supported.includes(binding.operation)) {
    throw invalid(
      `ResourceType ${binding.resourceType} only supports operations all, ${supported.join(", ")}; not ${binding.operation}`,
    );
  }
}

/** Throws an AclError (INVALID_REQUEST) whose message names what is wrong; returns if the binding is valid. */
export function validateBinding(binding: AclBinding): void {
  checkEnums(binding);
  checkResource(binding);
  parsePrincipal(binding.principal);
  checkHost(binding.host);
  checkOperation(binding);
}
