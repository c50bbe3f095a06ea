// The Processor API under the DSL, after Kafka Streams': a processor takes one record at a time and
// forwards records to its children; stores and punctuations come from its context.

import type { MessageHeaders } from "@brook/client";

/** A record inside a topology: deserialized key and value, event time, headers. */
export interface StreamRecord<K, V> {
  key: K;
  value: V;
  /** Event time, ms since the epoch: the input record's timestamp, carried to everything it causes. */
  timestamp: number;
  headers: MessageHeaders;
}

export type PunctuationType = "stream_time" | "wall_clock_time";

export interface Cancellable {
  cancel(): void;
}

/** Why a record was dropped; counted per reason by the task (Kafka's dropped-records sensor). */
export type DropReason = "late" | "null_key" | "null_value";

export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly applicationId: string;
  /** Sends a record to every child, or to the one named. */
  forward(record: StreamRecord<KOut, VOut>, childName?: string): void;
  /** A store this processor was connected to when the topology was built. */
  getStateStore<S>(name: string): S;
  /** The largest timestamp the task has seen; -1 before the first record. */
  currentStreamTimeMs(): number;
  currentSystemTimeMs(): number;
  /** Calls punctuator(timeMs) every intervalMs of stream time or of wall-clock time. */
  schedule(intervalMs: number, type: PunctuationType, punctuator: (timeMs: number) => void): Cancellable;
  recordDropped(reason: DropReason): void;
}

export interface Processor<KIn, VIn, KOut = unknown, VOut = unknown> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: StreamRecord<KIn, VIn>): void;
  close?(): void;
}

/** Makes one processor per task. */
export type ProcessorSupplier<KIn, VIn, KOut = unknown, VOut = unknown> = () => Processor<
  KIn,
  VIn,
  KOut,
  VOut
>;

/** A table's update: the key's new value (null: deleted) and the one it replaces (null: none). */
export interface Change<V> {
  newValue: V | null;
  oldValue: V | null;
}

/** A processor from one function of the record and the context; for the DSL's stateless operators. */
export function processorOf<KIn, VIn, KOut, VOut>(
  process: (record: StreamRecord<KIn, VIn>, context: ProcessorContext<KOut, VOut>) => void,
): ProcessorSupplier<KIn, VIn, KOut, VOut> {
  return () => {
    let context: ProcessorContext<KOut, VOut>;
    return {
      init: (given) => {
        context = given;
      },
      process: (record) => process(record, context),
    };
  };
}
