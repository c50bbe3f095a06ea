// The transactional half of Kafka's TransactionManager: the calls to the transactional id's coordinator
// (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn) and to the group coordinator
// (TxnOffsetCommit), the partitions and groups in the open transaction, and the producer's state
// (transaction-state.ts decides what is allowed). The Sender asks it which partitions may be sent to; the
// Producer and Transaction drive commit and abort. See docs/transactions.md.

import {
  type AddPartitionsToTxnResponse__Output,
  asBrookError,
  assert,
  BrookError,
  fromWireError,
  type TxnOffsetCommitResponse__Output,
  unreachable,
  type WireError__Output,
} from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import { GroupCoordinators } from "../cluster/coordinator.js";
import type { BrokerRpc, BrokerRpcs } from "../cluster/unary.js";
import type { PartitionQueue, ProducerBatch } from "./accumulator.js";
import type { Idempotence, ProducerIdentity } from "./idempotence.js";
import {
  isActive,
  isFatal,
  refusal,
  type TransactionAction,
  type TransactionState,
  transition,
} from "./transaction-state.js";

export interface TransactionConfig {
  transactionalId: string;
  transactionTimeoutMs: number;
}

/** Offsets to commit in a transaction, KafkaJS's shape with number offsets (each the next to consume). */
export interface TransactionOffsets {
  consumerGroupId: string;
  topics: { topic: string; partitions: { partition: number; offset: number }[] }[];
}

/** The consumer's group membership, checked by the group coordinator as OffsetCommit checks it. */
export interface GroupMemberIdentity {
  memberId: string;
  memberEpoch: number;
}

/** How the Producer flushes and drops its batches; the manager owns none of them. */
export interface TransactionBatches {
  /** Sends everything buffered and waits until every batch is acknowledged or failed. */
  flush(): Promise<void>;
  /** Fails every batch not yet sent with `error`, and waits for the ones in flight. */
  dropUnsent(error: BrookError): Promise<void>;
}

export class TransactionManager {
  private state: TransactionState = "Uninitialized";
  /** What put the producer in AbortableError or Fatal. */
  private failure: BrookError | undefined;
  private identity: ProducerIdentity | undefined;
  /** Counts transactions begun: answers and Transaction objects of an earlier one are stale. */
  private generation = 0;
  /** Partitions the coordinator has in the open transaction. */
  private readonly added = new Set<PartitionQueue>();
  /** An AddPartitionsToTxn or AddOffsetsToTxn was sent in this transaction, answered or not. */
  private coordinatorTouched = false;
  /** The AddPartitionsToTxn call in flight, if any; commit and abort wait for it. */
  private adding: Promise<void> | undefined;
  /**
   * sendOffsets() calls in flight (an application may not await one before commit()): commit and abort
   * wait for them, so neither AddOffsetsToTxn nor TxnOffsetCommit lands after EndTxn.
   */
  private readonly sendingOffsets = new Set<Promise<void>>();
  /** A numbered batch failed: its partition's sequence is uncertain, so the next transaction bumps the epoch. */
  private sequencesUncertain = false;
  private readonly coordinators: GroupCoordinators;
  private readonly groupCoordinators: GroupCoordinators;

  constructor(
    private readonly cluster: Cluster,
    private readonly idempotence: Idempotence,
    private readonly config: TransactionConfig,
  ) {
    this.coordinators = new GroupCoordinators(cluster, "transaction");
    this.groupCoordinators = new GroupCoordinators(cluster, "group");
  }

  get transactionalId(): string {
    return this.config.transactionalId;
  }

  /** The current transaction's number; a Transaction object remembers the one it was made for. */
  get current(): number {
    return this.generation;
  }

  isActive(generation: number): boolean {
    return generation === this.generation && isActive(this.state);
  }

  /** Throws what `action` is refused with now, if it is. */
  check(action: TransactionAction, generation = this.generation): void {
    if (generation !== this.generation) {
      throw new BrookError(
        "INVALID_TXN_STATE",
        `${action}() on a transaction that already ended; start a new one with producer.transaction()`,
      );
    }
    const refused = refusal(this.state, action, this.failure);
    if (refused !== undefined) throw refused;
  }

  /** Gets the producer id and epoch from the coordinator now (producer.connect()), unless it has them. */
  async initialize(): Promise<void> {
    if (this.state === "Uninitialized") await this.initProducerId();
  }

  /**
   * Opens a transaction: first InitProducerId if the producer has no id yet, or if a numbered batch of
   * the last transaction failed (its partition's sequence is uncertain, so the epoch is bumped, which
   * restarts every sequence; the coordinator keeps the producer id unless the epoch runs out).
   */
  async begin(): Promise<number> {
    this.check("begin");
    if (this.state === "Uninitialized" || this.sequencesUncertain) await this.initProducerId();
    this.check("begin");
    this.state = transition(this.state, "InTransaction");
    this.generation++;
    this.added.clear();
    this.coordinatorTouched = false;
    this.failure = undefined;
    return this.generation;
  }

  /** Which of `queues` the coordinator does not have in the transaction yet (nothing goes to them before). */
  notAdded(queues: PartitionQueue[]): PartitionQueue[] {
    return queues.filter((queue) => !this.added.has(queue));
  }

  /**
   * Whether the Sender may send batches (or sendOffsets its TxnOffsetCommit) now; if not, why (what was
   * not sent fails with that).
   */
  sendingRefusal(unsent = "this batch was sent"): BrookError | undefined {
    switch (this.state) {
      case "InTransaction":
      case "Committing":
        return undefined;
      case "Aborting":
        return aborted(unsent);
      case "AbortableError":
      case "Fatal":
        return this.failure;
      case "Uninitialized":
      case "Initializing":
      case "Ready":
        return new BrookError(
          "INVALID_TXN_STATE",
          "a transactional producer sends only inside a transaction",
        );
      default:
        return unreachable(this.state, "transactional producer state");
    }
  }

  /**
   * AddPartitionsToTxn for partitions about to get their first batch of the transaction, one call for
   * all of them. A failure fails the transaction (or the producer) and is thrown.
   */
  addPartitions(queues: PartitionQueue[]): Promise<void> {
    assert(this.adding === undefined, "one AddPartitionsToTxn at a time");
    const generation = this.generation;
    const identity = this.requireIdentity();
    this.coordinatorTouched = true;
    const call = this.coordinatorCall(
      "addPartitionsToTxn",
      { transactionalId: this.config.transactionalId, ...identity, topics: byTopic(queues) },
      firstPartitionError,
    ).then(
      () => {
        if (generation === this.generation) for (const queue of queues) this.added.add(queue);
      },
      (error: unknown) => {
        const failure = asBrookError(error);
        if (generation === this.generation) this.failed(failure);
        throw failure;
      },
    );
    const tracked = call.finally(() => {
      this.adding = undefined;
    });
    this.adding = tracked.catch(() => {});
    return tracked;
  }

  /**
   * Commits consumer offsets in the transaction: AddOffsetsToTxn (the group's offsets partition joins
   * the transaction), then TxnOffsetCommit to the group's coordinator. The offsets become the group's
   * only if the transaction commits. commit() and abort() wait for it, awaited or not.
   */
  sendOffsets(
    generation: number,
    offsets: TransactionOffsets,
    member: GroupMemberIdentity | undefined,
  ): Promise<void> {
    this.check("sendOffsets", generation);
    const call = this.addOffsets(generation, offsets, member);
    const tracked = call.catch(() => {});
    this.sendingOffsets.add(tracked);
    void tracked.finally(() => this.sendingOffsets.delete(tracked));
    return call;
  }

  private async addOffsets(
    generation: number,
    offsets: TransactionOffsets,
    member: GroupMemberIdentity | undefined,
  ): Promise<void> {
    const identity = this.requireIdentity();
    const groupId = offsets.consumerGroupId;
    try {
      this.coordinatorTouched = true;
      await this.coordinatorCall(
        "addOffsetsToTxn",
        { transactionalId: this.config.transactionalId, ...identity, groupId },
        (response) => response.error,
      );
      // A commit() begun meanwhile waits for this call, so it goes on; an abort or a failure stops it.
      const refused = this.sendingRefusal("the offsets were sent");
      if (refused !== undefined) throw refused;
      await this.groupCoordinators.call(
        groupId,
        "txnOffsetCommit",
        {
          transactionalId: this.config.transactionalId,
          groupId,
          ...identity,
          memberId: member?.memberId ?? "",
          memberEpoch: member?.memberEpoch ?? -1,
          topics: offsets.topics.map(({ topic, partitions }) => ({
            topic,
            partitions: partitions.map(({ partition, offset }) => ({
              partition,
              offset,
              metadata: "",
            })),
          })),
        },
        firstOffsetError,
      );
    } catch (error) {
      const failure = asBrookError(error);
      if (generation === this.generation && isActive(this.state)) this.failed(failure);
      throw failure;
    }
  }

  /**
   * Flushes every batch of the transaction, waits for the coordinator calls in flight (sendOffsets
   * included), then EndTxn(commit). Refused when anything in it failed: with INVALID_TXN_STATE, leaving
   * the transaction to be aborted, or with the fencing error when the producer was fenced meanwhile.
   */
  async commit(generation: number, batches: TransactionBatches): Promise<void> {
    this.check("commit", generation);
    this.state = transition(this.state, "Committing");
    await batches.flush();
    await this.inFlight();
    // A step failed meanwhile (failed() left Committing): the transaction can only be aborted, or, when
    // the producer was fenced (Fatal), the producer can only be closed; the refusal says which.
    if (this.state !== "Committing") throw refusal(this.state, "commit", this.failure);
    try {
      await this.endTxn(true);
    } catch (error) {
      const endError = asBrookError(error);
      this.failed(endError);
      throw endError;
    }
    this.state = transition(this.state, "Ready");
  }

  /**
   * Fails every batch of the transaction not yet sent, waits for those in flight and for sendOffsets
   * calls, then EndTxn(abort): the records written are never shown to read_committed consumers.
   */
  async abort(generation: number, batches: TransactionBatches): Promise<void> {
    this.check("abort", generation);
    this.state = transition(this.state, "Aborting");
    await batches.dropUnsent(aborted("this batch was sent"));
    await this.inFlight();
    try {
      await this.endTxn(false);
    } catch (error) {
      const endError = asBrookError(error);
      // Nothing the coordinator confirmed was added: INVALID_TXN_STATE means it has nothing open.
      const nothingOpen = endError.code === "INVALID_TXN_STATE" && this.added.size === 0;
      if (!nothingOpen) {
        // An abort that fails leaves the producer not knowing what is open: a new instance with the
        // same transactional id aborts whatever is (InitProducerId fences and cleans up).
        this.fatal(
          new BrookError(
            endError.code,
            `the abort failed (${endError.detail}); close this producer and start a new one with the same transactional id, which aborts what is left open`,
            { cause: endError },
          ),
        );
        throw this.failure;
      }
    }
    this.state = transition(this.state, "Ready");
  }

  /**
   * A step of the transaction failed (a batch, an AddPartitionsToTxn, offsets): the producer is fenced
   * for good, or the transaction can only be aborted now. The first failure is the one reported.
   */
  failed(error: BrookError): void {
    if (isFatal(error)) {
      this.fatal(error);
      return;
    }
    switch (this.state) {
      case "InTransaction":
      case "Committing":
        this.failure = error;
        this.state = transition(this.state, "AbortableError");
        return;
      case "Aborting":
      case "AbortableError":
      case "Fatal":
      case "Uninitialized":
      case "Initializing":
      case "Ready":
        return;
      default:
        unreachable(this.state, "transactional producer state");
    }
  }

  /** A batch failed for good; if it was numbered, its partition's next sequence cannot be trusted. */
  batchFailed(batch: ProducerBatch, error: BrookError): void {
    if (batch.stamp !== undefined) this.sequencesUncertain = true;
    this.failed(error);
  }

  private fatal(error: BrookError): void {
    if (this.state === "Fatal") return;
    this.failure = error;
    this.state = transition(this.state, "Fatal");
    this.cluster.logger.error(
      { transactionalId: this.config.transactionalId, error: error.message },
      "transactional producer stopped for good; close it",
    );
  }

  /** Waits for the coordinator calls of the transaction still in flight (their failures are recorded). */
  private async inFlight(): Promise<void> {
    await this.adding;
    await Promise.all(this.sendingOffsets);
  }

  private async initProducerId(): Promise<void> {
    this.state = transition(this.state, "Initializing");
    try {
      const response = await this.coordinatorCall(
        "initProducerId",
        {
          transactionalId: this.config.transactionalId,
          transactionTimeoutMs: this.config.transactionTimeoutMs,
        },
        (answer) => answer.error,
      );
      const identity = { producerId: response.producerId, producerEpoch: response.producerEpoch };
      this.identity = identity;
      this.idempotence.adopt(identity);
      this.sequencesUncertain = false;
      this.state = transition(this.state, "Ready");
      this.cluster.logger.debug(
        { transactionalId: this.config.transactionalId, ...identity },
        "transactional producer: got a producer id and epoch",
      );
    } catch (error) {
      const failure = asBrookError(error);
      if (isFatal(failure)) this.fatal(failure);
      // Not fatal (the coordinator stayed away through every retry): the next transaction() tries again;
      // a producer that had an id keeps it until then.
      else this.state = transition(this.state, this.identity === undefined ? "Uninitialized" : "Ready");
      throw failure;
    }
  }

  private async endTxn(committed: boolean): Promise<void> {
    if (!this.coordinatorTouched) return; // nothing reached the coordinator: no transaction is open there
    await this.coordinatorCall(
      "endTxn",
      { transactionalId: this.config.transactionalId, ...this.requireIdentity(), committed },
      (response) => response.error,
    );
  }

  private coordinatorCall<M extends BrokerRpc>(
    method: M,
    request: BrokerRpcs[M][0],
    errorOf: (response: BrokerRpcs[M][1]) => WireError__Output | null | undefined,
  ): Promise<BrokerRpcs[M][1]> {
    return this.coordinators.call(this.config.transactionalId, method, request, errorOf);
  }

  private requireIdentity(): ProducerIdentity {
    assert(this.identity !== undefined, "a transaction is open only once the producer has its id");
    return this.identity;
  }
}

/** The error every batch (or offsets call) a transaction's abort drops fails with. */
function aborted(unsent: string): BrookError {
  return new BrookError("INVALID_TXN_STATE", `the transaction was aborted before ${unsent}`);
}

function byTopic(queues: PartitionQueue[]): { topic: string; partitions: number[] }[] {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of queues) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

function firstPartitionError(response: AddPartitionsToTxnResponse__Output): WireError__Output | null {
  for (const { partitions } of response.topics) {
    for (const { error } of partitions) if (fromWireError(error) !== undefined) return error;
  }
  return null;
}

function firstOffsetError(response: TxnOffsetCommitResponse__Output): WireError__Output | null {
  if (fromWireError(response.error) !== undefined) return response.error;
  for (const { partitions } of response.topics) {
    for (const { error } of partitions) if (fromWireError(error) !== undefined) return error;
  }
  return null;
}
