// A transaction coordinator for the SDK's tests, simpler than the broker's: every broker of the
// FakeCluster plays it for every transactional id. It keeps each id's producer id, epoch, state,
// partitions and groups; fences older epochs; writes markers (real control batches) to the partitions of
// a transaction that ends; and makes transactional offset commits visible only on commit. Each call is
// written to `log` as one transcript line, so a test can check what happened in which order.

import {
  type AddOffsetsToTxnRequest__Output,
  type AddPartitionsToTxnRequest__Output,
  type DescribeTransactionsRequest__Output,
  type EndTxnRequest__Output,
  type ErrorCode,
  encodeControlBatch,
  type InitProducerIdRequest__Output,
  type ListTransactionsRequest__Output,
  noError,
  type TxnOffsetCommitRequest__Output,
} from "@brook/protocol";

export type TxnMethod =
  | "InitProducerId"
  | "AddPartitionsToTxn"
  | "AddOffsetsToTxn"
  | "EndTxn"
  | "TxnOffsetCommit";

interface FakeTransaction {
  producerId: number;
  producerEpoch: number;
  state: "Empty" | "Ongoing" | "CompleteCommit" | "CompleteAbort";
  timeoutMs: number;
  startTimeMs: number;
  partitions: Set<string>;
  groups: Set<string>;
  /** Offsets committed in the open transaction: "group/topic-partition" → offset. */
  pendingOffsets: Map<string, number>;
}

/** What the coordinator needs of the cluster: append a marker, and make offsets the group's. */
export interface TransactionPartitions {
  appendMarker(topic: string, partition: number, marker: Buffer): void;
  commitOffset(key: string, offset: number): void;
}

export class FakeTransactionCoordinator {
  readonly log: string[] = [];
  /** Errors the next answers of a method carry (in the response, as the coordinator answers them). */
  readonly errors = new Map<TxnMethod, ErrorCode[]>();
  readonly transactions = new Map<string, FakeTransaction>();
  nextProducerId = 7_000;

  constructor(private readonly partitions: TransactionPartitions) {}

  initProducerId({ transactionalId, transactionTimeoutMs }: InitProducerIdRequest__Output) {
    const refused = this.injected("InitProducerId", `init ${transactionalId}`);
    if (refused !== undefined) return { error: refused, producerId: -1, producerEpoch: -1 };
    let txn = this.transactions.get(transactionalId);
    if (txn === undefined) {
      txn = {
        producerId: this.nextProducerId++,
        producerEpoch: -1,
        state: "Empty",
        timeoutMs: transactionTimeoutMs,
        startTimeMs: -1,
        partitions: new Set(),
        groups: new Set(),
        pendingOffsets: new Map(),
      };
      this.transactions.set(transactionalId, txn);
    }
    // A new instance fences the old one; what it left open is aborted first, under the new epoch.
    txn.producerEpoch++;
    if (txn.state === "Ongoing") this.complete(txn, false);
    txn.timeoutMs = transactionTimeoutMs;
    this.log.push(`init ${transactionalId} -> producer ${txn.producerId} epoch ${txn.producerEpoch}`);
    return { error: noError, producerId: txn.producerId, producerEpoch: txn.producerEpoch };
  }

  addPartitions({ transactionalId, producerId, producerEpoch, topics }: AddPartitionsToTxnRequest__Output) {
    const keys = topics.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p}`));
    const line = `add-partitions ${transactionalId} ${keys.join(",")}`;
    const refused =
      this.injected("AddPartitionsToTxn", line) ??
      this.fenced(transactionalId, producerId, producerEpoch, line);
    if (refused === undefined) {
      const txn = this.begin(transactionalId);
      for (const key of keys) txn.partitions.add(key);
      this.log.push(line);
    }
    return {
      topics: topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map((partition) => ({ partition, error: refused ?? noError })),
      })),
    };
  }

  addOffsets({ transactionalId, producerId, producerEpoch, groupId }: AddOffsetsToTxnRequest__Output) {
    const line = `add-offsets ${transactionalId} ${groupId}`;
    const refused =
      this.injected("AddOffsetsToTxn", line) ?? this.fenced(transactionalId, producerId, producerEpoch, line);
    if (refused === undefined) {
      this.begin(transactionalId).groups.add(groupId);
      this.log.push(line);
    }
    return { error: refused ?? noError };
  }

  txnOffsetCommit(request: TxnOffsetCommitRequest__Output) {
    const { transactionalId, groupId, producerId, producerEpoch, memberId, memberEpoch, topics } = request;
    const offsets = topics.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset }) => `${topic}-${partition}@${offset}`),
    );
    const member = memberId === "" ? "" : ` member=${memberId} epoch=${memberEpoch}`;
    const line = `txn-offset-commit ${transactionalId} ${groupId}${member} ${offsets.join(",")}`;
    const txn = this.transactions.get(transactionalId);
    const refused =
      this.injected("TxnOffsetCommit", line) ??
      this.fenced(transactionalId, producerId, producerEpoch, line) ??
      (txn?.groups.has(groupId) ? undefined : this.refuse("INVALID_TXN_STATE", `${line} (group not added)`));
    if (refused === undefined) {
      for (const { topic, partitions } of topics) {
        for (const { partition, offset } of partitions) {
          txn!.pendingOffsets.set(`${groupId}/${topic}-${partition}`, offset);
        }
      }
      this.log.push(line);
    }
    return {
      error: refused ?? noError,
      topics: topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition }) => ({ partition, error: noError })),
      })),
    };
  }

  endTxn({ transactionalId, producerId, producerEpoch, committed }: EndTxnRequest__Output) {
    const line = `end ${transactionalId} ${committed ? "commit" : "abort"}`;
    const txn = this.transactions.get(transactionalId);
    const refused =
      this.injected("EndTxn", line) ??
      this.fenced(transactionalId, producerId, producerEpoch, line) ??
      (txn?.state === "Ongoing" ? undefined : this.refuse("INVALID_TXN_STATE", `${line} (nothing open)`));
    if (refused === undefined) {
      this.complete(txn!, committed);
      this.log.push(`${line} [${[...txn!.partitions].join(",")}]`);
    }
    return { error: refused ?? noError };
  }

  list({ states }: ListTransactionsRequest__Output, coordinator: number) {
    return {
      error: noError,
      transactions: [...this.transactions]
        .filter(([, txn]) => states.length === 0 || states.includes(txn.state))
        .map(([transactionalId, txn]) => ({
          transactionalId,
          producerId: txn.producerId,
          state: txn.state,
          coordinator,
        })),
    };
  }

  describe({ transactionalIds }: DescribeTransactionsRequest__Output, coordinator: number) {
    return {
      transactions: transactionalIds.map((transactionalId) => {
        const txn = this.transactions.get(transactionalId);
        if (txn === undefined) {
          return { transactionalId, error: { code: "TRANSACTIONAL_ID_NOT_FOUND", message: "unknown" } };
        }
        const byTopic = new Map<string, number[]>();
        for (const key of txn.partitions) {
          const cut = key.lastIndexOf("-");
          byTopic.set(key.slice(0, cut), [
            ...(byTopic.get(key.slice(0, cut)) ?? []),
            Number(key.slice(cut + 1)),
          ]);
        }
        return {
          transactionalId,
          error: noError,
          state: txn.state,
          producerId: txn.producerId,
          producerEpoch: txn.producerEpoch,
          timeoutMs: txn.timeoutMs,
          startTimeMs: txn.startTimeMs,
          partitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          groups: [...txn.groups],
          coordinator,
        };
      }),
    };
  }

  /** For the partition leader: a transactional batch from an epoch older than the id's is fenced. */
  produceError(producerId: number, producerEpoch: number, key: string): ErrorCode | undefined {
    for (const txn of this.transactions.values()) {
      if (txn.producerId !== producerId) continue;
      if (producerEpoch < txn.producerEpoch) return "PRODUCER_FENCED";
      if (txn.state !== "Ongoing" || !txn.partitions.has(key)) return "INVALID_TXN_STATE";
    }
    return undefined;
  }

  private begin(transactionalId: string): FakeTransaction {
    const txn = this.transactions.get(transactionalId)!;
    if (txn.state !== "Ongoing") {
      txn.state = "Ongoing";
      txn.startTimeMs = Date.now();
      txn.partitions.clear();
      txn.groups.clear();
      txn.pendingOffsets.clear();
    }
    return txn;
  }

  /** Writes the markers, applies or drops the pending offsets, and closes the transaction. */
  private complete(txn: FakeTransaction, committed: boolean): void {
    for (const key of txn.partitions) {
      const cut = key.lastIndexOf("-");
      const marker = encodeControlBatch({
        producerId: txn.producerId,
        producerEpoch: txn.producerEpoch,
        committed,
        coordinatorEpoch: 0,
      });
      this.partitions.appendMarker(key.slice(0, cut), Number(key.slice(cut + 1)), marker);
    }
    if (committed) for (const [key, offset] of txn.pendingOffsets) this.partitions.commitOffset(key, offset);
    txn.pendingOffsets.clear();
    txn.state = committed ? "CompleteCommit" : "CompleteAbort";
    txn.startTimeMs = -1;
  }

  private fenced(transactionalId: string, producerId: number, producerEpoch: number, line: string) {
    const txn = this.transactions.get(transactionalId);
    if (txn === undefined || txn.producerId !== producerId)
      return this.refuse("INVALID_PRODUCER_ID_MAPPING", line);
    if (producerEpoch < txn.producerEpoch) return this.refuse("PRODUCER_FENCED", line);
    return undefined;
  }

  private injected(method: TxnMethod, line: string) {
    const code = this.errors.get(method)?.shift();
    return code === undefined ? undefined : this.refuse(code, line);
  }

  private refuse(code: ErrorCode, line: string) {
    this.log.push(`${line} -> ${code}`);
    return { code, message: "scripted" };
  }
}
