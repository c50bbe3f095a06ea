// Users (SCRAM credentials) and ACLs behind Admin (docs/security.md). A user's password never leaves
// this process: createUser picks a salt and computes SCRAM's SaltedPassword = Hi(password, salt, i)
// (PBKDF2 with the mechanism's HMAC) here, and sends only those, as Kafka's admin client does for
// AlterUserScramCredentials. Calls go to whichever broker answers (it forwards writes to the active
// controller) and are retried on retriable errors; a refused entry rejects with its typed BrookError.

import { pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { type BrokerClient, BrookError, fromWireError } from "@brook/protocol";
import {
  type AclBinding,
  type AclBindingFilter,
  CLUSTER_RESOURCE_NAME,
  isOperation,
  isPatternType,
  isPermission,
  isResourceType,
  isScramMechanism,
  type Operation,
  type PatternType,
  type Permission,
  type ResourceType,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MECHANISMS,
  SCRAM_MIN_ITERATIONS,
  type ScramMechanism,
} from "@brook/security";
import type * as grpc from "@grpc/grpc-js";
import type { Cluster } from "../cluster/cluster.js";
import type { BrokerRpc } from "../cluster/unary.js";
import { withRetry } from "../retry/retry-policy.js";
import { namedError } from "./named-error.js";

export interface CreateUserOptions {
  /** Default: both, SCRAM-SHA-256 and SCRAM-SHA-512. */
  mechanisms?: ScramMechanism[];
  /** PBKDF2 iterations, 4096..16384 (Kafka's bounds). Default 8192. */
  iterations?: number;
}

/** A user's credential as the cluster describes it: never its salt or keys. */
export interface UserCredentialDescription {
  mechanism: ScramMechanism;
  iterations: number;
}

/** `brook user list --json`: fields may be added, never renamed. */
export interface UserDescription {
  name: string;
  /** By mechanism. */
  credentials: UserCredentialDescription[];
}

/**
 * A binding to create. `host` defaults to "*" (every host), `patternType` to "literal" and `permission` to
 * "allow"; a cluster binding's `resourceName` defaults to "kafka-cluster", its only name.
 */
export interface NewAclBinding {
  principal: string;
  host?: string;
  resourceType: ResourceType;
  resourceName?: string;
  patternType?: PatternType;
  operation: Operation;
  permission?: Permission;
}

/** What one DeleteAcls filter matched; every binding in it was removed. */
export interface DeletedAcls {
  filter: AclBindingFilter;
  bindings: AclBinding[];
}

export const userDefaults = {
  mechanisms: SCRAM_MECHANISMS,
  iterations: 8192,
  /** Random bytes of each new credential's salt. */
  saltBytes: 32,
} as const;

const digests: Readonly<Record<ScramMechanism, { hash: string; bytes: number }>> = {
  "SCRAM-SHA-256": { hash: "sha256", bytes: 32 },
  "SCRAM-SHA-512": { hash: "sha512", bytes: 64 },
};

const pbkdf2Async = promisify(pbkdf2);

/** The request and response types of a Broker RPC, read off the generated client stub. */
type Rpc<M extends keyof BrokerClient> = BrokerClient[M] extends (
  request: infer Request,
  callback: grpc.requestCallback<infer Response>,
) => unknown
  ? [Request, Response]
  : never;
/** proto/broker.proto's AclBindingInfo (every field set) and AclBindingFilterInfo, as sent and received. */
type WireBinding = Required<NonNullable<Rpc<"createAcls">[0]["bindings"]>[number]>;
type WireFilter = NonNullable<Rpc<"deleteAcls">[0]["filters"]>[number];
type ReceivedBinding = Rpc<"describeAcls">[1]["bindings"][number];
type SecurityRpc =
  | "alterUserScramCredentials"
  | "describeUserScramCredentials"
  | "createAcls"
  | "describeAcls"
  | "deleteAcls";

export class SecurityAdmin {
  constructor(private readonly cluster: Cluster) {}

  async createUser(name: string, password: string, options: CreateUserOptions = {}): Promise<void> {
    const mechanisms = [...new Set(options.mechanisms ?? userDefaults.mechanisms)];
    const iterations = options.iterations ?? userDefaults.iterations;
    checkCredentialOptions(mechanisms, iterations);
    if (/\p{Cs}/u.test(password)) {
      throw new BrookError(
        "INVALID_REQUEST",
        "the password holds a lone UTF-16 surrogate, which has no UTF-8 form",
      );
    }
    const upsertions = await Promise.all(
      mechanisms.map(async (mechanism) => {
        const { hash, bytes } = digests[mechanism];
        const salt = randomBytes(userDefaults.saltBytes);
        const saltedPassword = await pbkdf2Async(
          Buffer.from(password, "utf8"),
          salt,
          iterations,
          bytes,
          hash,
        );
        return { name, mechanism, iterations, salt, saltedPassword };
      }),
    );
    await this.alter(name, { upsertions, deletions: [] });
  }

  /** The user's credentials for `mechanisms`, or all of them (then the user is gone). */
  async deleteUser(name: string, mechanisms?: ScramMechanism[]): Promise<void> {
    const deleted =
      mechanisms ?? (await this.describeUsers([name]))[0].credentials.map(({ mechanism }) => mechanism);
    await this.alter(name, { upsertions: [], deletions: deleted.map((mechanism) => ({ name, mechanism })) });
  }

  /** Every user by name when `names` is omitted or empty; rejects with INVALID_REQUEST for a named user the cluster lacks. */
  async describeUsers(names: string[] = []): Promise<UserDescription[]> {
    const response = await this.callAny("describeUserScramCredentials", { users: names });
    return response.results.map(({ user, error, credentials }) => {
      const brookError = fromWireError(error);
      if (brookError !== undefined) throw brookError; // it names the user
      return {
        name: user,
        credentials: credentials.map(({ mechanism, iterations }) => ({
          mechanism: checked(mechanism, isScramMechanism, "SCRAM mechanism"),
          iterations,
        })),
      };
    });
  }

  /** Creates the bindings (one that exists already is no error); rejects with the first refused binding's error. */
  async createAcls(bindings: NewAclBinding[]): Promise<void> {
    const wire = bindings.map(bindingToWire);
    const response = await this.callAny("createAcls", { bindings: wire });
    response.results.forEach(({ error }, index) => {
      const brookError = fromWireError(error);
      if (brookError !== undefined) throw namedError(brookError, `ACL ${describeBinding(wire[index])}`);
    });
  }

  /** The bindings `filter` selects (every binding without one), sorted by resource, then principal, host, operation. */
  async describeAcls(filter: AclBindingFilter = {}): Promise<AclBinding[]> {
    const response = await this.callAny("describeAcls", { filter: filterToWire(filter) });
    const brookError = fromWireError(response.error);
    if (brookError !== undefined) throw namedError(brookError, "ACL filter");
    return response.bindings.map(bindingFromWire);
  }

  /** Removes every binding each filter selects; resolves with what each matched, in the filters' order. */
  async deleteAcls(filters: AclBindingFilter[]): Promise<DeletedAcls[]> {
    const response = await this.callAny("deleteAcls", { filters: filters.map(filterToWire) });
    return response.results.map(({ error, bindings }, index) => {
      const brookError = fromWireError(error);
      if (brookError !== undefined) throw namedError(brookError, `ACL filter ${index + 1}`);
      return { filter: filters[index], bindings: bindings.map(bindingFromWire) };
    });
  }

  private async alter(name: string, request: Rpc<"alterUserScramCredentials">[0]): Promise<void> {
    const response = await this.callAny("alterUserScramCredentials", request);
    for (const { user, error } of response.results) {
      const brookError = fromWireError(error);
      if (brookError !== undefined) throw namedError(brookError, `user "${user}"`);
    }
    if (!response.results.some(({ user }) => user === name)) {
      throw new BrookError("UNKNOWN_SERVER_ERROR", `the cluster did not answer for user "${name}"`);
    }
  }

  /**
   * Admin's callAny for these RPCs. Cluster.callAny is typed for the RPCs cluster/unary.ts lists, and
   * calls any unary stub by its name: these are stubs of the same generated BrokerClient.
   */
  private callAny<M extends SecurityRpc>(method: M, request: Rpc<M>[0]): Promise<Rpc<M>[1]> {
    const { retry, random } = this.cluster.options;
    return withRetry(
      retry,
      { random, onRetry: () => this.cluster.metadata.markStale() },
      () =>
        this.cluster.callAny(method as unknown as BrokerRpc, request as never) as unknown as Promise<
          Rpc<M>[1]
        >,
    );
  }
}

function checkCredentialOptions(mechanisms: readonly string[], iterations: number): void {
  if (mechanisms.length === 0) throw new BrookError("INVALID_REQUEST", "give at least one SCRAM mechanism");
  for (const mechanism of mechanisms) {
    if (!isScramMechanism(mechanism)) {
      throw new BrookError(
        "INVALID_REQUEST",
        `unknown SCRAM mechanism '${mechanism}': use ${SCRAM_MECHANISMS.join(" or ")}`,
      );
    }
  }
  // Checked before PBKDF2 runs: a huge count would keep this process busy before the cluster refuses it.
  if (
    !Number.isSafeInteger(iterations) ||
    iterations < SCRAM_MIN_ITERATIONS ||
    iterations > SCRAM_MAX_ITERATIONS
  ) {
    throw new BrookError(
      "INVALID_REQUEST",
      `iterations must be a whole number from ${SCRAM_MIN_ITERATIONS} to ${SCRAM_MAX_ITERATIONS} (Kafka's bounds), not ${iterations}`,
    );
  }
}

function bindingToWire(binding: NewAclBinding): WireBinding {
  return {
    principal: binding.principal,
    host: binding.host ?? "*",
    resourceType: binding.resourceType,
    resourceName: binding.resourceName ?? (binding.resourceType === "cluster" ? CLUSTER_RESOURCE_NAME : ""),
    patternType: binding.patternType ?? "literal",
    operation: binding.operation,
    permission: binding.permission ?? "allow",
  };
}

/** "allow User:alice read topic literal:orders host *", as formatAclBinding writes a binding. */
function describeBinding(binding: WireBinding): string {
  const { permission, principal, operation, resourceType, patternType, resourceName, host } = binding;
  return `${permission} ${principal} ${operation} ${resourceType} ${patternType}:${resourceName} host ${host}`;
}

/** A filter on the wire: an empty field (or "any") matches anything. */
function filterToWire(filter: AclBindingFilter): WireFilter {
  return {
    principal: filter.principal ?? "",
    host: filter.host ?? "",
    resourceType: filter.resourceType ?? "",
    resourceName: filter.resourceName ?? "",
    patternType: filter.patternType ?? "",
    operation: filter.operation ?? "",
    permission: filter.permission ?? "",
  };
}

function bindingFromWire(wire: ReceivedBinding): AclBinding {
  return {
    principal: wire.principal,
    host: wire.host,
    resourceType: checked(wire.resourceType, isResourceType, "resource type"),
    resourceName: wire.resourceName,
    patternType: checked(wire.patternType, isPatternType, "pattern type"),
    operation: checked(wire.operation, isOperation, "operation"),
    permission: checked(wire.permission, isPermission, "permission"),
  };
}

/** A value the broker sent, as its type; one this client does not know is the server's error. */
function checked<T extends string>(value: string, is: (value: unknown) => value is T, kind: string): T {
  if (!is(value))
    throw new BrookError("UNKNOWN_SERVER_ERROR", `the broker sent an unknown ${kind} '${value}'`);
  return value;
}
