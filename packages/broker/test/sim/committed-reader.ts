// The replication simulator's transaction rules (docs/transactions.md),
// checked through a read_committed consumer that reads the real leader with
// the production read path (Partition.read, "read_committed") and drops
// aborted records as Kafka's consumers do (the aborted list the read
// returns, ended by each producer's abort marker):
//
// 5. A read_committed reader never sees a record of an aborted transaction,
//    nor of one not yet decided, nor a record at or past the LSO it was
//    given; the LSO never exceeds the high watermark.
// 6. A leader's LSO never goes back within its leader epoch, and the LSO a
//    leader serves (once its high watermark is confirmed, i.e. when it
//    answers consumers at all) is never below one a leader of an older or
//    the same epoch served before: the LSO a consumer observes never goes
//    backwards, across leader changes too.
// 7. Once every transaction is decided and its marker acknowledged, and the
//    reader caught up, it has seen every record of every committed
//    transaction (checked at the end of the run).

import { BrookError, decodeControlRecord, decodeRecordBatches } from "@brook/protocol";
import type { Partition } from "../../src/partition.js";
import { InvariantViolation } from "./checker.js";

/** What the simulation's transactional producer decided for a transaction. */
export type TxnFate = "open" | "commit" | "abort";

/** Where each transactional record came from: its value → its transaction's id. */
export interface TxnBook {
  /** The transaction that wrote `value`, if any (plain records have none). */
  txnOf(value: string): number | undefined;
  fate(txnId: number): TxnFate;
}

export class CommittedReader {
  /** The next offset to read, as a consumer's position. */
  position = 0;
  readonly delivered = new Set<string>();
  /** Rule 6: the highest LSO each leader epoch's leader had, and served. */
  private readonly epochLso = new Map<number, number>();
  private readonly servedLso = new Map<number, number>();
  reads = 0;

  constructor(
    private readonly book: TxnBook,
    private readonly maxBytes: number,
  ) {}

  /** Rule 6 on any live leader, after every step. */
  checkLeader(brokerId: number, partition: Partition): void {
    const epoch = partition.leaderEpoch;
    const lso = partition.lastStableOffset;
    if (lso > partition.highWatermark) {
      throw new InvariantViolation(
        "rule 5 (the LSO never exceeds the high watermark)",
        `leader ${brokerId} of epoch ${epoch} has LSO ${lso} above its high watermark ${partition.highWatermark}`,
      );
    }
    const before = this.epochLso.get(epoch) ?? 0;
    if (lso < before) {
      throw new InvariantViolation(
        "rule 6 (the LSO is monotonic within a leader epoch)",
        `leader ${brokerId} of epoch ${epoch} went from LSO ${before} to ${lso}`,
      );
    }
    this.epochLso.set(epoch, lso);
    let served: number;
    try {
      served = partition.offsets().lastStableOffset;
    } catch (error) {
      if (error instanceof BrookError) return; // not serving consumers yet (OFFSET_NOT_AVAILABLE)
      throw error;
    }
    for (const [olderEpoch, olderLso] of this.servedLso) {
      if (olderEpoch <= epoch && served < olderLso) {
        throw new InvariantViolation(
          "rule 6 (the LSO consumers see never goes backwards)",
          `leader ${brokerId} of epoch ${epoch} serves LSO ${served}, but the leader of epoch ${olderEpoch} served ${olderLso}`,
        );
      }
    }
    this.servedLso.set(epoch, Math.max(served, this.servedLso.get(epoch) ?? 0));
  }

  /** One read_committed fetch from the consumer's position on `partition` (the leader it found); rule 5. */
  fetch(partition: Partition): void {
    let result: ReturnType<Partition["read"]>;
    try {
      result = partition.read(this.position, this.maxBytes, true, -1, "read_committed");
    } catch (error) {
      if (!(error instanceof BrookError)) throw error;
      if (error.code === "OFFSET_OUT_OF_RANGE") {
        throw new InvariantViolation(
          "rule 6 (the LSO consumers see never goes backwards)",
          `the reader's position ${this.position} (below an LSO it was served) is past the leader's log end ${partition.logEndOffset}`,
        );
      }
      return; // NOT_LEADER, OFFSET_NOT_AVAILABLE: try again later, as a consumer would
    }
    this.reads++;
    const pending = [...result.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
    const aborting = new Set<number>();
    for (const { header, records } of decodeRecordBatches(result.records)) {
      if (header.lastOffset >= result.lastStableOffset) {
        throw new InvariantViolation(
          "rule 5 (a read_committed read stops at the LSO)",
          `a read from ${this.position} returned batch [${header.baseOffset}..${header.lastOffset}] with LSO ${result.lastStableOffset}`,
        );
      }
      while (pending.length > 0 && pending[0].firstOffset <= header.lastOffset) {
        aborting.add(pending.shift()!.producerId);
      }
      if (header.isControl) {
        if (decodeControlRecord(records[0]).type === "abort") aborting.delete(header.producerId);
      } else if (!(header.isTransactional && aborting.has(header.producerId))) {
        for (const record of records)
          if (record.offset >= this.position) this.deliver(record.value!.toString());
      }
      this.position = Math.max(this.position, header.lastOffset + 1);
    }
  }

  /** Rule 7, at the end of a run: every record of every committed transaction was delivered. */
  requireCommittedSeen(committedValues: Iterable<string>): void {
    for (const value of committedValues) {
      if (!this.delivered.has(value)) {
        throw new InvariantViolation(
          "rule 7 (a committed transaction is fully visible)",
          `record ${value} of a committed transaction never reached the read_committed reader (position ${this.position})`,
        );
      }
    }
  }

  private deliver(value: string): void {
    const txnId = this.book.txnOf(value);
    if (txnId !== undefined) {
      const fate = this.book.fate(txnId);
      if (fate !== "commit") {
        throw new InvariantViolation(
          "rule 5 (read_committed never sees an aborted or undecided record)",
          `the reader got ${value} of transaction ${txnId}, which is ${fate === "open" ? "not decided" : "aborted"}`,
        );
      }
    }
    this.delivered.add(value);
  }
}
