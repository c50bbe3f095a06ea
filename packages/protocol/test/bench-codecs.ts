// Measures encode and decode of a 1 MiB batch per codec: `npx tsx packages/protocol/test/bench-codecs.ts`.
import { performance } from "node:perf_hooks";
import {
  BATCH_HEADER_BYTES,
  type CompressionName,
  decodeRecordBatch,
  encodeRecordBatch,
} from "../src/index.js";

const BATCH_BYTES_TARGET = 1 << 20;
const RUNS = 40;
const WARMUP_RUNS = 5;

/** JSON-like events with a few varying fields: compressible the way application payloads usually are. */
function records() {
  const out = [];
  let bytes = 0;
  for (let index = 0; bytes < BATCH_BYTES_TARGET; index++) {
    const value = JSON.stringify({
      id: index,
      user: `user-${(index * 7919) % 5003}`,
      event: ["click", "view", "purchase", "scroll"][index % 4],
      at: 1_700_000_000_000 + index * 13,
      amount: ((index * 37) % 10_000) / 100,
      tags: Array.from({ length: 1 + (index % 5) }, (_, tag) => `tag-${(index + tag) % 97}`),
      note: Math.random().toString(36).repeat(8),
    });
    out.push({ key: `user-${index % 5003}`, value, headers: { source: "bench" } });
    bytes += value.length + 40;
  }
  return out;
}

function medianMs(action: () => unknown): number {
  for (let run = 0; run < WARMUP_RUNS; run++) action();
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    action();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

const input = records();
const plainBytes = encodeRecordBatch(input, { nowMs: 1 }).length - BATCH_HEADER_BYTES;
console.log(
  `${input.length} records, ${(plainBytes / 2 ** 20).toFixed(2)} MiB uncompressed; median of ${RUNS}`,
);
console.log("codec   bytes    ratio  encode ms  decode ms  decode MiB/s");
for (const compression of ["none", "gzip", "snappy", "lz4", "zstd"] as CompressionName[]) {
  const batch = encodeRecordBatch(input, { compression, nowMs: 1 });
  const encodeMs = medianMs(() => encodeRecordBatch(input, { compression, nowMs: 1 }));
  const decodeMs = medianMs(() => decodeRecordBatch(batch));
  const row = [
    compression.padEnd(7),
    String(batch.length).padStart(8),
    (plainBytes / batch.length).toFixed(2).padStart(6),
    encodeMs.toFixed(2).padStart(10),
    decodeMs.toFixed(2).padStart(10),
    (plainBytes / 2 ** 20 / (decodeMs / 1000)).toFixed(0).padStart(13),
  ];
  console.log(row.join(" "));
}
