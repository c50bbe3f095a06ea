// The load's producer, whichever client it is: Brook's SDK over gRPC, or kafkajs over the Kafka protocol
// (kafka-producer.ts, imported only when a load asks for it). Both send runs of values to one named
// partition with acks=all, and answer with where each value went, so the load, the ledger and the audit
// hold either client to the same rules.

import type { Brook, Logger, ProducerOptions, RecordMetadata } from "@brook/client";
import { asBrookError } from "@brook/protocol";
import type { Placement } from "./records.js";

/** Which client produces: Brook's SDK, or an unmodified Kafka client (kafkajs) on the Kafka listener. */
export type ClientKind = "brook" | "kafka";

export const clientKinds: readonly ClientKind[] = ["brook", "kafka"];

export interface LoadProducer {
  /**
   * Sends `values`, in order, to one partition with acks=all. Resolves with one placement per value the
   * answer accounted for, in the order given (fewer, or a negative offset, is a malformed answer);
   * rejects with a SendFailure once the client has given up.
   */
  send(topic: string, partition: number, values: readonly string[]): Promise<Placement[]>;
  close(): Promise<void>;
}

export interface LoadClient {
  readonly kind: ClientKind;
  /** A new producer: its own connections, producer id and sequence numbers. */
  producer(): LoadProducer;
}

/** A send that failed for good, with the client's own name for why: a Brook error code or a Kafka error type. */
export class SendFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "SendFailure";
  }
}

/**
 * acks=all, and idempotence asked for by name: the SDK that knows the option turns on sequence numbers
 * so a retried batch is written once; one that does not know it ignores it (and retries may duplicate).
 */
export const durableProducerOptions: ProducerOptions & { idempotent?: boolean } = {
  acks: -1,
  idempotent: true,
};

export interface LoadClientOptions {
  kind: ClientKind;
  /** Brook's SDK client: the producers of kind "brook" come from it. */
  brook: Brook;
  /** The Kafka listeners' addresses (host:port), for kind "kafka". */
  kafkaBrokers?: readonly string[];
  /** Default true; false only to tell retry duplicates from replication faults. */
  idempotent?: boolean;
  /** Where kafkajs's own log lines go (its warnings and errors); silent by default. */
  logger?: Logger;
}

/** The load client of `kind`. kafkajs is imported here, only when asked for. */
export async function loadClient(options: LoadClientOptions): Promise<LoadClient> {
  const idempotent = options.idempotent ?? true;
  if (options.kind === "brook") return brookLoadClient(options.brook, { idempotent });
  if (options.kafkaBrokers === undefined || options.kafkaBrokers.length === 0) {
    throw new Error("a kafka load needs the Kafka listeners' addresses (host:port)");
  }
  const { kafkaLoadClient } = await import("./kafka-producer.js");
  return kafkaLoadClient({ brokers: options.kafkaBrokers, idempotent, logger: options.logger });
}

export function brookLoadClient(brook: Brook, options: { idempotent?: boolean } = {}): LoadClient {
  return {
    kind: "brook",
    producer() {
      const producer = brook.producer({ ...durableProducerOptions, ...options });
      return {
        send: (topic, partition, values) =>
          producer.send({ topic, messages: values.map((value) => ({ value, partition })) }).then(
            (metadata) => brookPlacements(metadata, values.length),
            (error: unknown) => {
              throw brookFailure(error);
            },
          ),
        close: () => producer.close(),
      };
    },
  };
}

/** The SDK lists, per partition, runs of consecutive offsets for the messages in the order given. */
export function brookPlacements(metadata: readonly RecordMetadata[], count: number): Placement[] {
  const placements: Placement[] = [];
  for (const { partition, baseOffset, recordCount } of metadata) {
    for (let i = 0; i < recordCount && placements.length < count; i++) {
      placements.push({ partition, offset: baseOffset + i });
    }
  }
  return placements;
}

function brookFailure(error: unknown): SendFailure {
  const { code, detail } = asBrookError(error);
  return new SendFailure(code, detail);
}
