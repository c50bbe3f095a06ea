// `brook bench e2e`: how long a record takes from producer.send() to a
// consumer's hands, in one process (one clock, so no skew between the two
// ends). One record travels at a time by default, each sent once the
// previous one has arrived: the latency of a single event on an idle
// cluster. With `throughput`, records are sent at that rate instead,
// whether or not earlier ones have arrived.

import type { Brook, Producer } from "@brook/client";
import { BenchStats, nowUs, type Progress, pace } from "../bench-stats.js";
import { onStopRequest } from "../signals.js";

export interface EndToEndBench {
  topic: string;
  records: number;
  recordSize: number;
  throughput?: number;
}

/** Each record's value starts with its number, by which its send time is found on arrival. */
const sequenceBytes = 8;
/** A record that has not arrived after this long ends the run with an error, rather than a hang. */
const arrivalTimeoutMs = 30_000;
/** Until the consumer's position is known, a warm-up record goes out this often. */
const warmUpIntervalMs = 100;

export async function benchEndToEnd(
  brook: Brook,
  producer: Producer,
  bench: EndToEndBench,
  progress: Progress,
): Promise<BenchStats> {
  const consumer = brook.consumer({ fromBeginning: false });
  const sentAtUs = new Map<number, number>();
  let arrived: (() => void) | undefined;
  let warmedUp = false;
  const stats = new BenchStats();
  const valueBytes = Math.max(bench.recordSize, sequenceBytes);
  let stopping = false;
  const removeHandlers = onStopRequest(() => {
    stopping = true;
    arrived?.();
  });
  // Every record sent has arrived, or a stop signal came: the consumer and the signal both wake it.
  const allArrived = () =>
    untilArrived(
      () => sentAtUs.size === 0 || stopping,
      (wake) => {
        arrived = wake;
      },
    );
  try {
    await consumer.assign([{ topic: bench.topic, fromBeginning: false }]);
    const running = consumer.run({
      eachBatch: async ({ batch }) => {
        const now = nowUs();
        for (const message of batch.messages) {
          warmedUp = true;
          // Anything else on the topic (shorter values, or another writer's) is not this run's to time.
          const value = message.value;
          const sequence = value && value.length >= sequenceBytes ? Number(value.readBigInt64BE(0)) : -1;
          if (sequence < 0) continue; // a warm-up record
          const sentUs = sentAtUs.get(sequence);
          if (sentUs === undefined) continue;
          sentAtUs.delete(sequence);
          stats.recordLatencyUs(now - sentUs);
          stats.records += 1;
          stats.bytes += value?.length ?? 0;
          progress.update(stats.records);
        }
        if (sentAtUs.size === 0) arrived?.();
      },
    });
    await warmUp(producer, bench.topic, () => warmedUp || stopping);
    const startedMs = Date.now();
    for (let sequence = 0; sequence < bench.records && !stopping; sequence++) {
      if (bench.throughput !== undefined) await pace(sequence, bench.throughput, startedMs);
      const value = Buffer.alloc(valueBytes);
      value.writeBigInt64BE(BigInt(sequence), 0);
      sentAtUs.set(sequence, nowUs());
      const sent = producer.send({ topic: bench.topic, messages: [{ value }] });
      if (bench.throughput === undefined) {
        await sent;
        await allArrived();
      } else sent.catch(() => undefined);
    }
    await allArrived();
    await consumer.stop();
    await running;
  } finally {
    removeHandlers();
    await consumer.close();
  }
  return stats;
}

/** Sends records the bench does not count (sequence -1) until the consumer has seen one. */
async function warmUp(producer: Producer, topic: string, done: () => boolean): Promise<void> {
  const value = Buffer.alloc(sequenceBytes);
  value.writeBigInt64BE(-1n, 0);
  const deadline = Date.now() + arrivalTimeoutMs;
  while (!done()) {
    if (Date.now() > deadline)
      throw new Error(`bench e2e: the consumer saw nothing of ${topic} in ${arrivalTimeoutMs / 1000} s`);
    await producer.send({ topic, messages: [{ value }] });
    await new Promise((resolve) => setTimeout(resolve, warmUpIntervalMs));
  }
}

function untilArrived(done: () => boolean, setWake: (wake: () => void) => void): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bench e2e: a record did not arrive within ${arrivalTimeoutMs / 1000} s`)),
      arrivalTimeoutMs,
    );
    setWake(() => {
      if (!done()) return;
      clearTimeout(timer);
      resolve();
    });
  });
}
