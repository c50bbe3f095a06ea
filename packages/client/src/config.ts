// Every default and limit of the SDK, named once with its unit last, and the reason for each value.

import type { RetryPolicy } from "./retry/retry-policy.js";

export const clientDefaults = {
  clientId: "brook",
  /** Kafka's request.timeout.ms: long enough for acks=all behind a slow fsync, short enough to fail over. */
  requestTimeoutMs: 30_000,
  /**
   * How long a call waits for a connection to its broker before it fails BROKER_NOT_AVAILABLE (KafkaJS's
   * connectionTimeout, also 1 s): a broker cut off by the network otherwise holds every call sent to it
   * until the network heals, long after the cluster has moved its partitions elsewhere.
   */
  connectionTimeoutMs: 1_000,
  /**
   * The gRPC deadline is this much later than the timeout the broker is told, so the broker's own typed
   * answer (e.g. REQUEST_TIMED_OUT waiting for replicas) usually arrives before the call is cut off.
   */
  deadlineMarginMs: 1_000,
} as const;

/**
 * Rides out a leader failover (a broker's session timeout plus an election, a few seconds) without failing
 * sends: 100, 200, 400 ms and then 500 ms steps, about 14 s over thirty retries. The first retries are
 * quick because NOT_LEADER usually clears with a single metadata refresh; the steps stay short so that a
 * client notices the new leader within half a second of its election (with 2 s steps, as before, a send
 * that began failing at the fault retried at 1.5 s and then at 3.1 s, after a 1.7 s failover: that wait
 * was most of the 3-4 s the chaos suite measured).
 */
export const defaultRetryPolicy: RetryPolicy = {
  retries: 30,
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 500,
  multiplier: 2,
  /** ±20% so clients that failed together do not retry in lockstep (KafkaJS's factor). */
  jitterFactor: 0.2,
};

export const metadataLimits = {
  /** A burst of NOT_LEADER answers costs at most one Metadata call per this interval. */
  refreshIntervalMsMin: 100,
  /** Kafka's metadata.max.age.ms: pick up new partitions and leaders even when nothing failed. */
  maxAgeMs: 300_000,
  /**
   * A broker that did not answer, or refused a send with NOT_LEADER, is asked for metadata last for this
   * long: it may be down, or a leader cut off from the controller that has not heard of its successor.
   */
  distrustMs: 5_000,
  /**
   * A Metadata call's deadline on one broker, before the next is asked: brokers answer it from memory, so
   * one that takes longer is cut off, paused or overloaded (a call to a cut-off broker otherwise waits
   * for its connection to heal).
   */
  callTimeoutMs: 2_000,
  /** Addresses remembered as distrusted at once (the oldest is forgotten first). */
  distrustedMax: 64,
} as const;

export const producerDefaults = {
  /**
   * Kafka's enable.idempotence default since 3.0: retries cannot duplicate records. Turned off instead
   * when acks 0 or 1 is given (idempotence needs acks=all), as Kafka does.
   */
  idempotent: true,
  /** Kafka's default since 3.0: every in-sync replica has the batch before send() resolves. */
  acks: -1,
  /** Kafka 4.0's linger.ms: a few ms of waiting fills batches, and one request carries them all. */
  lingerMs: 5,
  /**
   * Kafka's batch.size. Without idempotence Brook puts every ready batch of a partition (and of every
   * partition the broker leads) in one request, so batch size does not cap throughput the way it does in
   * Kafka; an idempotent producer (the default) sends at most five batches of a partition per round trip
   * (producerLimits), as Kafka does, so batch size caps its per-partition throughput. Measured on three
   * local nodes, replication factor 3, acks=all, 1 KiB records: 12.5 MB/s at 16 KiB, 20.8 at 64 KiB,
   * 31.3 at 256 KiB (38 without idempotence). A batch closes after lingerMs whatever its size, so a
   * lightly loaded producer sends as soon as before; only a busy one fills bigger batches.
   */
  batchBytes: 256 * 1024,
  /** Kafka's buffer.memory: send() waits when this much is buffered and not yet acknowledged. */
  bufferBytesMax: 32 * 1024 * 1024,
  /** Kafka's max.in.flight.requests.per.connection. */
  maxInFlightRequests: 5,
  /**
   * Kafka's max.request.size. Bigger requests measured no faster (the per-call cost is already spread
   * over ~10,000 records of 100 B), and 1 MiB stays under gRPC's default 4 MiB receive limit.
   */
  requestBytesMax: 1024 * 1024,
  /** Kafka's transaction.timeout.ms: the coordinator aborts a transaction left open this long. */
  transactionTimeoutMs: 60_000,
} as const;

export const producerLimits = {
  /**
   * Batches of one partition, never sent before, in one request of an idempotent producer: the leader
   * remembers a producer's last five batches (Kafka's NUM_BATCHES_TO_RETAIN, which is why Kafka caps
   * max.in.flight.requests.per.connection at 5 with idempotence), so if the answer is lost, each of them
   * is still recognised when retried.
   */
  idempotentBatchesPerRequestMax: 5,
} as const;

export const consumerDefaults = {
  /** Kafka's fetch.min.bytes: answer as soon as anything is there. */
  minBytes: 1,
  /** Kafka's fetch.max.bytes. */
  maxBytes: 50 * 1024 * 1024,
  /** Kafka's fetch.max.wait.ms: how long the broker holds an empty fetch (long poll). */
  maxWaitMs: 500,
  /** Kafka's max.partition.fetch.bytes. */
  maxBytesPerPartition: 1024 * 1024,
  /**
   * How many fetch responses a partition may have buffered ahead of the application: two lets the next
   * fetch be in flight while the app works through the last one, and no more bounds memory.
   */
  prefetchResponsesMax: 2,
  /**
   * Kafka's session.timeout.ms (45 s there): a member not heard from for this long loses its partitions.
   * Shorter here because Brook's heartbeats are cheap and a dead consumer's partitions should move soon.
   */
  sessionTimeoutMs: 10_000,
  /** Kafka's max.poll.interval.ms in the role of KIP-848's rebalance timeout: how long revoking may take. */
  rebalanceTimeoutMs: 60_000,
  /** The pace until the coordinator answers with its own (the broker's default is also 500 ms). */
  heartbeatIntervalMs: 500,
  /** Kafka's enable.auto.commit. */
  autoCommit: true,
  /** Kafka's auto.commit.interval.ms: what a crash makes the group process again is at most this much. */
  autoCommitIntervalMs: 5_000,
  /**
   * Kafka's isolation.level default (the Java consumer's; KafkaJS reads read_committed by default): a
   * consumer that wants only committed transactions says so.
   */
  isolationLevel: "read_uncommitted",
} as const;

export const consumerLimits = {
  /**
   * How often a commit refused with STALE_MEMBER_EPOCH is sent again, each time after a heartbeat: one
   * heartbeat brings the current epoch, so more than a few means the member is being fenced.
   */
  commitStaleEpochRetriesMax: 3,
} as const;

export const adminDefaults = {
  /** createTopics waits this long for the new partitions to have leaders in metadata. */
  waitForLeadersTimeoutMs: 10_000,
  /** How often createTopics polls metadata while it waits for leaders. */
  waitForLeadersPollMs: 50,
} as const;
