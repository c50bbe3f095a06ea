// Transactions as an operator sees them (`brook transactions list|describe`): every broker lists the
// transactional ids it coordinates; a transactional id's coordinator describes it (state, producer id and
// epoch, timeout, partitions and groups, when the open transaction began). Finds a hung transaction.

import { BrookError, fromWireError, type ListedTransaction__Output } from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import { GroupCoordinators } from "../cluster/coordinator.js";
import { brokerAddress } from "../cluster/metadata-cache.js";
import { withRetry } from "../retry/retry-policy.js";
import { namedError } from "./named-error.js";

/** `brook transactions list --json`: fields may be added, never renamed. */
export interface TransactionOverview {
  transactionalId: string;
  producerId: number;
  state: string;
  /** The broker coordinating it. */
  coordinator: number;
}

/** `brook transactions describe --json`: fields may be added, never renamed. */
export interface TransactionDescription {
  transactionalId: string;
  state: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  /** When the open transaction began (ms since the epoch); null when none is open. */
  startTimeMs: number | null;
  partitions: { topic: string; partitions: number[] }[];
  groups: string[];
  coordinator: number;
}

export class TransactionAdmin {
  private readonly coordinators: GroupCoordinators;

  constructor(private readonly cluster: Cluster) {
    this.coordinators = new GroupCoordinators(cluster, "transaction");
  }

  /**
   * Every broker lists the transactional ids it coordinates (in `states`, or all); merged, one entry per
   * id (an id two brokers list while its coordinator moves appears once), sorted by id.
   */
  async listTransactions(states: readonly string[] = []): Promise<TransactionOverview[]> {
    const { brokers } = await this.retrying(() => this.cluster.callAny("metadata", { topics: [] }));
    const answers = await Promise.all(
      brokers.map((broker) =>
        this.retrying(async () => {
          const response = await this.cluster.call(brokerAddress(broker), "listTransactions", {
            states: [...states],
          });
          const error = fromWireError(response.error);
          if (error !== undefined) throw namedError(error, `ListTransactions on broker ${broker.id}`);
          return response.transactions;
        }),
      ),
    );
    return mergeListed(answers.flat());
  }

  /** The transactional id as its coordinator has it; TRANSACTIONAL_ID_NOT_FOUND if it knows none. */
  async describeTransaction(transactionalId: string): Promise<TransactionDescription> {
    const response = await this.coordinators
      .call(
        transactionalId,
        "describeTransactions",
        { transactionalIds: [transactionalId] },
        (answer) => answer.transactions.find((each) => each.transactionalId === transactionalId)?.error,
      )
      .catch((error: unknown) => {
        throw error instanceof BrookError
          ? namedError(error, `transactional id "${transactionalId}"`)
          : error;
      });
    const found = response.transactions.find((each) => each.transactionalId === transactionalId);
    if (found === undefined) {
      throw new BrookError(
        "UNKNOWN_SERVER_ERROR",
        `the coordinator did not answer for transactional id "${transactionalId}"`,
      );
    }
    return {
      transactionalId,
      state: found.state,
      producerId: found.producerId,
      producerEpoch: found.producerEpoch,
      timeoutMs: found.timeoutMs,
      startTimeMs: found.startTimeMs < 0 ? null : found.startTimeMs,
      partitions: found.partitions.map(({ topic, partitions }) => ({ topic, partitions: [...partitions] })),
      groups: [...found.groups],
      coordinator: found.coordinator,
    };
  }

  private retrying<T>(task: () => Promise<T>): Promise<T> {
    const { retry, random } = this.cluster.options;
    return withRetry(retry, { random, onRetry: () => this.cluster.metadata.markStale() }, task);
  }
}

function mergeListed(listed: ListedTransaction__Output[]): TransactionOverview[] {
  const byId = new Map<string, TransactionOverview>();
  for (const { transactionalId, producerId, state, coordinator } of listed) {
    if (!byId.has(transactionalId))
      byId.set(transactionalId, { transactionalId, producerId, state, coordinator });
  }
  return [...byId.values()].sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1));
}
