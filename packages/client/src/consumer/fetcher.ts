// Keeps the assigned partitions fed: resolves starting offsets with ListOffsets, fetches from each
// partition's leader (one Fetch per broker for all of its partitions that are due, long polling), decodes
// the record batches, drops records below the requested offset, and buffers a bounded number of responses
// per partition so the next fetch is in flight while the application works through the last one.
// A paused partition is not fetched and its buffered batches wait (kept, in order) until it is resumed.
// Control batches (transaction markers) are never handed out, nor, with read_committed, records of
// aborted transactions (isolation.ts); the position still moves past them.

import {
  asBrookError,
  BrookError,
  type DecodedBatch,
  decodeRecordBatches,
  type FetchPartitionResponse__Output,
  fromWireError,
  type RecordHeader,
} from "@brook/protocol";
import type { Cluster } from "../cluster/cluster.js";
import type { BrokerAddress } from "../cluster/metadata-cache.js";
import { OffsetSpec } from "../cluster/offsets.js";
import { logRetry } from "../logger.js";
import { backoffMs, isRetriable, type RetryPolicy } from "../retry/retry-policy.js";
import { DeadlineTimer, type Deferred, deferred, soon } from "../runtime.js";
import { ConsumerBatch } from "./batch.js";
import {
  type IsolationLevel,
  isolationLevelWire,
  type ReadableBatches,
  readableBatches,
} from "./isolation.js";
import type { ConsumedMessage, MessageHeaders, OffsetResetPolicy } from "./types.js";

/** What one assigned partition is doing. */
export class PartitionState {
  /** Next offset the application will be given; undefined until the starting offset is known. */
  position: number | undefined;
  /** Next offset to fetch: ahead of `position` by what is buffered. Undefined: resolve `resetTo` first. */
  fetchOffset: number | undefined;
  resetTo: "earliest" | "latest";
  highWatermark: number | undefined;
  /** As of the last fetch: the first offset of the oldest open transaction (the high watermark if none). */
  lastStableOffset: number | undefined;
  /** The group's committed offset as far as this consumer knows (fetched or last committed). */
  committedOffset: number | undefined;
  /** Not fetched, and its buffered batches are not handed out, until resumed. */
  paused = false;
  /** Bumped by seek() and resets: answers and buffered batches of an older generation are dropped. */
  generation = 0;
  /** In a Fetch or ListOffsets call right now. */
  busy = false;
  bufferedResponses = 0;
  retryAtMs = 0;
  failures = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    resetTo: "earliest" | "latest",
  ) {
    this.resetTo = resetTo;
  }

  /** Start over at `offset`, or at `resetTo` when undefined; anything fetched before is dropped. */
  restartAt(offset: number | undefined): void {
    this.generation++;
    this.position = offset;
    this.rewind();
  }

  /** Fetch again from the position (after a stop, the buffer is gone). */
  rewind(): void {
    this.fetchOffset = this.position;
    this.bufferedResponses = 0;
    this.retryAtMs = 0;
    this.failures = 0;
  }
}

/** A fetched batch waiting for the application, tagged so a seek can make it obsolete. */
export interface BufferedBatch {
  state: PartitionState;
  generation: number;
  batch: ConsumerBatch;
}

/**
 * Whether the application's progress through `entry` still moves the partition's position: not after a
 * seek or reset (the position was set anew), but still after an unassign, so that the handler that was
 * busy with a revoked partition gets its last message counted before the position is committed.
 */
export function countsProgress(entry: BufferedBatch): boolean {
  return entry.generation === entry.state.generation;
}

/**
 * The application is done with the whole of `entry`: the position moves to where the next fetch of it
 * started, past markers and aborted records after its last message.
 */
export function passed(entry: BufferedBatch): void {
  const { state, batch } = entry;
  if (countsProgress(entry) && (state.position === undefined || state.position < batch.nextOffset)) {
    state.position = batch.nextOffset;
  }
}

export interface FetcherConfig {
  minBytes: number;
  maxBytes: number;
  maxWaitMs: number;
  maxBytesPerPartition: number;
  prefetchResponsesMax: number;
  autoOffsetReset: OffsetResetPolicy;
  isolationLevel: IsolationLevel;
  requestTimeoutMs: number;
  retry: RetryPolicy;
}

interface BrokerWork {
  leader: BrokerAddress;
  fetch: PartitionState[];
  resolve: PartitionState[];
}

const NO_HEADERS: MessageHeaders = Object.freeze({}) as MessageHeaders;

export class Fetcher {
  private readonly states = new Map<string, PartitionState[]>();
  private readonly buffer: BufferedBatch[] = [];
  private reader: Deferred<void> | undefined;
  private running = false;
  /** Bumped by stop(): answers to calls of an earlier session are ignored. */
  private session = 0;
  private abort = new AbortController();
  private pumpScheduled = false;
  private refreshingMetadata = false;
  private readonly timer = new DeadlineTimer(() => this.schedulePump());
  /** Set by a failure no retry can fix; the reader throws it. */
  private failure: BrookError | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly config: FetcherConfig,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  state(topic: string, partition: number): PartitionState | undefined {
    return this.states.get(topic)?.[partition];
  }

  /** The paused partitions, in assignment order. */
  pausedStates(): PartitionState[] {
    return this.allStates().filter((state) => state.paused);
  }

  allStates(): PartitionState[] {
    return [...this.states.values()].flatMap((partitions) =>
      partitions.filter((state) => state !== undefined),
    );
  }

  /** Adds a partition to the assignment (or restarts an assigned one) at `offset`, or at `resetTo`. */
  assign(
    topic: string,
    partition: number,
    offset: number | undefined,
    resetTo: "earliest" | "latest",
  ): PartitionState {
    let partitions = this.states.get(topic);
    if (partitions === undefined) {
      partitions = [];
      this.states.set(topic, partitions);
    }
    const state = partitions[partition] ?? new PartitionState(topic, partition, resetTo);
    partitions[partition] = state;
    state.resetTo = resetTo;
    this.seek(state, offset);
    return state;
  }

  seek(state: PartitionState, offset: number | undefined): void {
    this.restart(state, offset);
    this.schedulePump();
  }

  /**
   * Drops a partition from the assignment: it is no longer fetched, its buffered batches go, and answers
   * still in flight for it are ignored. The state object itself is left alone, so a handler still busy
   * with one of its messages moves its position, and the caller can commit that afterwards.
   */
  unassign(topic: string, partition: number): PartitionState | undefined {
    const state = this.state(topic, partition);
    if (state === undefined) return undefined;
    delete this.states.get(topic)![partition];
    this.dropBuffered(state);
    return state;
  }

  /** Stops fetching the partition and holds back its buffered batches (kept for resume()). */
  pause(state: PartitionState): void {
    state.paused = true;
  }

  /** Fetches the partition again and hands out what was held back, in order. */
  resume(state: PartitionState): void {
    if (!state.paused) return;
    state.paused = false;
    this.wakeReader();
    this.schedulePump();
  }

  /**
   * Gives the messages of `entry` from `index` on back to the reader, ahead of anything fetched later: a
   * reader that stops part-way through a batch because the partition was paused hands the rest back here,
   * so resume() delivers them first. Nothing happens when the batch is obsolete (seek, unassign).
   */
  putBack(entry: BufferedBatch, index: number): void {
    if (!this.isCurrent(entry) || index >= entry.batch.messages.length) return;
    const { batch } = entry;
    const rest = new ConsumerBatch(
      batch.topic,
      batch.partition,
      batch.highWatermark,
      batch.lastStableOffset,
      batch.isolationLevel,
      batch.messages.slice(index),
      batch.nextOffset,
    );
    this.buffer.unshift({ state: entry.state, generation: entry.generation, batch: rest });
    entry.state.bufferedResponses++;
  }

  /** Starts (again) from the current positions; a failure that stopped the last run is forgotten. */
  start(): void {
    this.failure = undefined;
    this.running = true;
    this.abort = new AbortController();
    for (const state of this.allStates()) state.rewind();
    this.schedulePump();
  }

  /** Stops fetching; positions stay, and a later start() fetches from them again. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.session++;
    this.abort.abort();
    this.timer.stop();
    this.buffer.length = 0;
    this.wakeReader();
  }

  /** The next batch for the application; undefined once stopped. Throws the failure that stopped it. */
  async next(): Promise<BufferedBatch | undefined> {
    // Each pass either returns or waits for a wake-up (a new batch, stop, or failure).
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (!this.running) return undefined;
      // The first batch of a partition that is not paused; a paused one's batches keep their place.
      const index = this.buffer.findIndex((entry) => !entry.state.paused);
      if (index === -1) {
        this.reader = deferred();
        await this.reader.promise;
        continue;
      }
      const [entry] = this.buffer.splice(index, 1);
      if (!this.isCurrent(entry)) continue;
      entry.state.bufferedResponses--;
      this.schedulePump();
      // Only markers or aborted records: nothing to hand out, but the position moves past them (the
      // application is done with everything before, as next() is asked only once it is).
      if (entry.batch.isEmpty()) {
        passed(entry);
        continue;
      }
      return entry;
    }
  }

  /** Whether the rest of `entry` may still be handed out: no seek since, and still assigned. */
  isCurrent(entry: BufferedBatch): boolean {
    return this.isLive(entry.state, entry.generation);
  }

  /** Whether the state is still assigned and an answer asked for at `generation` still applies to it. */
  private isLive(state: PartitionState, generation: number): boolean {
    return generation === state.generation && this.state(state.topic, state.partition) === state;
  }

  /**
   * Restarts a partition and drops its buffered batches now: restartAt() lets the partition fetch
   * prefetchResponsesMax more at once, so obsolete ones left for the reader to skip would pile up.
   */
  private restart(state: PartitionState, offset: number | undefined): void {
    state.restartAt(offset);
    this.dropBuffered(state);
  }

  private dropBuffered(state: PartitionState): void {
    let kept = 0;
    for (const entry of this.buffer) if (entry.state !== state) this.buffer[kept++] = entry;
    this.buffer.length = kept;
  }

  private wakeReader(): void {
    const reader = this.reader;
    this.reader = undefined;
    reader?.resolve();
  }

  /** Stops with `error`: the reader throws it (run() rejects with it). */
  fail(error: BrookError): void {
    // The error reaches the application through run() or the iterator; this line is for the log.
    this.cluster.logger.info({ error: error.message }, "consumer stopped");
    this.failure = error;
    this.stop();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || !this.running) return;
    this.pumpScheduled = true;
    soon(() => this.pump());
  }

  /** Groups every partition that is due by its leader and sends one ListOffsets and one Fetch per broker. */
  private pump(): void {
    this.pumpScheduled = false;
    if (!this.running) return;
    const nowMs = this.cluster.options.clock.nowMs();
    const work = new Map<number, BrokerWork>();
    let needMetadata = false;
    for (const state of this.allStates()) {
      if (
        state.busy ||
        state.paused ||
        state.retryAtMs > nowMs ||
        state.bufferedResponses >= this.config.prefetchResponsesMax
      ) {
        continue;
      }
      const leader = this.cluster.metadata.cachedLeader(state.topic, state.partition);
      if (leader === undefined) needMetadata = true;
      else if (leader instanceof BrookError) this.partitionFailed(state, leader, nowMs);
      else {
        let brokerWork = work.get(leader.id);
        if (brokerWork === undefined) {
          brokerWork = { leader, fetch: [], resolve: [] };
          work.set(leader.id, brokerWork);
        }
        (state.fetchOffset === undefined ? brokerWork.resolve : brokerWork.fetch).push(state);
      }
    }
    for (const { leader, fetch, resolve } of work.values()) {
      if (resolve.length > 0) this.listOffsets(leader, resolve);
      if (fetch.length > 0) this.fetch(leader, fetch);
    }
    if (needMetadata) this.refreshMetadata();
    this.armTimer(nowMs);
  }

  private fetch(leader: BrokerAddress, states: PartitionState[]): void {
    const session = this.session;
    const requested = states.map((state) => ({
      state,
      generation: state.generation,
      offset: state.fetchOffset!,
    }));
    const request = {
      replicaId: -1,
      maxWaitMs: this.config.maxWaitMs,
      minBytes: this.config.minBytes,
      maxBytes: this.config.maxBytes,
      isolationLevel: isolationLevelWire(this.config.isolationLevel),
      topics: groupByTopic(requested, ({ state, offset }) => ({
        partition: state.partition,
        fetchOffset: offset,
        partitionMaxBytes: this.config.maxBytesPerPartition,
        currentLeaderEpoch: this.cluster.metadata.cachedLeaderEpoch(state.topic, state.partition),
      })),
    };
    for (const state of states) state.busy = true;
    this.cluster
      .call(leader.address, "fetch", request, {
        timeoutMs: this.config.maxWaitMs + this.config.requestTimeoutMs,
        signal: this.abort.signal,
      })
      .then(
        (response) => {
          const answers = new Map<string, Map<number, FetchPartitionResponse__Output>>();
          for (const topic of response.topics) {
            answers.set(topic.topic, new Map(topic.partitions.map((answer) => [answer.partition, answer])));
          }
          for (const { state, generation, offset } of requested) {
            state.busy = false;
            if (session !== this.session || !this.isLive(state, generation)) continue;
            const answer = answers.get(state.topic)?.get(state.partition);
            if (answer === undefined) {
              this.partitionFailed(state, missingAnswer(state), this.cluster.options.clock.nowMs());
            } else {
              this.fetched(state, offset, answer);
            }
          }
        },
        (error: BrookError) => this.callFailed(session, requested, error),
      )
      .finally(() => this.schedulePump());
  }

  private fetched(state: PartitionState, offset: number, answer: FetchPartitionResponse__Output): void {
    const batches = this.decode(state, offset, answer);
    if (batches instanceof BrookError) {
      if (batches.code === "OFFSET_OUT_OF_RANGE") this.outOfRange(state, offset, batches);
      else this.partitionFailed(state, batches, this.cluster.options.clock.nowMs());
      return;
    }
    state.failures = 0;
    state.highWatermark = answer.highWatermark;
    state.lastStableOffset = answer.lastStableOffset;
    const { batches: readable, nextOffset } = batches;
    if (nextOffset === undefined) return;
    state.fetchOffset = nextOffset;
    // A batch may start before the offset asked for; the application never sees those records. A
    // response with none left is still buffered: handing it out moves the position past the markers and
    // aborted records it held (see next()).
    const messages = toMessages(state, readable, offset);
    this.buffer.push({
      state,
      generation: state.generation,
      batch: new ConsumerBatch(
        state.topic,
        state.partition,
        answer.highWatermark,
        answer.lastStableOffset,
        this.config.isolationLevel,
        messages,
        nextOffset,
      ),
    });
    state.bufferedResponses++;
    this.wakeReader();
  }

  /** The batches of an answer the application may see and where the next fetch starts, or the error it carries. */
  private decode(
    state: PartitionState,
    offset: number,
    answer: FetchPartitionResponse__Output,
  ): ReadableBatches | BrookError {
    const error = fromWireError(answer.error);
    if (error !== undefined) return error;
    let batches: DecodedBatch[];
    let readable: ReadableBatches;
    try {
      batches = decodeRecordBatches(answer.records);
      readable = readableBatches(
        batches,
        this.config.isolationLevel,
        answer.abortedTransactions,
        answer.lastStableOffset,
      );
    } catch (decodeError) {
      return asBrookError(decodeError);
    }
    // The broker returns at least one whole batch when there is one, so bytes without one mean it was cut.
    if (batches.length === 0 && answer.records.length > 0) {
      return new BrookError(
        "RECORD_TOO_LARGE",
        `${state.topic}-${state.partition} at offset ${offset} holds a batch larger than maxBytesPerPartition ` +
          `(${this.config.maxBytesPerPartition} bytes); raise it`,
      );
    }
    return readable;
  }

  private outOfRange(state: PartitionState, offset: number, error: BrookError): void {
    const policy = this.config.autoOffsetReset;
    if (policy === "none") {
      this.fail(error);
      return;
    }
    this.cluster.logger.warn(
      { topic: state.topic, partition: state.partition, offset, resetTo: policy },
      "fetch offset out of range; resetting",
    );
    state.resetTo = policy;
    this.restart(state, undefined);
  }

  private listOffsets(leader: BrokerAddress, states: PartitionState[]): void {
    const session = this.session;
    const requested = states.map((state) => ({ state, generation: state.generation }));
    const request = {
      // read_committed starts a "latest" partition at the last stable offset, as Kafka does.
      isolationLevel: isolationLevelWire(this.config.isolationLevel),
      topics: groupByTopic(requested, ({ state }) => ({
        partition: state.partition,
        timestamp: OffsetSpec[state.resetTo],
      })),
    };
    for (const state of states) state.busy = true;
    this.cluster
      .call(leader.address, "listOffsets", request, { signal: this.abort.signal })
      .then(
        (response) => {
          const nowMs = this.cluster.options.clock.nowMs();
          for (const { state, generation } of requested) {
            state.busy = false;
            if (session !== this.session || !this.isLive(state, generation)) continue;
            const answer = response.topics
              .find((topic) => topic.topic === state.topic)
              ?.partitions.find((partition) => partition.partition === state.partition);
            const error = answer === undefined ? missingAnswer(state) : fromWireError(answer.error);
            if (error !== undefined) this.partitionFailed(state, error, nowMs);
            else {
              state.position = answer!.offset;
              state.fetchOffset = answer!.offset;
              state.failures = 0;
            }
          }
        },
        (error: BrookError) => this.callFailed(session, requested, error),
      )
      .finally(() => this.schedulePump());
  }

  private callFailed(
    session: number,
    requested: { state: PartitionState; generation: number }[],
    error: BrookError,
  ): void {
    const nowMs = this.cluster.options.clock.nowMs();
    for (const { state, generation } of requested) {
      state.busy = false;
      if (session === this.session && this.isLive(state, generation))
        this.partitionFailed(state, error, nowMs);
    }
  }

  /**
   * A retriable failure backs the partition off and marks metadata stale; a consumer keeps retrying for as
   * long as it runs, because a leader can be away for a while. Anything else stops the consumer.
   */
  private partitionFailed(state: PartitionState, error: BrookError, nowMs: number): void {
    if (!isRetriable(error)) {
      this.fail(error);
      return;
    }
    this.cluster.metadata.markStale();
    const delayMs = backoffMs(this.config.retry, state.failures, this.cluster.options.random);
    state.failures++;
    state.retryAtMs = nowMs + delayMs;
    logRetry(
      this.cluster.logger,
      state.failures,
      { topic: state.topic, partition: state.partition, delayMs, error: error.message },
      "fetch failed; retrying",
    );
  }

  private refreshMetadata(): void {
    if (this.refreshingMetadata) return;
    this.refreshingMetadata = true;
    void this.cluster.metadata.refreshForLeaders().then((stuck) => {
      this.refreshingMetadata = false;
      if (!this.running) return;
      const nowMs = this.cluster.options.clock.nowMs();
      for (const state of this.allStates()) {
        if (state.busy || state.retryAtMs > nowMs) continue;
        const error = stuck(state.topic, state.partition);
        if (error !== undefined) this.partitionFailed(state, error, nowMs);
      }
      this.schedulePump();
    });
  }

  /** Wakes the pump when the earliest backoff ends. */
  private armTimer(nowMs: number): void {
    let dueAtMs = Number.POSITIVE_INFINITY;
    for (const state of this.allStates()) {
      if (state.retryAtMs > nowMs) dueAtMs = Math.min(dueAtMs, state.retryAtMs);
    }
    this.timer.armBy(dueAtMs, nowMs);
  }
}

function missingAnswer(state: PartitionState): BrookError {
  return new BrookError(
    "UNKNOWN_SERVER_ERROR",
    `the broker did not answer for ${state.topic}-${state.partition}`,
  );
}

function groupByTopic<T extends { state: PartitionState }, P>(items: T[], toPartition: (item: T) => P) {
  const byTopic = new Map<string, P[]>();
  for (const item of items) {
    const partitions = byTopic.get(item.state.topic) ?? [];
    partitions.push(toPartition(item));
    byTopic.set(item.state.topic, partitions);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

function toMessages(state: PartitionState, batches: DecodedBatch[], fromOffset: number): ConsumedMessage[] {
  const messages: ConsumedMessage[] = [];
  for (const { header, records } of batches) {
    if (header.lastOffset < fromOffset) continue;
    for (const record of records) {
      if (record.offset < fromOffset) continue;
      messages.push({
        topic: state.topic,
        partition: state.partition,
        offset: record.offset,
        key: record.key,
        value: record.value,
        headers: record.headers.length === 0 ? NO_HEADERS : toHeaders(record.headers),
        timestamp: record.timestamp,
      });
    }
  }
  return messages;
}

function toHeaders(headers: RecordHeader[]): MessageHeaders {
  const result: MessageHeaders = {};
  for (const { key, value } of headers) {
    const existing = result[key];
    if (existing === undefined) result[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else result[key] = [existing, value];
  }
  return result;
}
