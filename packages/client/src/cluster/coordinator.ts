// Calls to a coordinator: a consumer group's (the broker that leads the group's partition of
// __consumer_offsets) or a transactional id's (the leader of its partition of __transaction_state).
// FindCoordinator (any broker answers) says which one; the answer is cached per id and forgotten when the
// coordinator moves (NOT_COORDINATOR, or it cannot be reached), and the call is retried with the client's
// retry policy (CONCURRENT_TRANSACTIONS and COORDINATOR_LOAD_IN_PROGRESS too: the table marks them
// retriable).

import {
  BrookError,
  type ErrorCode,
  type FindCoordinatorRequest,
  fromWireError,
  type WireError__Output,
} from "@brook/protocol";
import { withRetry } from "../retry/retry-policy.js";
import type { CallOptions, Cluster } from "./cluster.js";
import type { BrokerRpc, BrokerRpcs } from "./unary.js";

/** Errors after which the group's coordinator must be looked up again. */
const coordinatorMoved: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "NOT_COORDINATOR",
  "COORDINATOR_NOT_AVAILABLE",
  "BROKER_NOT_AVAILABLE",
  "REQUEST_TIMED_OUT",
]);

export interface Coordinator {
  nodeId: number;
  address: string;
}

/** What a coordinator is looked up by: a group id, or a transactional id. */
export type CoordinatorKind = "group" | "transaction";

function lookupRequest(kind: CoordinatorKind, id: string): FindCoordinatorRequest {
  switch (kind) {
    case "group":
      return { groupId: id };
    case "transaction":
      return { transactionalId: id };
  }
}

export class GroupCoordinators {
  private readonly known = new Map<string, Coordinator>();

  constructor(
    private readonly cluster: Cluster,
    private readonly kind: CoordinatorKind = "group",
  ) {}

  /** The id's coordinator, from the cache or asked of any broker (retriable errors are retried). */
  async find(groupId: string): Promise<Coordinator> {
    const cached = this.known.get(groupId);
    if (cached !== undefined) return cached;
    const response = await this.cluster.callAny("findCoordinator", lookupRequest(this.kind, groupId));
    const error = fromWireError(response.error);
    if (error !== undefined) throw error;
    const coordinator = { nodeId: response.nodeId, address: `${response.host}:${response.port}` };
    this.known.set(groupId, coordinator);
    return coordinator;
  }

  forget(groupId: string): void {
    this.known.delete(groupId);
  }

  /**
   * One call to the group's coordinator. `errorOf` picks the response's top-level error (responses carry
   * errors in their body); a retriable one is retried, after a new lookup when the coordinator moved.
   * With `retry: false` the first failure is thrown (a heartbeat loop has its own pacing).
   */
  async call<M extends BrokerRpc>(
    groupId: string,
    method: M,
    request: BrokerRpcs[M][0],
    errorOf: (response: BrokerRpcs[M][1]) => WireError__Output | null | undefined,
    options: CallOptions & { retry?: boolean } = {},
  ): Promise<BrokerRpcs[M][1]> {
    const { retry, random } = this.cluster.options;
    const policy = options.retry === false ? { ...retry, retries: 0 } : retry;
    return withRetry(policy, { random, signal: options.signal }, async () => {
      try {
        const coordinator = await this.find(groupId);
        const response = await this.cluster.call(coordinator.address, method, request, options);
        const error = fromWireError(errorOf(response));
        if (error !== undefined) throw error;
        return response;
      } catch (error) {
        if (error instanceof BrookError && coordinatorMoved.has(error.code)) {
          this.forget(groupId);
          this.cluster.metadata.markStale();
        }
        throw error;
      }
    });
  }
}
