// A tiny in-memory Brook cluster for the SDK's tests: real @grpc/grpc-js servers on 127.0.0.1:0 that
// implement BrokerService over an in-memory log, with knobs to move leaders, inject errors and hold
// produce answers. It follows the wire contract, not the real broker's internals; of the idempotent
// producer rules it keeps the basics: a producer's last five batches per partition, a repeat of one is
// answered with its offsets, a gap is refused, a producer it does not know starts anywhere. Every broker
// is also the coordinator of every group: a FakeCoordinator the test scripts (see below), and of every
// transactional id: a FakeTransactionCoordinator (fake-transactions.ts). Partitions track open and aborted
// transactions from the batches appended, so read_committed fetches stop at the last stable offset and
// name the aborted transactions in range.

import {
  type AddOffsetsToTxnRequest__Output,
  type AddPartitionsToTxnRequest__Output,
  type BatchHeader,
  type BrokerHandlers,
  BrokerService,
  BrookError,
  type CallRequest__Output,
  type CallResponse,
  type ConsumerGroupHeartbeatRequest__Output,
  type DescribeGroupsRequest__Output,
  type DescribeTransactionsRequest__Output,
  type EndTxnRequest__Output,
  type ErrorCode,
  type FetchRequest__Output,
  fromServiceError,
  type GroupTopicPartitions__Output,
  grpcChannelOptions,
  type InitProducerIdRequest__Output,
  incrementSequence,
  type ListTransactionsRequest__Output,
  noError,
  type OffsetCommitRequest__Output,
  type OffsetFetchRequest__Output,
  type ProduceRequest__Output,
  patchBaseOffset,
  readControlRecord,
  serveCalls,
  splitBatches,
  type TxnOffsetCommitRequest__Output,
  toServiceError,
} from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { FakeTransactionCoordinator } from "./fake-transactions.js";

interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
}

/** One of an idempotent producer's last five batches on a partition. */
interface ProducerBatch {
  producerEpoch: number;
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
}

interface FakePartition {
  leader: number;
  leaderEpoch: number;
  batches: StoredBatch[];
  /** By producer id, oldest first; kept across leader moves, as the replicated log keeps it. */
  producers: Map<number, ProducerBatch[]>;
  logStartOffset: number;
  /** Log end offset; also the high watermark here (no replication). */
  nextOffset: number;
  /** Producer id → first offset of its open transaction. */
  openTransactions: Map<number, number>;
  /** Transactions closed by an abort marker. */
  abortedTransactions: { producerId: number; firstOffset: number; lastOffset: number }[];
}

type Method =
  | "Produce"
  | "Fetch"
  | "ListOffsets"
  | "Metadata"
  | "CreateTopics"
  | "DeleteTopics"
  | "DescribeTopics"
  | "DescribeCluster"
  | "InitProducerId"
  | "FindCoordinator"
  | "ConsumerGroupHeartbeat"
  | "OffsetCommit"
  | "OffsetFetch"
  | "AddPartitionsToTxn"
  | "AddOffsetsToTxn"
  | "EndTxn"
  | "TxnOffsetCommit"
  | "ListTransactions"
  | "DescribeTransactions";

export interface RecordedCall {
  brokerId: number;
  method: Method;
  request: unknown;
  clientId: unknown;
}

export class FakeCluster {
  readonly topics = new Map<string, FakePartition[]>();
  /** A new id each time a topic is created, as a real cluster gives a re-created topic. */
  private readonly topicIds = new Map<string, string>();
  private topicsCreated = 0;
  readonly calls: RecordedCall[] = [];
  /** Per-partition errors the next produce answers carry, keyed "topic-partition". */
  readonly produceErrors = new Map<string, ErrorCode[]>();
  /**
   * Per-partition errors the next produce answers carry after the batches were appended, keyed
   * "topic-partition": the leader wrote them, but the producer never hears so (a lost answer).
   */
  readonly lostAnswers = new Map<string, ErrorCode[]>();
  /**
   * Brokers cut off from the controller: their Metadata answers name this leader and epoch for every
   * partition and say mayBeStale, as a broker whose leadership lease lapsed does.
   */
  readonly staleImages = new Map<number, { leader: number; leaderEpoch: number }>();
  /** Broker id → the port Metadata names for it instead of its own (a broker the network cut off). */
  readonly advertisedPorts = new Map<number, number>();
  /** The id the next InitProducerId hands out. */
  nextProducerId = 1_000;
  /** Request-level failures for the next calls of a method. */
  readonly callErrors = new Map<Method, ErrorCode[]>();
  /** The group coordinator every broker plays. */
  readonly groups = new FakeCoordinator();
  /** The transaction coordinator every broker plays. */
  readonly txns = new FakeTransactionCoordinator({
    appendMarker: (topic, partition, marker) => this.append(this.partition(topic, partition)!, marker),
    commitOffset: (key, offset) => this.groups.committed.set(key, offset),
  });
  /** Calls of these methods are recorded, then wait for the test to release them (holdCalls). */
  private readonly heldCalls = new Map<Method, Promise<void>>();
  /** While set, produce answers wait for release(). */
  private held: { release: Promise<void>; resolve: () => void } | undefined;
  private appendWaiters = new Set<() => void>();

  private constructor(readonly brokers: { id: number; port: number; server: grpc.Server }[]) {}

  static async start(brokerCount = 1): Promise<FakeCluster> {
    const cluster = new FakeCluster([]);
    for (let id = 1; id <= brokerCount; id++) {
      const server = new grpc.Server(grpcChannelOptions);
      server.addService(BrokerService, cluster.handlers(id));
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      cluster.brokers.push({ id, port, server });
    }
    return cluster;
  }

  get bootstrap(): string[] {
    return this.brokers.map(({ port }) => `127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    this.release();
    for (const { server } of this.brokers) server.forceShutdown();
  }

  createTopic(
    name: string,
    partitions: number,
    leader = (partition: number) => this.brokers[partition % this.brokers.length].id,
  ): void {
    this.topicIds.set(name, `${name}-${++this.topicsCreated}`);
    this.topics.set(
      name,
      Array.from({ length: partitions }, (_, partition) => ({
        leader: leader(partition),
        leaderEpoch: 0,
        batches: [],
        producers: new Map(),
        logStartOffset: 0,
        nextOffset: 0,
        openTransactions: new Map(),
        abortedTransactions: [],
      })),
    );
  }

  /** Appends raw batches (any producer, transactional or control) as a leader would; returns the base offset. */
  appendRaw(topic: string, partition: number, records: Buffer): number {
    const state = this.partition(topic, partition)!;
    const baseOffset = state.nextOffset;
    this.append(state, records);
    return baseOffset;
  }

  /** The first offset of the oldest open transaction, or the high watermark. */
  lastStableOffset(topic: string, partition: number): number {
    const state = this.partition(topic, partition)!;
    return Math.min(state.nextOffset, ...state.openTransactions.values());
  }

  moveLeader(topic: string, partition: number, brokerId: number): void {
    const state = this.partition(topic, partition)!;
    state.leader = brokerId;
    state.leaderEpoch++;
  }

  /** Drops the log before `offset`, as retention would. */
  truncateBefore(topic: string, partition: number, offset: number): void {
    const state = this.partition(topic, partition)!;
    state.batches = state.batches.filter((batch) => batch.lastOffset >= offset);
    state.logStartOffset = offset;
  }

  hold(): void {
    let resolve!: () => void;
    const release = new Promise<void>((done) => {
      resolve = done;
    });
    this.held = { release, resolve };
  }

  release(): void {
    this.held?.resolve();
    this.held = undefined;
  }

  /** Holds every call of `method` (already recorded in `calls`) until the returned function is called. */
  holdCalls(method: Method): () => void {
    let release!: () => void;
    this.heldCalls.set(
      method,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    return () => {
      this.heldCalls.delete(method);
      release();
    };
  }

  callsOf(method: Method): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Produce requests as sent: per request, the "topic-partition" keys it carried. */
  producedPartitions(): string[][] {
    return this.callsOf("Produce").map(({ request }) =>
      (request as ProduceRequest__Output).topics.flatMap(({ topic, partitions }) =>
        partitions.map(({ partition }) => `${topic}-${partition}`),
      ),
    );
  }

  partition(topic: string, partition: number): FakePartition | undefined {
    return this.topics.get(topic)?.[partition];
  }

  private handlers(brokerId: number): BrokerHandlers {
    const unary =
      <Req, Res>(method: Method, handle: (request: Req) => Res | Promise<Res>) =>
      (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
        this.calls.push({
          brokerId,
          method,
          request: call.request,
          clientId: call.metadata.get("brook-client-id")[0],
        });
        const injected = this.callErrors.get(method)?.shift();
        if (injected !== undefined) return callback(toServiceError(new BrookError(injected)));
        Promise.resolve(this.heldCalls.get(method))
          .then(() => handle(call.request))
          .then(
            (response) => callback(null, response),
            (error) => callback(toServiceError(error)),
          );
      };
    const Produce = unary("Produce", (request: ProduceRequest__Output) => this.produce(brokerId, request));
    const Fetch = unary("Fetch", (request: FetchRequest__Output) => this.fetch(brokerId, request));
    return {
      Produce,
      Fetch,
      // The SDK sends produce and fetch on this stream; each request goes through the unary handler above,
      // so it is recorded (and fails as injected) exactly as a unary call would be.
      Calls: (call: grpc.ServerDuplexStream<CallRequest__Output, CallResponse>) =>
        serveCalls(call, {
          produce: (request) => viaUnary(Produce, request, call.metadata),
          fetch: (request) => viaUnary(Fetch, request, call.metadata),
        }),
      ListOffsets: unary("ListOffsets", ({ topics, isolationLevel }) => ({
        topics: topics.map(({ topic, partitions }) => ({
          topic,
          partitions: partitions.map(({ partition, timestamp }) => {
            const error = this.leaderError(brokerId, topic, partition);
            const state = this.partition(topic, partition);
            if (error !== undefined || state === undefined) return { partition, error, offset: -1 };
            const latest = isolationLevel === 1 ? this.lastStableOffset(topic, partition) : state.nextOffset;
            return { partition, error: noError, offset: timestamp === -2 ? state.logStartOffset : latest };
          }),
        })),
      })),
      Metadata: unary("Metadata", ({ topics }) => ({
        clusterId: "fake",
        controllerId: 1,
        brokers: this.brokers.map(({ id, port }) => ({
          id,
          host: "127.0.0.1",
          port: this.advertisedPorts.get(id) ?? port,
          rack: "",
        })),
        topics: (topics.length > 0 ? topics : [...this.topics.keys()]).map((name) => {
          const partitions = this.topics.get(name);
          if (partitions === undefined)
            return { name, error: { code: "UNKNOWN_TOPIC", message: "no such topic" } };
          return {
            name,
            error: noError,
            topicId: this.topicIds.get(name),
            partitions: partitions.map((state, partition) => {
              const { leader, leaderEpoch } = this.staleImages.get(brokerId) ?? state;
              return { partition, leader, leaderEpoch, replicas: [leader], isr: [leader] };
            }),
          };
        }),
        mayBeStale: this.staleImages.has(brokerId),
      })),
      CreateTopics: unary("CreateTopics", ({ topics, validateOnly }) => ({
        topics: topics.map(({ name, numPartitions }) => {
          const partitions = numPartitions === -1 ? 1 : numPartitions;
          if (this.topics.has(name))
            return { name, error: { code: "TOPIC_ALREADY_EXISTS", message: "exists" } };
          if (partitions < 1) return { name, error: { code: "INVALID_PARTITIONS", message: "at least 1" } };
          if (!validateOnly) this.createTopic(name, partitions);
          return { name, error: noError };
        }),
      })),
      DeleteTopics: unary("DeleteTopics", ({ names }) => ({
        topics: names.map((name) => {
          if (!this.topics.delete(name))
            return { name, error: { code: "UNKNOWN_TOPIC", message: "no such topic" } };
          return { name, error: noError };
        }),
      })),
      DescribeTopics: unary("DescribeTopics", ({ names }) => ({
        topics: (names.length > 0 ? names : [...this.topics.keys()]).map((name) => {
          const partitions = this.topics.get(name);
          if (partitions === undefined)
            return { name, error: { code: "UNKNOWN_TOPIC", message: "no such topic" } };
          return {
            name,
            error: noError,
            topicId: this.topicIds.get(name),
            configs: [{ key: "cleanup.policy", value: "delete" }],
            partitions: partitions.map((state, partition) => ({
              info: {
                partition,
                leader: state.leader,
                leaderEpoch: state.leaderEpoch,
                replicas: [state.leader],
                isr: [state.leader],
              },
              highWatermark: state.nextOffset,
              logStartOffset: state.logStartOffset,
              logEndOffset: state.nextOffset,
              sizeBytes: state.batches.reduce((sum, batch) => sum + batch.bytes.length, 0),
            })),
          };
        }),
      })),
      InitProducerId: unary("InitProducerId", (request: InitProducerIdRequest__Output) =>
        request.transactionalId !== ""
          ? this.txns.initProducerId(request)
          : { error: noError, producerId: this.nextProducerId++, producerEpoch: 0 },
      ),
      AddPartitionsToTxn: unary("AddPartitionsToTxn", (request: AddPartitionsToTxnRequest__Output) =>
        this.txns.addPartitions(request),
      ),
      AddOffsetsToTxn: unary("AddOffsetsToTxn", (request: AddOffsetsToTxnRequest__Output) =>
        this.txns.addOffsets(request),
      ),
      EndTxn: unary("EndTxn", (request: EndTxnRequest__Output) => this.txns.endTxn(request)),
      TxnOffsetCommit: unary("TxnOffsetCommit", (request: TxnOffsetCommitRequest__Output) =>
        this.txns.txnOffsetCommit(request),
      ),
      ListTransactions: unary("ListTransactions", (request: ListTransactionsRequest__Output) =>
        this.txns.list(request, brokerId),
      ),
      DescribeTransactions: unary("DescribeTransactions", (request: DescribeTransactionsRequest__Output) =>
        this.txns.describe(request, brokerId),
      ),
      FindCoordinator: unary("FindCoordinator", () => {
        const { port } = this.brokers.find((broker) => broker.id === brokerId)!;
        return { error: noError, nodeId: brokerId, host: "127.0.0.1", port };
      }),
      ConsumerGroupHeartbeat: unary(
        "ConsumerGroupHeartbeat",
        (request: ConsumerGroupHeartbeatRequest__Output) => this.groups.heartbeat(request),
      ),
      OffsetCommit: unary("OffsetCommit", (request: OffsetCommitRequest__Output) =>
        this.groups.commit(request),
      ),
      OffsetFetch: unary("OffsetFetch", (request: OffsetFetchRequest__Output) => this.groups.fetch(request)),
      DescribeGroups: unary("DescribeGroups", (request: DescribeGroupsRequest__Output) =>
        this.groups.describe(request, brokerId),
      ),
      DescribeCluster: unary("DescribeCluster", () => ({
        clusterId: "fake",
        controllers: [{ id: 1, leader: true, term: 3, commitIndex: 42, matchIndex: 42, lag: 0 }],
        brokers: this.brokers.map(({ id, port }) => ({ id, host: "127.0.0.1", port, state: "alive" })),
        offlinePartitions: 0,
        underReplicatedPartitions: 0,
      })),
    };
  }

  private leaderError(brokerId: number, topic: string, partition: number) {
    const state = this.partition(topic, partition);
    if (!this.topics.has(topic)) return { code: "UNKNOWN_TOPIC", message: "no such topic" };
    if (state === undefined) return { code: "UNKNOWN_PARTITION", message: "no such partition" };
    if (state.leader !== brokerId)
      return { code: "NOT_LEADER", message: `broker ${brokerId} does not lead it` };
    return undefined;
  }

  private async produce(brokerId: number, request: ProduceRequest__Output) {
    if (this.held !== undefined) await this.held.release;
    return {
      topics: request.topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition, records }) => {
          const injected = this.produceErrors.get(`${topic}-${partition}`)?.shift();
          const error = injected
            ? { code: injected, message: "injected" }
            : this.leaderError(brokerId, topic, partition);
          if (error !== undefined) return { partition, error, baseOffset: -1 };
          const state = this.partition(topic, partition)!;
          const headers = splitBatches(records);
          const fenced = headers
            .filter((header) => header.isTransactional)
            .map((h) => this.txns.produceError(h.producerId, h.producerEpoch, `${topic}-${partition}`))
            .find((code) => code !== undefined);
          if (fenced !== undefined)
            return { partition, error: { code: fenced, message: "fake" }, baseOffset: -1 };
          const verdict = producerVerdict(state, headers);
          if (verdict.error !== undefined) return { partition, error: verdict.error, baseOffset: -1 };
          if (verdict.duplicateOf !== undefined) {
            return answerOrLost(this.lostAnswers, `${topic}-${partition}`, {
              partition,
              error: noError,
              baseOffset: verdict.duplicateOf,
              logAppendTimeMs: -1,
              logStartOffset: state.logStartOffset,
            });
          }
          const baseOffset = state.nextOffset;
          this.append(state, records);
          return answerOrLost(this.lostAnswers, `${topic}-${partition}`, {
            partition,
            error: noError,
            baseOffset,
            logAppendTimeMs: -1,
            logStartOffset: state.logStartOffset,
          });
        }),
      })),
    };
  }

  /** Appends whole batches, keeping the producers' last batches and the open and aborted transactions. */
  private append(state: FakePartition, records: Buffer): void {
    for (const header of splitBatches(records, undefined, { acceptCompacted: true })) {
      if (header.producerId >= 0 && !header.isControl) {
        const kept = (state.producers.get(header.producerId) ?? []).slice(-4);
        kept.push({
          producerEpoch: header.producerEpoch,
          firstSequence: header.baseSequence,
          lastSequence: incrementSequence(header.baseSequence, header.lastOffsetDelta),
          baseOffset: state.nextOffset,
        });
        state.producers.set(header.producerId, kept);
      }
      const bytes = Buffer.from(records.subarray(header.position, header.position + header.sizeInBytes));
      patchBaseOffset(bytes, 0, state.nextOffset);
      const firstOpen = state.openTransactions.get(header.producerId);
      if (header.isControl) {
        if (
          firstOpen !== undefined &&
          readControlRecord(bytes, { position: 0, isControl: true }).type === "abort"
        ) {
          state.abortedTransactions.push({
            producerId: header.producerId,
            firstOffset: firstOpen,
            lastOffset: state.nextOffset,
          });
        }
        state.openTransactions.delete(header.producerId);
      } else if (header.isTransactional && firstOpen === undefined) {
        state.openTransactions.set(header.producerId, state.nextOffset);
      }
      state.batches.push({
        baseOffset: state.nextOffset,
        lastOffset: state.nextOffset + header.lastOffsetDelta,
        bytes,
      });
      state.nextOffset += header.lastOffsetDelta + 1;
    }
    for (const wake of this.appendWaiters) wake();
  }

  private async fetch(brokerId: number, request: FetchRequest__Output) {
    let response = this.readFetch(brokerId, request);
    if (response.bytes < request.minBytes && request.maxWaitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.appendWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, request.maxWaitMs);
        this.appendWaiters.add(done);
      });
      response = this.readFetch(brokerId, request);
    }
    return { topics: response.topics };
  }

  private readFetch(brokerId: number, request: FetchRequest__Output) {
    let bytes = 0;
    const topics = request.topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map(({ partition, fetchOffset, partitionMaxBytes }) => {
        const error = this.leaderError(brokerId, topic, partition);
        const state = this.partition(topic, partition);
        if (error !== undefined || state === undefined) return { partition, error };
        if (fetchOffset < state.logStartOffset || fetchOffset > state.nextOffset) {
          return { partition, error: { code: "OFFSET_OUT_OF_RANGE", message: `offset ${fetchOffset}` } };
        }
        const readCommitted = request.isolationLevel === 1;
        const lastStableOffset = this.lastStableOffset(topic, partition);
        const end = readCommitted ? lastStableOffset : state.nextOffset;
        const chosen: Buffer[] = [];
        let size = 0;
        let lastOffset = fetchOffset;
        for (const batch of state.batches) {
          if (batch.lastOffset < fetchOffset) continue;
          if (batch.baseOffset >= end) break;
          if (chosen.length > 0 && size + batch.bytes.length > partitionMaxBytes) break;
          chosen.push(batch.bytes);
          size += batch.bytes.length;
          lastOffset = batch.lastOffset;
        }
        bytes += size;
        const abortedTransactions = readCommitted
          ? state.abortedTransactions
              .filter((aborted) => aborted.lastOffset >= fetchOffset && aborted.firstOffset <= lastOffset)
              .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }))
          : [];
        return {
          partition,
          error: noError,
          highWatermark: state.nextOffset,
          lastStableOffset,
          logStartOffset: state.logStartOffset,
          records: Buffer.concat(chosen),
          abortedTransactions,
        };
      }),
    }));
    return { topics, bytes };
  }
}

/**
 * The idempotent producer rules, simplified (one producer and epoch per request, a repeat sent alone): a
 * repeat of one of the producer's last five batches is a duplicate (answered with its base offset); a
 * batch not following the last is out of order; a producer the partition does not know starts anywhere.
 */
function producerVerdict(
  state: FakePartition,
  headers: BatchHeader[],
): { duplicateOf?: number; error?: { code: ErrorCode; message: string } } {
  let expected: number | undefined;
  for (const header of headers) {
    const kept = header.producerId >= 0 ? state.producers.get(header.producerId) : undefined;
    const last = kept?.at(-1);
    if (kept === undefined || last === undefined || last.producerEpoch !== header.producerEpoch) continue;
    const lastSequence = incrementSequence(header.baseSequence, header.lastOffsetDelta);
    const repeat = kept.find(
      (b) => b.firstSequence === header.baseSequence && b.lastSequence === lastSequence,
    );
    if (repeat !== undefined) return { duplicateOf: repeat.baseOffset };
    expected ??= incrementSequence(last.lastSequence, 1);
    if (header.baseSequence !== expected) {
      const message = `sequence ${header.baseSequence}, expected ${expected}`;
      return { error: { code: "OUT_OF_ORDER_SEQUENCE_NUMBER", message } };
    }
    expected = incrementSequence(lastSequence, 1);
  }
  return {};
}

/** The answer, or, when a lost answer is queued for the partition, that error in its place. */
function answerOrLost<T extends { partition: number }>(
  lostAnswers: Map<string, ErrorCode[]>,
  key: string,
  answer: T,
): T | { partition: number; error: { code: ErrorCode; message: string }; baseOffset: number } {
  const lost = lostAnswers.get(key)?.shift();
  if (lost === undefined) return answer;
  return { partition: answer.partition, error: { code: lost, message: "answer lost" }, baseOffset: -1 };
}

interface FakeMember {
  groupId: string;
  memberEpoch: number;
  /** What it said it holds in its last heartbeat. */
  owned: string[];
  /** The server assignor it named last, and its metadata: a join sets it, a later heartbeat if it carries any. */
  serverAssignor: string;
  metadata: Buffer;
}

/**
 * A group coordinator for the SDK's tests, simpler than the broker's: the test says what each member may
 * hold (`target`), and the coordinator follows KIP-848's order: a partition the member holds outside its
 * target is revoked first (the answer leaves it out and the epoch stays); once the member holds nothing
 * else its epoch moves to the group epoch and it gets the rest of its target. Heartbeats and commits are
 * written to `log` as one transcript, so a test can check what happened in which order.
 */
export class FakeCoordinator {
  /** One line per heartbeat answered, commit taken and error given, in order. Members are m1, m2, ... */
  readonly log: string[] = [];
  readonly heartbeats: ConsumerGroupHeartbeatRequest__Output[] = [];
  /** Committed offsets by "group/topic-partition". */
  readonly committed = new Map<string, number>();
  /** Errors the next heartbeats answer with, whoever sends them. */
  readonly heartbeatErrors: ErrorCode[] = [];
  /** Errors the next commits answer with (request-level). */
  readonly commitErrors: ErrorCode[] = [];
  /** Every OffsetFetch taken, in order. */
  readonly offsetFetches: OffsetFetchRequest__Output[] = [];
  /**
   * "group/topic-partition" keys on which a transaction holds an offset not committed or aborted yet: a
   * fetch with require_stable is answered UNSTABLE_OFFSET_COMMIT there (KIP-447), one without gets `committed`.
   */
  readonly pendingTxnOffsets = new Set<string>();
  heartbeatIntervalMs = 20;
  /** What a member may hold; by default everything the test put in `assignment`. */
  target: (memberId: string) => string[] = () => this.assignment;
  /** The default target of every member, as "topic-partition". */
  assignment: string[] = [];
  readonly members = new Map<string, FakeMember>();
  private groupEpoch = 1;
  private readonly names = new Map<string, string>();

  /** The short name ("m1", ...) the log uses for a member id. */
  nameOf(memberId: string): string {
    let name = this.names.get(memberId);
    if (name === undefined) {
      name = `m${this.names.size + 1}`;
      this.names.set(memberId, name);
    }
    return name;
  }

  /** Moves the group to a new epoch, as a changed target assignment would. */
  bumpEpoch(): void {
    this.groupEpoch++;
  }

  /** Forgets a member, as an expired session would: its next heartbeat is answered UNKNOWN_MEMBER_ID. */
  forget(memberId: string): void {
    this.members.delete(memberId);
  }

  heartbeat(request: ConsumerGroupHeartbeatRequest__Output) {
    this.heartbeats.push(request);
    const name = this.nameOf(request.memberId);
    const owned = keysOf(request.ownedPartitions);
    const line = `heartbeat ${name} epoch=${request.memberEpoch} owned=[${owned.join(",")}]`;
    const injected = this.heartbeatErrors.shift();
    let member = this.members.get(request.memberId);
    const refusal: ErrorCode | undefined =
      injected ??
      (request.memberEpoch > 0 && member === undefined
        ? "UNKNOWN_MEMBER_ID"
        : member !== undefined && request.memberEpoch > member.memberEpoch
          ? "FENCED_MEMBER_EPOCH"
          : undefined);
    if (refusal !== undefined) {
      this.log.push(`${line} -> ${refusal}`);
      return { error: { code: refusal, message: "scripted" }, memberId: request.memberId, memberEpoch: -1 };
    }
    if (request.memberEpoch < 0) {
      this.members.delete(request.memberId);
      this.log.push(line);
      return { error: noError, memberId: request.memberId, memberEpoch: request.memberEpoch, assignment: [] };
    }
    if (member === undefined || request.memberEpoch === 0) {
      member = {
        groupId: request.groupId,
        memberEpoch: 0,
        owned: [],
        serverAssignor: "",
        metadata: Buffer.alloc(0),
      };
      this.members.set(request.memberId, member);
    }
    member.owned = owned;
    member.serverAssignor = request.serverAssignor;
    if (request.memberEpoch === 0 || request.memberMetadata !== undefined) {
      member.metadata = request.memberMetadata ?? Buffer.alloc(0);
    }
    const target = new Set(this.target(request.memberId));
    const revoking = owned.filter((key) => !target.has(key));
    if (revoking.length === 0) member.memberEpoch = this.groupEpoch;
    const assignment = revoking.length > 0 ? owned.filter((key) => target.has(key)) : [...target].sort();
    this.log.push(`${line} -> epoch=${member.memberEpoch} assignment=[${assignment.join(",")}]`);
    return {
      error: noError,
      memberId: request.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      assignment: toGroupTopicPartitions(assignment),
    };
  }

  commit(request: OffsetCommitRequest__Output) {
    const name = request.memberId === "" ? "standalone" : this.nameOf(request.memberId);
    const offsets = request.topics.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset }) => ({ key: `${topic}-${partition}`, offset })),
    );
    const line = `commit ${name} epoch=${request.memberEpoch} ${offsets.map(({ key, offset }) => `${key}@${offset}`).join(",")}`;
    const member = this.members.get(request.memberId);
    const refusal: ErrorCode | undefined =
      this.commitErrors.shift() ??
      (request.memberId === ""
        ? this.members.size > 0
          ? "NON_EMPTY_GROUP"
          : undefined
        : member === undefined
          ? "UNKNOWN_MEMBER_ID"
          : request.memberEpoch < member.memberEpoch
            ? "STALE_MEMBER_EPOCH"
            : request.memberEpoch > member.memberEpoch
              ? "FENCED_MEMBER_EPOCH"
              : undefined);
    if (refusal !== undefined) {
      this.log.push(`${line} -> ${refusal}`);
      return { error: { code: refusal, message: "scripted" }, topics: [] };
    }
    for (const { key, offset } of offsets) this.committed.set(`${request.groupId}/${key}`, offset);
    this.log.push(line);
    return {
      error: noError,
      topics: request.topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition }) => ({ partition, error: noError })),
      })),
    };
  }

  /** Brook's groups as DescribeGroups shows them: each member's partitions and metadata, the assignor named most. */
  describe(request: DescribeGroupsRequest__Output, brokerId: number) {
    return {
      groups: request.groupIds.map((groupId) => {
        const members = [...this.members].filter(([, member]) => member.groupId === groupId);
        const votes = members.filter(([, m]) => m.serverAssignor === "range").length;
        return {
          groupId,
          error: noError,
          state: members.length > 0 ? "stable" : "dead",
          type: "consumer",
          coordinator: brokerId,
          groupEpoch: this.groupEpoch,
          serverAssignor: votes * 2 > members.length ? "range" : "uniform",
          members: members.map(([memberId, member]) => ({
            memberId,
            memberEpoch: member.memberEpoch,
            assignment: toGroupTopicPartitions(member.owned),
            memberMetadata: member.metadata,
          })),
        };
      }),
    };
  }

  fetch(request: OffsetFetchRequest__Output) {
    this.offsetFetches.push(request);
    return {
      error: noError,
      topics: request.topics.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map((partition) => {
          const key = `${request.groupId}/${topic}-${partition}`;
          const unstable = request.requireStable && this.pendingTxnOffsets.has(key);
          return {
            partition,
            offset: unstable ? -1 : (this.committed.get(key) ?? -1),
            metadata: "",
            error: unstable ? { code: "UNSTABLE_OFFSET_COMMIT", message: "scripted" } : noError,
            commitTimestampMs: -1,
          };
        }),
      })),
    };
  }
}

function keysOf(groups: GroupTopicPartitions__Output[]): string[] {
  return groups
    .flatMap(({ topic, partitions }) => partitions.map((partition) => `${topic}-${partition}`))
    .sort();
}

function toGroupTopicPartitions(keys: string[]) {
  const byTopic = new Map<string, number[]>();
  for (const key of keys) {
    const cut = key.lastIndexOf("-");
    const topic = key.slice(0, cut);
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), Number(key.slice(cut + 1))]);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/** Runs a unary handler for one request that arrived on the Calls stream. */
function viaUnary<Req, Res>(
  handler: (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void,
  request: Req,
  metadata: grpc.Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    handler({ request, metadata } as grpc.ServerUnaryCall<Req, Res>, (error, response) =>
      error ? reject(fromServiceError(error as grpc.ServiceError)) : resolve(response as Res),
    ),
  );
}
