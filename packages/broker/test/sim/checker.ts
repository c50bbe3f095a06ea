// The replication simulator's invariants, checked after every step against
// the real logs on disk. Batches are told apart without decoding records:
// the producer gives each batch a unique id as its records' timestamp
// (baseTimestamp in the header), and its CRC32C covers its records, whose
// values are used nowhere else (the broker never re-encodes a batch; only
// baseOffset and partitionLeaderEpoch, outside the CRC, are patched).
//
// 1. No acknowledged record is lost: an acks=all produce answered by a leader
//    is committed there, and the controller's current leader always holds
//    every committed batch at its offset.
// 2. Committed prefixes agree: every replica's log below its own high
//    watermark matches one run-wide table of committed batches, so any two
//    replicas agree below the smaller of their high watermarks.
// 3. A leader's high watermark never goes back within its leader epoch, and
//    the highest high watermark ever seen (what a consumer may have read)
//    never exceeds what each ISR member holds durably (fsynced, or written
//    with flush.mode=none), with the same batches.
// 4. No offset ever holds two different committed batches in the whole run
//    (the table of 2 is written once per offset).

import { scanBatches } from "@brook/protocol";
import type { PartitionLog } from "@brook/storage";
import type { Partition } from "../../src/partition.js";

/** One batch in a log, as far as the checker cares. */
export interface BatchRef {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly crc: number;
  /** The producer's batch id (its records' timestamp). */
  readonly id: number;
}

/** A replica whose process is up. */
export interface LiveReplica {
  readonly brokerId: number;
  readonly partition: Partition;
  /** Changes whenever the replica's files may have changed (SimDisk.version). */
  readonly diskVersion: number;
}

export interface World {
  readonly live: readonly LiveReplica[];
  /** The controller's current leader and ISR. */
  readonly leader: number;
  readonly isr: readonly number[];
  /** Crashed brokers: the log end they will restart with. */
  readonly downLogEnd: ReadonlyMap<number, number>;
  readonly flushMode: "fsync" | "none";
}

export class InvariantViolation extends Error {
  constructor(rule: string, detail: string) {
    super(`${rule}: ${detail}`);
    this.name = "InvariantViolation";
  }
}

interface CachedLog {
  readonly partition: Partition;
  readonly diskVersion: number;
  readonly batches: readonly BatchRef[];
}

export class Checker {
  /** Rule 4's table: every committed batch by base offset, contiguous from offset 0. */
  private readonly committed = new Map<number, BatchRef & { readonly seenOn: number }>();
  /** The end of the committed table: the highest high watermark seen on any replica. */
  committedEnd = 0;
  /** Rule 3: the highest high watermark each leader epoch's leader reported. */
  private readonly epochHighWatermark = new Map<number, number>();
  private readonly acks: BatchRef[] = [];
  private acksChecked = 0;
  private readonly logs = new Map<number, CachedLog>();

  get ackedBatches(): readonly BatchRef[] {
    return this.acks;
  }

  /** An acks=all produce was answered: its batch is committed on `leaderId`. */
  acked(batch: BatchRef): void {
    this.acks.push(batch);
  }

  afterStep(world: World): void {
    for (const replica of world.live) this.checkReplica(replica);
    this.checkAcks();
    this.checkIsr(world);
  }

  /** The batches of a live replica's log, read from disk again only when its files changed. */
  batchesOf(replica: LiveReplica): readonly BatchRef[] {
    const cached = this.logs.get(replica.brokerId);
    if (cached?.partition === replica.partition && cached.diskVersion === replica.diskVersion)
      return cached.batches;
    const batches = readBatches(replica.partition.log);
    this.logs.set(replica.brokerId, {
      partition: replica.partition,
      diskVersion: replica.diskVersion,
      batches,
    });
    return batches;
  }

  private checkReplica(replica: LiveReplica): void {
    const { partition, brokerId } = replica;
    const highWatermark = partition.highWatermark;
    if (partition.isLeader) {
      const epoch = partition.leaderEpoch;
      const before = this.epochHighWatermark.get(epoch) ?? 0;
      if (highWatermark < before) {
        throw new InvariantViolation(
          "rule 3 (high watermark monotonic within a leader epoch)",
          `leader ${brokerId} of epoch ${epoch} went from high watermark ${before} to ${highWatermark}`,
        );
      }
      this.epochHighWatermark.set(epoch, highWatermark);
    }
    for (const batch of this.batchesOf(replica)) {
      if (batch.lastOffset >= highWatermark) break;
      this.commit(batch, brokerId, `below its high watermark ${highWatermark}`);
    }
  }

  /** Rules 2 and 4: a batch below some replica's high watermark joins, or matches, the committed table. */
  private commit(batch: BatchRef, brokerId: number, where: string): void {
    if (batch.baseOffset >= this.committedEnd) {
      if (batch.baseOffset !== this.committedEnd) {
        throw new InvariantViolation(
          "rule 4 (committed offsets are contiguous)",
          `replica ${brokerId} commits ${describe(batch)} ${where}, but the committed log ends at ${this.committedEnd}`,
        );
      }
      this.committed.set(batch.baseOffset, { ...batch, seenOn: brokerId });
      this.committedEnd = batch.lastOffset + 1;
      return;
    }
    this.requireCommitted(batch, brokerId, "rule 2/4 (replicas agree on committed offsets)", where);
  }

  private requireCommitted(batch: BatchRef, brokerId: number, rule: string, where: string): void {
    const committed = this.committed.get(batch.baseOffset);
    if (committed && sameBatch(committed, batch)) return;
    throw new InvariantViolation(
      rule,
      `replica ${brokerId} holds ${describe(batch)} ${where}, but ${
        committed
          ? `${describe(committed)} was committed there (seen on replica ${committed.seenOn})`
          : "no committed batch starts at that offset"
      }`,
    );
  }

  /** Rule 1, first half: an answered acks=all produce is in the committed table. */
  private checkAcks(): void {
    for (; this.acksChecked < this.acks.length; this.acksChecked++) {
      const batch = this.acks[this.acksChecked];
      const committed = this.committed.get(batch.baseOffset);
      if (!committed || !sameBatch(committed, batch)) {
        throw new InvariantViolation(
          "rule 1 (acknowledged means committed)",
          `${describe(batch)} was acknowledged, but the committed table has ${committed ? describe(committed) : "nothing"} there`,
        );
      }
    }
  }

  /** Rule 3 (and rule 1 for the leader): every ISR member holds the committed log durably. */
  private checkIsr(world: World): void {
    for (const brokerId of world.isr) {
      const rule =
        brokerId === world.leader
          ? "rule 1 (the leader holds every committed batch)"
          : "rule 3 (ISR members hold what was committed)";
      const downEnd = world.downLogEnd.get(brokerId);
      if (downEnd !== undefined) {
        if (downEnd < this.committedEnd) {
          throw new InvariantViolation(
            rule,
            `ISR member ${brokerId} is down and restarts with log end ${downEnd}, below the committed end ${this.committedEnd}`,
          );
        }
        continue;
      }
      const replica = world.live.find((live) => live.brokerId === brokerId);
      if (!replica) continue; // restarting: its downLogEnd was checked until it went up again
      const log = replica.partition.log;
      const durableEnd = world.flushMode === "none" ? log.logEndOffset : log.flushedOffset;
      if (durableEnd < this.committedEnd) {
        throw new InvariantViolation(
          rule,
          `ISR member ${brokerId} holds durably only up to ${durableEnd} (log end ${log.logEndOffset}), below the committed end ${this.committedEnd}`,
        );
      }
      const highWatermark = replica.partition.highWatermark;
      for (const batch of this.batchesOf(replica)) {
        if (batch.lastOffset < highWatermark) continue; // checked by checkReplica
        if (batch.baseOffset >= this.committedEnd) break;
        this.requireCommitted(batch, brokerId, rule, "as an ISR member");
      }
    }
  }
}

export function sameBatch(a: BatchRef, b: BatchRef): boolean {
  return a.baseOffset === b.baseOffset && a.lastOffset === b.lastOffset && a.crc === b.crc && a.id === b.id;
}

export function describe(batch: BatchRef): string {
  return `batch ${batch.id} [${batch.baseOffset}..${batch.lastOffset}]`;
}

/** Every batch header of an open log, in offset order (records are not decoded). */
export function readBatches(log: PartitionLog): BatchRef[] {
  const batches: BatchRef[] = [];
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  // Each read returns at least one batch (it starts at one the log holds), so this ends.
  while (offset < end) {
    const { records } = log.read(offset, 1 << 30, { maxOffset: end });
    const scan = scanBatches(records, { validateCrc: false });
    if (scan.batches.length === 0)
      throw new Error(`the log read nothing at offset ${offset} below its end ${end}`);
    for (const header of scan.batches) {
      batches.push({
        baseOffset: header.baseOffset,
        lastOffset: header.lastOffset,
        crc: header.crc,
        id: header.baseTimestamp,
      });
    }
    offset = scan.batches[scan.batches.length - 1].lastOffset + 1;
  }
  return batches;
}
