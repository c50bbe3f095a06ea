// The load's producer as an unmodified Kafka application writes it: kafkajs on the brokers' Kafka
// listeners, idempotent, acks=all, following leaders through its own metadata refreshes. Imported only
// when a drill or a chaos run asks for client "kafka" (producer.ts), so nothing else loads kafkajs.
//
// kafkajs's idempotence needs two rules from its caller, because of how it numbers batches: it takes a
// partition's next sequence numbers when it builds a request and hands them back when the request fails,
// whatever the failure, including a lost answer to a batch the broker did append (a leader killed after
// replicating it). The next batch it builds for that partition gets those numbers. If that is the retry
// of the same batch, the broker knows it and answers with the first append's offsets, as it should. If
// it is another batch, the broker takes it for that retry (same producer, same sequence range), answers
// with the first batch's offsets and appends nothing: records acknowledged and lost; and the first batch,
// retried later under later numbers, is appended again: duplicates. So:
//
//   1. a partition's next batch is sent only once the one before is answered, so that the batch that
//      gets handed-back numbers is the retry of the same batch;
//   2. after a send fails for good (kafkajs gives up on some errors even when idempotent, e.g. a refused
//      connection to a leader its stale metadata still names, possibly after an attempt that was
//      appended), the next batches go to a new kafkajs producer: a new producer id, whose numbering
//      cannot collide with what the failed batch may have left in the log. Kafka's Java client does the
//      same by itself (KIP-360's epoch bump), and keeps five batches in flight per partition safely
//      because it tracks each of them; kafkajs does neither.
//
// Without these rules a chaos run of kafkajs producers did lose and duplicate acknowledged records; with
// them, none (docs/drill.md).

import type { Logger } from "@brook/client";
import { Kafka, type LogEntry, logLevel, Partitioners, type Producer, type RecordMetadata } from "kafkajs";
import { type LoadClient, type LoadProducer, SendFailure } from "./producer.js";
import type { Placement } from "./records.js";

/** What the load uses of a kafkajs producer (a fake in tests). */
export type KafkaSender = Pick<Producer, "connect" | "send" | "disconnect">;

/** How deep kafkajs's wrapped errors are searched for the Kafka error that caused them. */
const causeDepthMax = 8;

export interface KafkaLoadClientOptions {
  /** The Kafka listeners, host:port. */
  brokers: readonly string[];
  clientId?: string;
  /** Default true. */
  idempotent?: boolean;
  /** Where kafkajs's log lines go (info and up); none when absent. */
  logger?: Logger;
}

export function kafkaLoadClient(options: KafkaLoadClientOptions): LoadClient {
  const kafka = new Kafka({
    brokers: [...options.brokers],
    clientId: options.clientId ?? "brook-load",
    logLevel: options.logger === undefined ? logLevel.NOTHING : logLevel.INFO,
    logCreator: () => (entry) => forwardLog(options.logger, entry),
  });
  const idempotent = options.idempotent ?? true;
  return {
    kind: "kafka",
    producer: () =>
      new KafkaLoadProducer(() =>
        kafka.producer({
          idempotent,
          // kafkajs serialises an idempotent producer's requests to a broker anyway (a lock per broker);
          // one request per connection says so, as Kafka's KIP-98 first required.
          maxInFlightRequests: 1,
          // The load names every record's partition; the partitioner only has to be chosen, not used.
          createPartitioner: Partitioners.DefaultPartitioner,
        }),
      ),
  };
}

export class KafkaLoadProducer implements LoadProducer {
  /** The kafkajs producer new sends go to; replaced after a send fails for good (rule 2 above). */
  private current: Incarnation | undefined;
  /** Replaced producers still finishing sends; each is disconnected once it has none left. */
  private readonly retired = new Set<Incarnation>();
  /** Disconnects under way, each removed when done; close() waits for those left. */
  private readonly disconnecting = new Set<Promise<void>>();
  /** Per topic-partition, the newest send, settled or not: the next one waits for it (rule 1 above). */
  private readonly lastSend = new Map<string, Promise<unknown>>();

  /** `newProducer` makes a kafkajs producer: one for the first send, one more after each send that fails for good. */
  constructor(private readonly newProducer: () => KafkaSender) {}

  send(topic: string, partition: number, values: readonly string[]): Promise<Placement[]> {
    const key = `${topic}\0${partition}`;
    const previous = this.lastSend.get(key) ?? Promise.resolve();
    const sent = previous.then(() => this.sendNow(topic, partition, values));
    const settled = sent.catch(() => undefined);
    this.lastSend.set(key, settled);
    void settled.then(() => {
      if (this.lastSend.get(key) === settled) this.lastSend.delete(key);
    });
    return sent;
  }

  async close(): Promise<void> {
    const open = [...this.retired, ...(this.current === undefined ? [] : [this.current])];
    this.retired.clear();
    this.current = undefined;
    await Promise.allSettled([...this.disconnecting, ...open.map((incarnation) => incarnation.disconnect())]);
  }

  private async sendNow(topic: string, partition: number, values: readonly string[]): Promise<Placement[]> {
    this.current ??= new Incarnation(this.newProducer());
    const incarnation = this.current;
    try {
      const metadata = await incarnation.send({
        topic,
        acks: -1,
        messages: values.map((value) => ({ value, partition })),
      });
      return kafkaPlacements(metadata, partition, values.length);
    } catch (error) {
      if (this.current === incarnation) {
        this.current = undefined;
        this.retired.add(incarnation);
      }
      throw kafkaFailure(error);
    } finally {
      if (this.retired.has(incarnation) && incarnation.idle) {
        this.retired.delete(incarnation);
        const disconnected = incarnation.disconnect().finally(() => this.disconnecting.delete(disconnected));
        this.disconnecting.add(disconnected);
      }
    }
  }
}

/** One kafkajs producer (one producer id, one set of sequence numbers) and how many sends it has in flight. */
class Incarnation {
  private connected: Promise<void> | undefined;
  private inFlight = 0;

  constructor(private readonly producer: KafkaSender) {}

  get idle(): boolean {
    return this.inFlight === 0;
  }

  async send(record: Parameters<KafkaSender["send"]>[0]): Promise<RecordMetadata[]> {
    this.inFlight++;
    try {
      // A failed connect fails this send, which retires this producer (rule 2): it is not tried again.
      this.connected ??= this.producer.connect();
      await this.connected;
      return await this.producer.send(record);
    } finally {
      this.inFlight--;
    }
  }

  /** Never rejects: a producer being let go has nothing left to report. */
  async disconnect(): Promise<void> {
    await this.connected?.catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  }
}

/**
 * kafkajs answers one entry per partition with the batch's base offset as a string; the records of a
 * batch follow it one offset each, in the order sent. No usable offset: no placements (a malformed answer).
 */
export function kafkaPlacements(
  metadata: readonly RecordMetadata[],
  partition: number,
  count: number,
): Placement[] {
  const answer = metadata.find((m) => m.partition === partition);
  const baseOffset = Number(answer?.baseOffset ?? Number.NaN);
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) return [];
  return Array.from({ length: count }, (_, i) => ({ partition, offset: baseOffset + i }));
}

/**
 * A failed send by the Kafka error behind it: kafkajs wraps a broker's error (a KafkaJSProtocolError,
 * whose `type` is the Kafka error name, e.g. NOT_ENOUGH_REPLICAS) in retry and non-retriable errors, each
 * keeping the one before as its `cause`. The first `type` on that chain names the failure; without one
 * (a connection error, a timeout) the innermost error's name does.
 */
export function kafkaFailure(error: unknown): SendFailure {
  if (error instanceof SendFailure) return error;
  let innermost = error;
  for (let depth = 0; depth < causeDepthMax && typeof innermost === "object" && innermost !== null; depth++) {
    const { type, message, cause } = innermost as { type?: unknown; message?: unknown; cause?: unknown };
    if (typeof type === "string" && type !== "") return new SendFailure(type, String(message ?? type));
    if (cause === undefined || cause === null || cause === innermost) break;
    innermost = cause;
  }
  if (innermost instanceof Error) return new SendFailure(innermost.name, innermost.message);
  return new SendFailure("UNKNOWN", String(innermost));
}

function forwardLog(logger: Logger | undefined, { namespace, level, log }: LogEntry): void {
  if (logger === undefined) return;
  const { message, ...fields } = log;
  const line = `kafkajs ${namespace}: ${message}`;
  if (level === logLevel.ERROR) logger.error(fields, line);
  else if (level === logLevel.WARN) logger.warn(fields, line);
  else if (level === logLevel.INFO) logger.info(fields, line);
  else logger.debug(fields, line);
}
