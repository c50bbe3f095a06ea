// The transaction coordinator's RPCs: argument checks and wire shapes around
// the TransactionCoordinator (I/O) and transaction.ts (rules). Failures a
// producer acts on travel in the response's error fields, as the data-path
// RPCs' do. InitProducerId with a transactional id is answered in
// producer-ids.ts; FindCoordinator in find-coordinator.ts.

import {
  type AddOffsetsToTxnRequest__Output,
  type AddOffsetsToTxnResponse,
  type AddPartitionsToTxnRequest__Output,
  type AddPartitionsToTxnResponse,
  asBrookError,
  BrookError,
  type DescribeTransactionsRequest__Output,
  type DescribeTransactionsResponse,
  type EndTxnRequest__Output,
  type EndTxnResponse,
  type GroupTopicPartitions,
  type ListTransactionsRequest__Output,
  type ListTransactionsResponse,
  noError,
  type TransactionDescription,
  type TxnTopicResult,
  toWireError,
} from "@brook/protocol";
import type { BrokerContext } from "../context.js";
import { validateGroupId } from "../groups/coordinator.js";
import { isInternalTopic } from "../groups/records.js";
import type { TransactionCoordinator } from "./coordinator.js";
import { type TxnPartition, transactionStates } from "./transaction.js";

/** Transactional ids one DescribeTransactions may name: each is a lookup and an answer entry. */
const describedIdsMax = 1_000;

export class TransactionHandlers {
  constructor(
    private readonly ctx: Pick<BrokerContext, "metadata">,
    private readonly coordinator: TransactionCoordinator,
  ) {}

  /**
   * Every partition asked for gets a result. The request is all or nothing, as Kafka's: when one
   * partition is refused (unknown, internal), none is added and the others answer
   * OPERATION_NOT_ATTEMPTED, naming the refusal (Kafka clients abort the transaction on it).
   */
  async addPartitionsToTxn(request: AddPartitionsToTxnRequest__Output): Promise<AddPartitionsToTxnResponse> {
    const partitions = request.topics.flatMap(({ topic, partitions }) =>
      partitions.map((partition) => ({ topic, partition })),
    );
    if (partitions.length === 0) return { topics: [] }; // nothing to add: no transaction starts
    const refused = new Map(partitions.map((tp) => [tp, this.checkPartition(tp)]));
    const firstRefusal = [...refused.values()].find((error) => error !== undefined);
    if (firstRefusal !== undefined) {
      const notAttempted = new BrookError(
        "OPERATION_NOT_ATTEMPTED",
        `not added: another partition of the request was refused (${firstRefusal.message})`,
      );
      return { topics: results(partitions, (tp) => refused.get(tp) ?? notAttempted) };
    }
    try {
      await this.coordinator.addPartitions(request.transactionalId, producerOf(request), partitions);
      return { topics: results(partitions, () => undefined) };
    } catch (error) {
      const typed = asBrookError(error);
      return { topics: results(partitions, () => typed) };
    }
  }

  async addOffsetsToTxn(request: AddOffsetsToTxnRequest__Output): Promise<AddOffsetsToTxnResponse> {
    try {
      validateGroupId(request.groupId);
      await this.coordinator.addOffsets(request.transactionalId, producerOf(request), request.groupId);
      return { error: noError };
    } catch (error) {
      return { error: toWireError(asBrookError(error)) };
    }
  }

  async endTxn(request: EndTxnRequest__Output): Promise<EndTxnResponse> {
    try {
      await this.coordinator.endTxn(request.transactionalId, producerOf(request), request.committed);
      return { error: noError };
    } catch (error) {
      return { error: toWireError(asBrookError(error)) };
    }
  }

  /** The transactions this broker coordinates; an admin asks every broker. */
  async listTransactions(request: ListTransactionsRequest__Output): Promise<ListTransactionsResponse> {
    const unknown = request.states.find((state) => !(transactionStates as readonly string[]).includes(state));
    if (unknown !== undefined) {
      return {
        error: toWireError(
          new BrookError(
            "INVALID_REQUEST",
            `unknown state '${unknown}'; states are ${transactionStates.join(", ")}`,
          ),
        ),
        transactions: [],
      };
    }
    return {
      error: noError,
      transactions: this.coordinator.list(request.states).map(({ transaction, coordinator }) => ({
        transactionalId: transaction.transactionalId,
        producerId: transaction.producerId,
        state: transaction.state,
        coordinator,
      })),
    };
  }

  /** One entry per id; an id coordinated elsewhere answers NOT_COORDINATOR in its entry. */
  async describeTransactions(
    request: DescribeTransactionsRequest__Output,
  ): Promise<DescribeTransactionsResponse> {
    const ids = request.transactionalIds.slice(0, describedIdsMax);
    const transactions = await Promise.all(
      ids.map(async (transactionalId): Promise<TransactionDescription> => {
        try {
          const { transaction, coordinator } = await this.coordinator.describe(transactionalId);
          return {
            transactionalId,
            error: noError,
            state: transaction.state,
            producerId: transaction.producerId,
            producerEpoch: transaction.producerEpoch,
            timeoutMs: transaction.timeoutMs,
            startTimeMs: transaction.startTimeMs,
            partitions: byTopic(transaction.partitions),
            groups: [...transaction.groups],
            coordinator,
          };
        } catch (error) {
          return {
            transactionalId,
            error: toWireError(asBrookError(error)),
            state: "",
            producerId: -1,
            producerEpoch: -1,
            timeoutMs: 0,
            startTimeMs: -1,
            partitions: [],
            groups: [],
            coordinator: -1,
          };
        }
      }),
    );
    const dropped = request.transactionalIds.length - ids.length;
    if (dropped > 0) {
      for (const transactionalId of request.transactionalIds.slice(describedIdsMax)) {
        transactions.push({
          transactionalId,
          error: toWireError(
            new BrookError("INVALID_REQUEST", `at most ${describedIdsMax} transactional ids per request`),
          ),
        });
      }
    }
    return { transactions };
  }

  /** Why a partition cannot join a transaction, if it cannot: it must exist, and producers may write it. */
  private checkPartition(tp: TxnPartition): BrookError | undefined {
    if (isInternalTopic(tp.topic)) {
      return new BrookError(
        "INVALID_TOPIC",
        `${tp.topic} is internal; offsets join a transaction with AddOffsetsToTxn`,
      );
    }
    const topic = this.ctx.metadata.image.topic(tp.topic);
    if (topic === undefined) return new BrookError("UNKNOWN_TOPIC", `topic '${tp.topic}' does not exist`);
    if (tp.partition < 0 || tp.partition >= topic.partitions.length) {
      return new BrookError(
        "UNKNOWN_PARTITION",
        `topic '${tp.topic}' has partitions 0-${topic.partitions.length - 1}, not ${tp.partition}`,
      );
    }
    return undefined;
  }
}

function producerOf(request: { producerId: number; producerEpoch: number }): {
  producerId: number;
  producerEpoch: number;
} {
  return { producerId: Number(request.producerId), producerEpoch: request.producerEpoch };
}

/** One result per partition, grouped by topic in the order asked. */
function results(
  partitions: readonly TxnPartition[],
  errorOf: (tp: TxnPartition) => BrookError | undefined,
): TxnTopicResult[] {
  const byName = new Map<string, TxnTopicResult>();
  for (const tp of partitions) {
    const topic = byName.get(tp.topic) ?? { topic: tp.topic, partitions: [] };
    const error = errorOf(tp);
    topic.partitions?.push({
      partition: tp.partition,
      error: error === undefined ? noError : toWireError(error),
    });
    byName.set(tp.topic, topic);
  }
  return [...byName.values()];
}

function byTopic(partitions: readonly TxnPartition[]): GroupTopicPartitions[] {
  const grouped = new Map<string, number[]>();
  for (const { topic, partition } of partitions)
    grouped.set(topic, [...(grouped.get(topic) ?? []), partition]);
  return [...grouped].map(([topic, list]) => ({ topic, partitions: list }));
}
