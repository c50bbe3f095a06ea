// The decision Kafka's StandardAuthorizer makes (StandardAuthorizerData.authorize / findResult):
//  1. a super user is allowed everything;
//  2. of the bindings whose pattern applies to the resource (its literal name, the wildcard "*",
//     prefixed patterns it starts with) those for the principal or "User:*", from the client's
//     host or "*", and for the operation are found; one DENY among them denies, whatever allows;
//  3. else one ALLOW allows;
//  4. else, if no binding at all applies to the resource (for any principal), the "no ACL" default
//     decides; else the request is denied.
// Operations: "all" matches every operation, in ALLOW and DENY alike; an ALLOW of read, write,
// delete or alter also allows describe, and an ALLOW of alterConfigs also allows describeConfigs
// (a DENY denies only what it names: DENY read does not deny describe).

import { operationCode } from "./codes.js";
import { canonicalHost } from "./host.js";
import {
  type AclBinding,
  AclError,
  type AuthorizationResult,
  type Operation,
  type ResourceType,
  type Session,
  supportedOperations,
  WILDCARD_HOST,
  WILDCARD_PRINCIPAL,
  WILDCARD_RESOURCE,
} from "./model.js";
import { AclTable, type StoredAcl } from "./table.js";
import { parsePrincipal } from "./validate.js";

export interface AuthorizerOptions {
  /** Principals allowed everything, e.g. ["User:admin"] (Kafka's super.users). */
  readonly superUsers: readonly string[];
  /**
   * What to do for a resource no binding applies to (Kafka's allow.everyone.if.no.acl.found). Left
   * undefined, Brook allows it only while the table holds no ACL at all: a new cluster stays open
   * until the first ACL is added, and is closed by default from then on.
   */
  readonly allowEveryoneIfNoAclFound: boolean | undefined;
}

/** One line naming a binding, for reasons and `brook acl list`: "allow User:alice read topic literal:orders host *". */
export function formatAclBinding(binding: AclBinding): string {
  const { permission, principal, operation, resourceType, patternType, resourceName, host } = binding;
  return `${permission} ${principal} ${operation} ${resourceType} ${patternType}:${resourceName} host ${host}`;
}

/** Whether an ALLOW of `granted` allows `requested`: the implications of Kafka's AclOperation. */
function allowImplies(granted: Operation, requested: Operation): boolean {
  if (granted === "all" || granted === requested) return true;
  switch (requested) {
    case "describe":
      return granted === "read" || granted === "write" || granted === "delete" || granted === "alter";
    case "describeConfigs":
      return granted === "alterConfigs";
    default:
      return false;
  }
}

function operationMatches(binding: AclBinding, requested: Operation): boolean {
  if (binding.permission === "allow") return allowImplies(binding.operation, requested);
  return binding.operation === "all" || binding.operation === requested;
}

function principalMatches(binding: AclBinding, principal: string): boolean {
  return binding.principal === principal || binding.principal === WILDCARD_PRINCIPAL;
}

/** Operations as Kafka's "authorized operations" bit field (bit n set for the operation of code n). */
export function operationsBitfield(operations: Iterable<Operation>): number {
  let bits = 0;
  for (const operation of operations) bits |= 1 << operationCode(operation);
  return bits;
}

export class Authorizer {
  /** The live table: bindings added to or removed from it count from the next decision on. */
  readonly table: AclTable;
  readonly #superUsers: ReadonlySet<string>;
  readonly #allowIfNoAcl: boolean | undefined;

  /** Over `acls`: a table (shared, live) or bindings (put in a new table with the default bound). */
  constructor(acls: AclTable | Iterable<AclBinding>, options: AuthorizerOptions) {
    this.table = acls instanceof AclTable ? acls : AclTable.from(acls);
    for (const principal of options.superUsers) {
      try {
        parsePrincipal(principal);
      } catch {
        throw new AclError(
          "INVALID_CONFIG",
          `super user "${principal}" is not a principal (expected Type:name)`,
        );
      }
    }
    this.#superUsers = new Set(options.superUsers);
    this.#allowIfNoAcl = options.allowEveryoneIfNoAclFound;
  }

  isSuperUser(principal: string): boolean {
    return this.#superUsers.has(principal);
  }

  /** May `session` perform `operation` on the resource `resourceName` of `resourceType`? */
  authorize(
    session: Session,
    operation: Operation,
    resourceType: ResourceType,
    resourceName: string,
  ): AuthorizationResult {
    const { principal } = session;
    if (this.isSuperUser(principal))
      return { allowed: true, reason: `allowed: ${principal} is a super user` };
    const request = `${operation} ${resourceType} ${resourceName}`;
    const groups = this.table.groupsFor(resourceType, resourceName);
    let host: string | undefined; // canonical, computed only if some binding names a host
    let allow: AclBinding | undefined;
    for (const group of groups) {
      for (const stored of group.values()) {
        const { binding } = stored;
        if (!principalMatches(binding, principal) || !operationMatches(binding, operation)) continue;
        if (stored.host !== WILDCARD_HOST) {
          host ??= canonicalHost(session.host);
          if (stored.host !== host) continue;
        }
        if (binding.permission === "deny") {
          return {
            allowed: false,
            reason: `denied: ${principal} may not ${request} by [${formatAclBinding(binding)}]`,
          };
        }
        allow ??= binding;
      }
    }
    if (allow !== undefined) {
      return {
        allowed: true,
        reason: `allowed: ${principal} may ${request} by [${formatAclBinding(allow)}]`,
      };
    }
    if (groups.length > 0)
      return { allowed: false, reason: `denied: no ACL allows ${principal} to ${request}` };
    return this.#noAclFound(resourceType, resourceName);
  }

  /**
   * May `session` perform `operation` on at least one resource of `resourceType`? Kafka's
   * Authorizer.authorizeByResourceType (KIP-679), which InitProducerId without a transactional id
   * asks (write on any topic) when IdempotentWrite on the cluster is not allowed. As in Kafka,
   * operations match exactly or by "all" (no implied describe), a DENY of a literal name cancels
   * only an ALLOW of that name, a DENY of a prefix every ALLOW under it, a DENY of "*" everything.
   */
  authorizeByResourceType(
    session: Session,
    operation: Operation,
    resourceType: ResourceType,
  ): AuthorizationResult {
    // Kafka asks about a made-up name first, so that super users (and the no-ACL default) allow
    // whatever a DENY says.
    const probe = this.authorize(session, operation, resourceType, "hardcode");
    if (probe.allowed) return probe;
    const host = canonicalHost(session.host);
    const relevant = (stored: StoredAcl): boolean =>
      principalMatches(stored.binding, session.principal) &&
      (stored.host === WILDCARD_HOST || stored.host === host) &&
      (stored.binding.operation === operation || stored.binding.operation === "all");
    const denyLiteral = new Set<string>();
    const denyPrefix = new Set<string>();
    const allows: AclBinding[] = [];
    let wildcardAllow: AclBinding | undefined;
    for (const stored of this.table.ofType(resourceType)) {
      if (!relevant(stored)) continue;
      const { binding } = stored;
      const wildcard = binding.patternType === "literal" && binding.resourceName === WILDCARD_RESOURCE;
      if (binding.permission === "deny") {
        if (wildcard) return { allowed: false, reason: `denied: [${formatAclBinding(binding)}]` };
        (binding.patternType === "literal" ? denyLiteral : denyPrefix).add(binding.resourceName);
      } else if (wildcard) {
        wildcardAllow ??= binding;
      } else {
        allows.push(binding);
      }
    }
    const what = `${operation} some ${resourceType}`;
    const allow =
      wildcardAllow ??
      allows.find((binding) => {
        if (binding.patternType === "literal" && denyLiteral.has(binding.resourceName)) return false;
        for (let length = 1; length <= binding.resourceName.length; length++) {
          if (denyPrefix.has(binding.resourceName.slice(0, length))) return false;
        }
        return true;
      });
    if (allow !== undefined) {
      return {
        allowed: true,
        reason: `allowed: ${session.principal} may ${what} by [${formatAclBinding(allow)}]`,
      };
    }
    return { allowed: false, reason: `denied: no ACL allows ${session.principal} to ${what}` };
  }

  /**
   * The operations of `resourceType`'s supported set that `session` may perform on the resource, as
   * Kafka reports them with includeAuthorizedOperations (turn into bits with operationsBitfield).
   */
  authorizedOperations(session: Session, resourceType: ResourceType, resourceName: string): Operation[] {
    return supportedOperations(resourceType).filter(
      (operation) => this.authorize(session, operation, resourceType, resourceName).allowed,
    );
  }

  #noAclFound(resourceType: ResourceType, resourceName: string): AuthorizationResult {
    const resource = `${resourceType} ${resourceName}`;
    if (this.#allowIfNoAcl === true) {
      return {
        allowed: true,
        reason: `allowed: no ACL on ${resource} and allowEveryoneIfNoAclFound is true`,
      };
    }
    if (this.#allowIfNoAcl === false) {
      return {
        allowed: false,
        reason: `denied: no ACL on ${resource} and allowEveryoneIfNoAclFound is false`,
      };
    }
    if (this.table.size === 0) {
      return {
        allowed: true,
        reason: "allowed: no ACL exists yet, so the cluster is open until the first is added",
      };
    }
    return {
      allowed: false,
      reason: `denied: no ACL on ${resource}, and once any ACL exists the default is deny`,
    };
  }
}
