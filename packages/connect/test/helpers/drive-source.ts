// A stand-in for the connect runtime, for tests of one source connector task: it starts the task with a
// real context, sends every polled record to the target cluster with an SDK producer (partition, key,
// value, headers and timestamp as given; Buffers and strings only, no converters), calls commitRecord
// with where it landed, and remembers each source partition's offset once acknowledged, so that a
// driver started again with the same `offsets` resumes where the last one stopped. Also what such tests
// check with: a topic's committed records per partition, a record's comparable shape, and waiting.

import {
  type Brook,
  type ConsumedMessage,
  type Logger,
  type RecordMetadata,
  silentLogger,
} from "@brook/client";
import { Registry } from "prom-client";
import type { Headers, SourceConnector, SourceOffset, SourceRecord } from "../../src/api.js";
import type { ConfigSchema, ConfigValues } from "../../src/config/config-def.js";

export interface DriveOptions<S extends ConfigSchema> {
  config: ConfigValues<S>;
  /** The worker's (target) cluster. */
  brook: Brook;
  /** Source offsets by JSON of the source partition: shared by the drivers of one "task" in turn. */
  offsets: Map<string, SourceOffset>;
  connector?: string;
  taskId?: number;
  taskCount?: number;
  metrics?: Registry;
  logger?: Logger;
}

export interface DrivenSource {
  /** Records acknowledged so far. */
  readonly sent: number;
  readonly metrics: Registry;
  /** Aborts the task's signal, waits for the poll loop to end, and stops the task. */
  stop(): Promise<void>;
}

export async function driveSource<S extends ConfigSchema, T>(
  connector: SourceConnector<S, T>,
  options: DriveOptions<S>,
): Promise<DrivenSource> {
  const { brook, offsets } = options;
  const abort = new AbortController();
  const metrics = options.metrics ?? new Registry();
  const task = await connector.start({
    connector: options.connector ?? connector.name,
    taskId: options.taskId ?? 0,
    taskCount: options.taskCount ?? 1,
    config: options.config,
    logger: options.logger ?? silentLogger,
    signal: abort.signal,
    brook,
    metrics,
    offset: async (partition) => offsets.get(JSON.stringify(partition)),
  });
  const producer = brook.producer({ lingerMs: 0 });
  let sent = 0;
  const polling = (async () => {
    for await (const record of connector.poll(task)) {
      const [landed] = await send(producer, record);
      await connector.commitRecord?.(task, {
        record,
        topic: landed.topic,
        partition: landed.partition,
        offset: landed.baseOffset,
      });
      offsets.set(JSON.stringify(record.sourcePartition), record.sourceOffset);
      sent++;
      if (abort.signal.aborted) break;
    }
  })();
  return {
    get sent() {
      return sent;
    },
    metrics,
    async stop() {
      abort.abort();
      try {
        await polling;
      } finally {
        await connector.stop(task);
        await producer.disconnect();
      }
    },
  };
}

function send(producer: ReturnType<Brook["producer"]>, record: SourceRecord): Promise<RecordMetadata[]> {
  return producer.send({
    topic: record.topic,
    messages: [
      {
        partition: record.partition,
        key: bytes(record.key ?? null),
        value: bytes(record.value),
        headers: headerList(record.headers ?? {}),
        timestamp: record.timestamp,
      },
    ],
  });
}

function bytes(data: unknown): Buffer | string | null {
  if (data === null || typeof data === "string" || Buffer.isBuffer(data)) return data;
  throw new TypeError(`drive-source sends Buffers and strings only, got ${typeof data}`);
}

/** Repeated keys become repeated headers, in the order given. */
function headerList(headers: Headers): { key: string; value: Buffer | null }[] {
  return Object.entries(headers).flatMap(([key, values]) =>
    (Array.isArray(values) ? values : [values]).map((value) => ({
      key,
      value: typeof value === "string" ? Buffer.from(value) : value,
    })),
  );
}

/** Every committed record of a topic, per partition, once there are `count` in all (within 20 s). */
export async function readCommitted(
  brook: Brook,
  topic: string,
  count: number,
  partitions: number,
): Promise<ConsumedMessage[][]> {
  const consumer = brook.consumer({ isolationLevel: "read_committed", fromBeginning: true, maxWaitMs: 100 });
  await consumer.assign([{ topic, fromBeginning: true }]);
  const byPartition: ConsumedMessage[][] = Array.from({ length: partitions }, () => []);
  const giveUp = setTimeout(() => void consumer.stop(), 20_000);
  let seen = 0;
  for await (const message of consumer) {
    byPartition[message.partition].push(message);
    if (++seen >= count) break;
  }
  clearTimeout(giveUp);
  await consumer.close();
  return byPartition;
}

/** What a copy must keep of a record: key, value, headers (repeated ones in order) and timestamp. */
export function recordShape({ key, value, headers, timestamp }: ConsumedMessage) {
  return {
    key: key?.toString(),
    value: value?.toString(),
    headers: Object.fromEntries(
      Object.entries(headers).map(([name, values]) => [
        name,
        (Array.isArray(values) ? values : [values]).map((each) => each?.toString()),
      ]),
    ),
    timestamp,
  };
}

/** The probe's first defined answer, asked every 200 ms until timeoutMs. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Offsets a source group could have committed on three partitions read by readCommitted: on partition 0
 * right after the last record before a gap (a transaction's markers, an aborted transaction), so that
 * translating it must cross the gap; on partitions 1 and 2 mid-way.
 */
export function offsetsAroundGap(records: ConsumedMessage[][]): number[] {
  const gapAt = records[0].findIndex(
    (message, index) => index > 0 && message.offset > records[0][index - 1].offset + 1,
  );
  if (gapAt <= 0) throw new Error("partition 0 of the source has no gap to stand on");
  return [records[0][gapAt - 1].offset + 1, records[1][20].offset, records[2][70].offset];
}
