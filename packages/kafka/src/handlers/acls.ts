// DescribeAcls, CreateAcls and DeleteAcls (kafka-acls.sh, kafkajs's admin) over the broker's ACL admin
// calls, which authorize the caller on the cluster (Describe for DescribeAcls, Alter for the writes)
// and forward the writes to the active controller. The wire's int8 codes become @brook/security's names
// here and the broker's names become codes on the way back. An unknown code (or one Brook has no such
// thing for: the USER resource type of v3) refuses its entry with INVALID_REQUEST, as Kafka does, and
// the rest of the request goes on. Versions before 1 carry no pattern type: a v0 binding is literal, and
// a v0 filter selects literal patterns only, as Kafka's v0 did. A caller the broker refuses gets
// CLUSTER_AUTHORIZATION_FAILED in every entry; the connection stays open.

import type { BrokerApi } from "@brook/broker";
import { aclBindingFields, aclBindingFromFields, aclBrookError } from "@brook/metadata";
import {
  type AclBinding,
  type AclBindingFilter,
  bindingFromWire,
  bindingToWire,
  CLUSTER_RESOURCE_NAME,
  filterFromWire,
  patternTypeCode,
  type WireAclFilter,
} from "@brook/security";
import { KafkaErrorCode } from "../error-codes.js";
import { brookErrorOf, kafkaErrorOf } from "../errors.js";
import type {
  CreateAclsRequest,
  CreateAclsRequestCreation,
  CreateAclsResponseInput,
  CreateAclsResponseResultInput,
  DeleteAclsRequest,
  DeleteAclsResponseFilterResultInput,
  DeleteAclsResponseInput,
  DescribeAclsRequest,
  DescribeAclsResponseAclInput,
  DescribeAclsResponseInput,
  DescribeAclsResponseResourceInput,
} from "../generated/messages.js";
import { type RequestContext, requireAccess } from "./context.js";

/** A binding in the broker's answers (its generated type leaves every field optional). */
interface AclBindingInfo {
  principal?: string;
  host?: string;
  resourceType?: string;
  resourceName?: string;
  patternType?: string;
  operation?: string;
  permission?: string;
}
type AclBindingFilterInfo = Parameters<BrokerApi["deleteAcls"]>[0]["filters"][number];
type WireError = { code?: string; message?: string } | null | undefined;

/** LITERAL: the pattern type of every binding and filter of a version without one (v0). */
const LITERAL = patternTypeCode("literal");

const succeeded = { errorCode: KafkaErrorCode.NONE, errorMessage: null } as const;

/** An entry the broker's answer has no result for: a bug on the broker's side, not the client's. */
const unanswered = {
  errorCode: KafkaErrorCode.UNKNOWN_SERVER_ERROR,
  errorMessage: "the broker gave no result for this entry",
} as const;

function outcome(error: WireError): { errorCode: number; errorMessage: string | null } {
  const typed = brookErrorOf(error);
  return typed === undefined ? succeeded : kafkaErrorOf(typed);
}

/** The binding a creation describes, or the BrookError (INVALID_REQUEST, in Kafka's words) refusing it. */
function bindingOf(creation: CreateAclsRequestCreation, version: number): AclBinding | Error {
  try {
    return bindingFromWire({
      resourceType: creation.resourceType,
      resourceName: creation.resourceName,
      patternType: version === 0 ? LITERAL : creation.resourcePatternType,
      principal: creation.principal,
      host: creation.host,
      operation: creation.operation,
      permissionType: creation.permissionType,
    });
  } catch (error) {
    return aclBrookError(error);
  }
}

/** The filter the wire describes (v0: literal patterns only), or the BrookError refusing it. */
function filterOf(wire: WireAclFilter, version: number): AclBindingFilter | Error {
  try {
    return filterFromWire(version === 0 ? { ...wire, patternType: LITERAL } : wire);
  } catch (error) {
    return aclBrookError(error);
  }
}

/**
 * Whether the filter can select nothing: an empty (not null) name, principal or host, which no binding
 * has. Such a filter is answered here: the broker's filters take an empty field to mean "any".
 */
function selectsNothing(filter: AclBindingFilter): boolean {
  return filter.resourceName === "" || filter.principal === "" || filter.host === "";
}

/** A filter as the broker's messages carry it: an empty field, and "any", match anything. */
function filterInfo(filter: AclBindingFilter): AclBindingFilterInfo {
  return {
    principal: filter.principal ?? "",
    host: filter.host ?? "",
    resourceType: filter.resourceType ?? "any",
    resourceName: filter.resourceName ?? "",
    patternType: filter.patternType ?? "any",
    operation: filter.operation ?? "any",
    permission: filter.permission ?? "any",
  };
}

/** A binding from the broker's answer with Kafka's codes. */
function wireBinding(info: AclBindingInfo) {
  return bindingToWire(
    aclBindingFromFields({
      principal: info.principal ?? "",
      host: info.host ?? "",
      resourceType: info.resourceType ?? "",
      resourceName: info.resourceName ?? "",
      patternType: info.patternType ?? "",
      operation: info.operation ?? "",
      permission: info.permission ?? "",
    }),
  );
}

export function describeAcls(request: DescribeAclsRequest, ctx: RequestContext): DescribeAclsResponseInput {
  const failed = (error: unknown): DescribeAclsResponseInput => ({
    throttleTimeMs: 0,
    ...kafkaErrorOf(error),
    resources: [],
  });
  try {
    const filter = filterOf(
      {
        resourceType: request.resourceTypeFilter,
        resourceName: request.resourceNameFilter,
        patternType: request.patternTypeFilter,
        principal: request.principalFilter,
        host: request.hostFilter,
        operation: request.operation,
        permissionType: request.permissionType,
      },
      ctx.apiVersion,
    );
    if (filter instanceof Error || selectsNothing(filter)) {
      // Answered here, but only to a caller the broker would have answered: authorization comes first.
      requireAccess(ctx, "describe", "cluster", CLUSTER_RESOURCE_NAME);
      return filter instanceof Error ? failed(filter) : { throttleTimeMs: 0, ...succeeded, resources: [] };
    }
    const answer = ctx.broker.describeAcls({ filter: filterInfo(filter) }, ctx.caller);
    const error = brookErrorOf(answer.error);
    if (error !== undefined) return failed(error);
    return { throttleTimeMs: 0, ...succeeded, resources: byResource(answer.bindings ?? []) };
  } catch (error) {
    return failed(error);
  }
}

/** Kafka's answer groups the bindings by resource pattern, each with its principals, hosts, operations. */
function byResource(bindings: readonly AclBindingInfo[]): DescribeAclsResponseResourceInput[] {
  const resources = new Map<
    string,
    DescribeAclsResponseResourceInput & { acls: DescribeAclsResponseAclInput[] }
  >();
  for (const info of bindings) {
    const binding = wireBinding(info);
    const key = `${binding.resourceType}/${binding.patternType}/${binding.resourceName}`;
    let resource = resources.get(key);
    if (resource === undefined) {
      resource = {
        resourceType: binding.resourceType,
        resourceName: binding.resourceName,
        patternType: binding.patternType,
        acls: [],
      };
      resources.set(key, resource);
    }
    resource.acls.push({
      principal: binding.principal,
      host: binding.host,
      operation: binding.operation,
      permissionType: binding.permissionType,
    });
  }
  return [...resources.values()];
}

export async function createAcls(
  request: CreateAclsRequest,
  ctx: RequestContext,
): Promise<CreateAclsResponseInput> {
  const parsed = request.creations.map((creation) => bindingOf(creation, ctx.apiVersion));
  const wanted = parsed.filter((entry): entry is AclBinding => !(entry instanceof Error));
  let answered: readonly { error?: WireError }[];
  try {
    if (wanted.length === 0) {
      requireAccess(ctx, "alter", "cluster", CLUSTER_RESOURCE_NAME);
      answered = [];
    } else {
      const answer = await ctx.broker.createAcls({ bindings: wanted.map(aclBindingFields) }, ctx.caller);
      answered = answer.results ?? [];
    }
  } catch (error) {
    const failure = kafkaErrorOf(error);
    return { throttleTimeMs: 0, results: request.creations.map(() => failure) };
  }
  let next = 0;
  return {
    throttleTimeMs: 0,
    results: parsed.map((entry): CreateAclsResponseResultInput => {
      if (entry instanceof Error) return kafkaErrorOf(entry);
      const result = answered[next++];
      return result === undefined ? unanswered : outcome(result.error);
    }),
  };
}

export async function deleteAcls(
  request: DeleteAclsRequest,
  ctx: RequestContext,
): Promise<DeleteAclsResponseInput> {
  const parsed = request.filters.map((filter) =>
    filterOf(
      {
        resourceType: filter.resourceTypeFilter,
        resourceName: filter.resourceNameFilter,
        patternType: filter.patternTypeFilter,
        principal: filter.principalFilter,
        host: filter.hostFilter,
        operation: filter.operation,
        permissionType: filter.permissionType,
      },
      ctx.apiVersion,
    ),
  );
  const forwarded = (entry: AclBindingFilter | Error): entry is AclBindingFilter =>
    !(entry instanceof Error) && !selectsNothing(entry);
  const wanted = parsed.filter(forwarded);
  let answered: readonly { error?: WireError; bindings?: readonly AclBindingInfo[] }[];
  try {
    if (wanted.length === 0) {
      requireAccess(ctx, "alter", "cluster", CLUSTER_RESOURCE_NAME);
      answered = [];
    } else {
      const answer = await ctx.broker.deleteAcls({ filters: wanted.map(filterInfo) }, ctx.caller);
      answered = answer.results ?? [];
    }
  } catch (error) {
    const failure = kafkaErrorOf(error);
    return {
      throttleTimeMs: 0,
      filterResults: request.filters.map(() => ({ ...failure, matchingAcls: [] })),
    };
  }
  let next = 0;
  return {
    throttleTimeMs: 0,
    filterResults: parsed.map((entry): DeleteAclsResponseFilterResultInput => {
      if (entry instanceof Error) return { ...kafkaErrorOf(entry), matchingAcls: [] };
      if (!forwarded(entry)) return { ...succeeded, matchingAcls: [] };
      const result = answered[next++];
      if (result === undefined) return { ...unanswered, matchingAcls: [] };
      const failure = outcome(result.error);
      if (failure.errorCode !== KafkaErrorCode.NONE) return { ...failure, matchingAcls: [] };
      try {
        return {
          ...succeeded,
          // Each binding the filter selected was deleted: Kafka's per-binding error is always none here.
          matchingAcls: (result.bindings ?? []).map((info) => ({ ...succeeded, ...wireBinding(info) })),
        };
      } catch (error) {
        return { ...kafkaErrorOf(error), matchingAcls: [] };
      }
    }),
  };
}
