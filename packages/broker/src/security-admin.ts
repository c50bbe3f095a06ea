// Users (SCRAM credentials) and ACL bindings, as admin requests. Writes are
// forwarded to the active controller, which decides them and commits them to
// the metadata log (the controller channel answers once this broker's image
// shows them); describes are answered from this broker's image, and never
// show a credential's salt or keys.

import {
  aclBindingFields,
  aclFilterFromFields,
  compareAclBindings,
  type MetadataImage,
} from "@brook/metadata";
import { type BrokerHandlers, BrookError, type Caller, noError, toWireError } from "@brook/protocol";
import { CLUSTER_RESOURCE_NAME } from "@brook/security";
import type * as grpc from "@grpc/grpc-js";
import type { BrokerApi } from "./broker.js";
import type { BrokerContext } from "./context.js";

/**
 * The generated request and response types of a unary Broker RPC. @brook/protocol's wire.ts names
 * the older messages; these are read off the generated service types until it names them too.
 */
type Rpc<M extends keyof BrokerHandlers> =
  BrokerHandlers[M] extends grpc.handleUnaryCall<infer Request, infer Response>
    ? { request: Request; response: Response }
    : never;

export type AlterUserScramCredentialsRequest__Output = Rpc<"AlterUserScramCredentials">["request"];
export type AlterUserScramCredentialsResponse = Rpc<"AlterUserScramCredentials">["response"];
export type DescribeUserScramCredentialsRequest__Output = Rpc<"DescribeUserScramCredentials">["request"];
export type DescribeUserScramCredentialsResponse = Rpc<"DescribeUserScramCredentials">["response"];
export type CreateAclsRequest__Output = Rpc<"CreateAcls">["request"];
export type CreateAclsResponse = Rpc<"CreateAcls">["response"];
export type DescribeAclsRequest__Output = Rpc<"DescribeAcls">["request"];
export type DescribeAclsResponse = Rpc<"DescribeAcls">["response"];
export type DeleteAclsRequest__Output = Rpc<"DeleteAcls">["request"];
export type DeleteAclsResponse = Rpc<"DeleteAcls">["response"];

/** Per user: its error, or none when all its alterations are committed (and in this broker's image). */
export function alterUserScramCredentials(
  ctx: BrokerContext,
  request: AlterUserScramCredentialsRequest__Output,
): Promise<AlterUserScramCredentialsResponse> {
  return ctx.controller.alterUserScramCredentials(request);
}

/**
 * Each user's mechanisms and iteration counts: every user (by name) when the request names none, else
 * the named ones in the request's order, with INVALID_REQUEST for a user without credentials and for a
 * user named twice (as Kafka answers RESOURCE_NOT_FOUND and DUPLICATE_RESOURCE).
 */
export function describeUserScramCredentials(
  ctx: BrokerContext,
  request: DescribeUserScramCredentialsRequest__Output,
): DescribeUserScramCredentialsResponse {
  const image = ctx.metadata.image;
  if (request.users.length === 0) {
    const names = [...image.users.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { results: names.map((user) => describeUser(image, user)) };
  }
  const counts = new Map<string, number>();
  for (const user of request.users) counts.set(user, (counts.get(user) ?? 0) + 1);
  return {
    results: [...counts].map(([user, count]) =>
      count > 1
        ? refusedUser(user, `user '${user}' is named ${count} times in one request`)
        : image.users.has(user)
          ? describeUser(image, user)
          : refusedUser(user, `user '${user}' has no SCRAM credentials`),
    ),
  };
}

function describeUser(image: MetadataImage, user: string) {
  const credentials = [...(image.users.get(user)?.values() ?? [])]
    .sort((a, b) => (a.mechanism < b.mechanism ? -1 : 1))
    .map(({ mechanism, iterations }) => ({ mechanism, iterations }));
  return { user, error: noError, credentials };
}

function refusedUser(user: string, message: string) {
  return { user, error: toWireError(new BrookError("INVALID_REQUEST", message)), credentials: [] };
}

/** Per binding, in the request's order: its error, or none when it exists (it may have already). */
export function createAcls(
  ctx: BrokerContext,
  request: CreateAclsRequest__Output,
): Promise<CreateAclsResponse> {
  return ctx.controller.createAcls(request);
}

/**
 * The bindings the filter selects (every binding without one), in a stable order: by resource, then
 * principal, host, operation, permission. A filter field that is none of its values answers
 * INVALID_REQUEST naming the field.
 */
export function describeAcls(ctx: BrokerContext, request: DescribeAclsRequest__Output): DescribeAclsResponse {
  let filter: ReturnType<typeof aclFilterFromFields>;
  try {
    filter = aclFilterFromFields(request.filter);
  } catch (error) {
    return { error: toWireError(error), bindings: [] };
  }
  const bindings = ctx.metadata.image.acls.describe(filter).sort(compareAclBindings);
  return { error: noError, bindings: bindings.map(aclBindingFields) };
}

/** Per filter, in the request's order: the bindings it matched, all removed, or its error. */
export function deleteAcls(
  ctx: BrokerContext,
  request: DeleteAclsRequest__Output,
): Promise<DeleteAclsResponse> {
  return ctx.controller.deleteAcls(request);
}

/**
 * The users and ACLs calls of Broker.api, each checked first: Alter on the cluster to change them,
 * Describe to read them (as Kafka).
 */
export function securityAdminApi(
  ctx: BrokerContext,
): Pick<
  BrokerApi,
  "alterUserScramCredentials" | "describeUserScramCredentials" | "createAcls" | "describeAcls" | "deleteAcls"
> {
  const require = (caller: Caller, operation: "alter" | "describe") =>
    ctx.access.require(caller, operation, "cluster", CLUSTER_RESOURCE_NAME);
  return {
    alterUserScramCredentials: (request: AlterUserScramCredentialsRequest__Output, caller: Caller) => {
      require(caller, "alter");
      return alterUserScramCredentials(ctx, request);
    },
    describeUserScramCredentials: (request: DescribeUserScramCredentialsRequest__Output, caller: Caller) => {
      require(caller, "describe");
      return describeUserScramCredentials(ctx, request);
    },
    createAcls: (request: CreateAclsRequest__Output, caller: Caller) => {
      require(caller, "alter");
      return createAcls(ctx, request);
    },
    describeAcls: (request: DescribeAclsRequest__Output, caller: Caller) => {
      require(caller, "describe");
      return describeAcls(ctx, request);
    },
    deleteAcls: (request: DeleteAclsRequest__Output, caller: Caller) => {
      require(caller, "alter");
      return deleteAcls(ctx, request);
    },
  };
}
