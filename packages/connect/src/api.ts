// The connector API: what a source or a sink is, in the shape Kafka Connect users know (SourceTask with
// source partitions and offsets; SinkTask with put and flush), as plain objects built by defineSource and
// defineSink. A connector is a definition; the runtime starts one task of it per `tasks.max` slot, hands
// each task its validated config, and keeps the task's place (source offsets, sink consumer offsets).

import type { Brook, Logger } from "@brook/client";
import type { Registry } from "prom-client";
import type { ConfigSchema, ConfigValues } from "./config/config-def.js";

/** A header value as a connector writes or reads it; a repeated key is an array, as in the SDK. */
export type HeaderValue = string | Buffer | null;
export type Headers = Record<string, HeaderValue | HeaderValue[]>;

/** Where a source reads from (a file, a table, a topic-partition of another cluster): a small JSON object. */
export type SourcePartition = Record<string, string | number | boolean>;
/** How far a source has read in one of its partitions (a byte position, a column value): JSON. */
export type SourceOffset = Record<string, string | number | boolean | null>;

/**
 * A record a source hands over. key and value are data: the connector's key and value converters turn
 * them into bytes (a Buffer passes through every converter unchanged).
 */
export interface SourceRecord {
  sourcePartition: SourcePartition;
  sourceOffset: SourceOffset;
  topic: string;
  /** Keep this partition; when omitted the key decides (murmur2, as any Kafka producer). */
  partition?: number;
  key?: unknown;
  value: unknown;
  headers?: Headers;
  /** ms since the epoch; the time of sending when omitted. */
  timestamp?: number;
}

/** A record a sink receives: data decoded by the converters, after the connector's transforms. */
export interface SinkRecord {
  topic: string;
  partition: number;
  /** The record's offset in its Brook partition. */
  offset: number;
  key: unknown;
  value: unknown;
  headers: Headers;
  timestamp: number;
}

/** Where a sink has got to: the next offset to read per topic-partition, as the runtime will commit. */
export interface SinkOffsets {
  topic: string;
  partition: number;
  offset: number;
}

/** Where a sent source record landed in Brook (Kafka Connect's commitRecord metadata). */
export interface SentRecord {
  record: SourceRecord;
  topic: string;
  partition: number;
  /** -1 when the producer does not wait for acknowledgement. */
  offset: number;
}

/** What every task is given when it starts. */
export interface TaskContext<C> {
  /** The connector's name, as created. */
  connector: string;
  /** This task's number, 0 .. taskCount - 1. */
  taskId: number;
  /** How many tasks the connector runs: a task takes its share of the source's partitions by taskId. */
  taskCount: number;
  /** The connector's config, validated against its schema and typed. */
  config: C;
  /** A logger whose every line names the connector and the task. */
  logger: Logger;
  /** Aborted when the task must stop: long waits (sleeps, HTTP calls) should end at once. */
  signal: AbortSignal;
  /** The Brook cluster the worker runs against (the mirror commits translated group offsets with it). */
  brook: Brook;
  /**
   * The worker's metrics, served at GET /metrics. A connector adds its own with prom-client, reusing a
   * metric another task of it registered first (`registry.getSingleMetric(name)`).
   */
  metrics: Registry;
}

export interface SourceTaskContext<C> extends TaskContext<C> {
  /** The last committed offset of a source partition, or undefined if none was ever committed. */
  offset(partition: SourcePartition): Promise<SourceOffset | undefined>;
}

export type SinkTaskContext<C> = TaskContext<C>;

/**
 * A source: `start` makes a task's state; the runtime then iterates `poll(state)` until the task stops
 * (the signal aborts), sending each record on. Records of one source partition must come in offset order.
 */
export interface SourceConnector<S extends ConfigSchema = ConfigSchema, T = unknown> {
  kind: "source";
  /** The connector.class name, e.g. "file-source". */
  name: string;
  /** One line for GET /connector-plugins and `brook connect plugins`. */
  description: string;
  configSchema: S;
  /**
   * The most tasks this connector can use for a config (a single file: 1); `tasks.max` is capped by it.
   * Every task when omitted.
   */
  maxTasks?(config: ConfigValues<S>): number;
  /**
   * Whether this source can start again exactly at a committed offset (a byte in a file, a row id), which
   * exactly-once delivery needs: records and their source offsets are then written in one transaction.
   */
  canSeek: boolean;
  start(context: SourceTaskContext<ConfigValues<S>>): Promise<T> | T;
  poll(task: T): AsyncIterable<SourceRecord>;
  /** Called after the offsets of everything polled so far are committed (Kafka's SourceTask.commit). */
  commit?(task: T): Promise<void> | void;
  /** Called once per record after Brook acknowledged it (Kafka's SourceTask.commitRecord). */
  commitRecord?(task: T, sent: SentRecord): Promise<void> | void;
  stop(task: T): Promise<void> | void;
}

/**
 * A sink: `put` receives each batch of records as it arrives (it may buffer them); `flush` must make
 * everything put so far durable in the target, after which the runtime commits `offsets`. A put or flush
 * that throws RetriableError is retried with backoff; any other error fails the task (or, with
 * errors.tolerance=all, sends the records that fail one by one to the dead-letter topic).
 */
export interface SinkConnector<S extends ConfigSchema = ConfigSchema, T = unknown> {
  kind: "sink";
  name: string;
  description: string;
  configSchema: S;
  start(context: SinkTaskContext<ConfigValues<S>>): Promise<T> | T;
  put(task: T, records: SinkRecord[]): Promise<void> | void;
  flush(task: T, offsets: SinkOffsets[]): Promise<void> | void;
  stop(task: T): Promise<void> | void;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds connectors of every schema and state.
export type AnyConnector = SourceConnector<ConfigSchema, any> | SinkConnector<ConfigSchema, any>;

/** Defines a source connector; the identity function, there for the types. */
export function defineSource<S extends ConfigSchema, T>(
  definition: Omit<SourceConnector<S, T>, "kind">,
): SourceConnector<S, T> {
  return { kind: "source", ...definition };
}

/** Defines a sink connector; the identity function, there for the types. */
export function defineSink<S extends ConfigSchema, T>(
  definition: Omit<SinkConnector<S, T>, "kind">,
): SinkConnector<S, T> {
  return { kind: "sink", ...definition };
}

/** Thrown by put, flush or poll for a failure worth retrying (a 5xx, a lost connection). */
export class RetriableError extends Error {
  override readonly name = "RetriableError";
}
