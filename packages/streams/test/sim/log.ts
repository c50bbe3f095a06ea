// The simulated cluster's data, as simple as the streams runtime's view of it needs: topics of in-memory
// partitioned logs, transactions that records are written in (a read_committed reader sees a
// transaction's records once it commits, never when it aborts, and stops at the last stable offset: the
// first record of a transaction not ended yet), and the consumer group's committed offsets, which a
// transaction's sendOffsets holds pending until it ends. No brokers, no replication: those have their own
// simulations (packages/broker/test/sim).

import type { ConsumedMessage, IsolationLevel, MessageHeaders } from "@brook/client";

/** "preparing": its commit is decided (PrepareCommit) and its markers are on their way. */
export type TxnState = "open" | "preparing" | "committed" | "aborted";

export interface Offset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface Txn {
  readonly id: number;
  /** The transactional id's owner: an instance's process id. */
  readonly producer: string;
  state: TxnState;
  /** When its first record was written: the coordinator aborts it transactionTimeoutMs later. */
  readonly startMs: number;
  /** Per partition it wrote, the offset of its first record there (what holds that partition's LSO). */
  readonly firstOffsets: Map<string, number>;
  /** Offsets sent to the group in it (sendOffsets): pending until it commits, dropped if it aborts. */
  offsets: readonly Offset[];
}

export interface LogEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: MessageHeaders;
  /** The order of appends across the whole cluster: a task reading two partitions takes the lowest first. */
  readonly seq: number;
  /** The transaction it was written in (exactly once); undefined for plain producers. */
  readonly txn: Txn | undefined;
  /** The task that wrote it (sink and changelog records), for the checks; undefined for input records. */
  readonly origin: string | undefined;
}

export interface NewRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: MessageHeaders;
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export class SimLog {
  private readonly logs = new Map<string, LogEntry[][]>();
  private readonly open = new Set<Txn>();
  private nextSeq = 0;
  private nextTxn = 0;
  /** The application's consumer group: committed offset (the next to read) per partition. */
  readonly committed = new Map<string, number>();
  committedTxns = 0;
  abortedTxns = 0;

  createTopic(topic: string, partitions: number): void {
    if (this.logs.has(topic)) throw new Error(`topic ${topic} exists`);
    this.logs.set(
      topic,
      Array.from({ length: partitions }, () => []),
    );
  }

  hasTopic(topic: string): boolean {
    return this.logs.has(topic);
  }

  partitions(topic: string): number {
    const partitions = this.logs.get(topic);
    if (partitions === undefined) throw new Error(`no topic ${topic}`);
    return partitions.length;
  }

  topicNames(): string[] {
    return [...this.logs.keys()];
  }

  append(topic: string, partition: number, record: NewRecord, origin?: string, txn?: Txn): LogEntry {
    const log = this.partitionLog(topic, partition);
    if (txn !== undefined) {
      if (txn.state !== "open") throw new Error(`append to ${txn.state} transaction ${txn.id}`);
      const key = tpKey(topic, partition);
      if (!txn.firstOffsets.has(key)) txn.firstOffsets.set(key, log.length);
    }
    const entry: LogEntry = {
      topic,
      partition,
      offset: log.length,
      key: record.key,
      value: record.value,
      timestamp: record.timestamp,
      headers: record.headers,
      seq: this.nextSeq++,
      txn,
      origin,
    };
    log.push(entry);
    return entry;
  }

  beginTxn(producer: string, nowMs: number): Txn {
    const txn: Txn = {
      id: this.nextTxn++,
      producer,
      state: "open",
      startMs: nowMs,
      firstOffsets: new Map(),
      offsets: [],
    };
    this.open.add(txn);
    return txn;
  }

  /** TxnOffsetCommit: the offsets go into the transaction, pending until it ends. */
  sendOffsets(txn: Txn, offsets: readonly Offset[]): void {
    if (txn.state !== "open") throw new Error(`sendOffsets to ${txn.state} transaction ${txn.id}`);
    txn.offsets = [...txn.offsets, ...offsets];
  }

  /** EndTxn(commit) accepted (PrepareCommit): it commits from now on, whatever happens to its producer. */
  prepareCommit(txn: Txn): void {
    if (txn.state !== "open") throw new Error(`commit of ${txn.state} transaction ${txn.id}`);
    txn.state = "preparing";
  }

  /** The markers are written: its records become visible and its offsets committed, at once. */
  completeCommit(txn: Txn): void {
    if (txn.state !== "preparing") throw new Error(`completing ${txn.state} transaction ${txn.id}`);
    txn.state = "committed";
    this.open.delete(txn);
    this.committedTxns++;
    this.commitOffsets(txn.offsets);
  }

  /** Abort markers: its records are never visible, its offsets dropped. */
  abort(txn: Txn): void {
    if (txn.state !== "open") throw new Error(`abort of ${txn.state} transaction ${txn.id}`);
    txn.state = "aborted";
    this.open.delete(txn);
    this.abortedTxns++;
  }

  /** Whether a transaction not ended yet holds an offset of the partition (OffsetFetch: UNSTABLE_OFFSET_COMMIT). */
  pendingOffsets(topic: string, partition: number): boolean {
    for (const txn of this.open)
      if (txn.offsets.some((each) => each.topic === topic && each.partition === partition)) return true;
    return false;
  }

  commitOffsets(offsets: readonly Offset[]): void {
    for (const { topic, partition, offset } of offsets) {
      const key = tpKey(topic, partition);
      const previous = this.committed.get(key) ?? 0;
      if (offset < previous)
        throw new Error(`the committed offset of ${key} went back from ${previous} to ${offset}`);
      this.committed.set(key, offset);
    }
  }

  committedOffset(topic: string, partition: number): number {
    return this.committed.get(tpKey(topic, partition)) ?? 0;
  }

  /** Transactions not ended: open, or committing with their markers on the way. */
  openTxns(): Txn[] {
    return [...this.open];
  }

  /** The log end offset (read_uncommitted) or the last stable offset (read_committed). */
  end(topic: string, partition: number, isolation: IsolationLevel): number {
    const length = this.partitionLog(topic, partition).length;
    if (isolation === "read_uncommitted") return length;
    const key = tpKey(topic, partition);
    let lso = length;
    for (const txn of this.open) {
      const first = txn.firstOffsets.get(key);
      if (first !== undefined && first < lso) lso = first;
    }
    return lso;
  }

  /** What a reader at `from` is handed, up to `max` records: below end(), aborted records left out. */
  read(
    topic: string,
    partition: number,
    from: number,
    isolation: IsolationLevel,
    max = Infinity,
  ): LogEntry[] {
    const log = this.partitionLog(topic, partition);
    const end = this.end(topic, partition, isolation);
    const out: LogEntry[] = [];
    for (let offset = from; offset < end && out.length < max; offset++) {
      const entry = log[offset] as LogEntry;
      if (isolation === "read_committed" && entry.txn !== undefined && entry.txn.state !== "committed")
        continue;
      out.push(entry);
    }
    return out;
  }

  /** Every record of a partition as written, whatever its transaction's fate. */
  entries(topic: string, partition: number): readonly LogEntry[] {
    return this.partitionLog(topic, partition);
  }

  private partitionLog(topic: string, partition: number): LogEntry[] {
    const log = this.logs.get(topic)?.[partition];
    if (log === undefined) throw new Error(`no partition ${topic}-${partition}`);
    return log;
  }
}

/** A log entry as the SDK's consumer hands it over. */
export function consumed(entry: LogEntry): ConsumedMessage {
  return {
    topic: entry.topic,
    partition: entry.partition,
    offset: entry.offset,
    key: entry.key,
    value: entry.value,
    headers: entry.headers,
    timestamp: entry.timestamp,
  };
}
