// `brook bench produce --transaction-batches <n>`: the transactional producer's cost. Transactions run one
// after another (a transactional producer has one open at a time), each carrying n batches of
// `recordsPerBatch` records, sent together and committed at once; the latency is each transaction's, from
// its first send to its commit's answer. One transaction costs: AddPartitionsToTxn (a coordinator write),
// the produce requests, and EndTxn (PrepareCommit written, a marker on each partition, CompleteCommit).

import type { Message, Producer } from "@brook/client";
import { BenchStats, nowUs, type Progress } from "../bench-stats.js";
import { onStopRequest } from "../signals.js";

export interface TransactionBench {
  topic: string;
  records: number;
  recordSize: number;
  batchesPerTransaction: number;
  recordsPerBatch: number;
}

export async function benchTransactions(
  producer: Producer,
  bench: TransactionBench,
  progress: Progress,
): Promise<BenchStats & { transactions: number }> {
  const value = Buffer.alloc(bench.recordSize, 0x61);
  const stats = Object.assign(new BenchStats(), { transactions: 0 });
  let stopping = false;
  const removeHandlers = onStopRequest(() => {
    stopping = true;
  });
  try {
    await producer.connect();
    for (let sent = 0; sent < bench.records && !stopping; ) {
      const startUs = nowUs();
      const txn = await producer.transaction();
      const sends: Promise<unknown>[] = [];
      let records = 0;
      for (let batch = 0; batch < bench.batchesPerTransaction && sent < bench.records; batch++) {
        const count = Math.min(bench.recordsPerBatch, bench.records - sent);
        const messages: Message[] = Array.from({ length: count }, () => ({ value }));
        sends.push(txn.send({ topic: bench.topic, messages }));
        sent += count;
        records += count;
      }
      // commit() sends what is still lingering and waits for every send; awaiting the sends first would
      // add the producer's linger to every transaction.
      await txn.commit();
      await Promise.all(sends);
      stats.recordLatencyUs(nowUs() - startUs);
      stats.transactions++;
      stats.records += records;
      stats.bytes += records * bench.recordSize;
      progress.update(stats.records);
    }
  } finally {
    removeHandlers();
  }
  return stats;
}
