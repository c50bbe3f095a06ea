// Prints the word counts of the current window (the newest minute on `word-counts`), or of the minute
// holding --at: the most frequent --top words, after a line with the window and its totals. It first waits
// (up to --timeout ms) for the app to have counted every line sent so far.
// Usage: node --import tsx examples/word-count/counts.ts [--top 10] [--at <ISO time>] [--timeout 15000]
import { parseArgs } from "node:util";
import type { Admin, Brook, ConsumedMessage, Consumer } from "@brook/client";
import { connect, main } from "../shared/brook.js";
import {
  applicationId,
  countsTopic,
  ensureWordCountTopics,
  linesTopic,
  storeName,
  type WindowCount,
  windowMs,
} from "./topics.js";

const { values } = parseArgs({
  options: {
    top: { type: "string", default: "10" },
    at: { type: "string" },
    timeout: { type: "string", default: "15000" },
  },
});
const top = Number(values.top);
const at = values.at === undefined ? undefined : Date.parse(values.at);
const timeoutMs = Number(values.timeout);
if (!(Number.isSafeInteger(top) && top > 0 && timeoutMs >= 0) || Number.isNaN(at)) {
  console.error("usage: counts.ts [--top <n>] [--at <ISO time>] [--timeout <ms>]");
  process.exit(2);
}
/** Where the app's grouping sends each word (Kafka Streams' name: <applicationId>-<store>-repartition). */
const repartitionTopic = `${applicationId}-${storeName}-repartition`;

main(async () => {
  const brook = connect("word-count-counts");
  await ensureWordCountTopics(brook);
  const admin = brook.admin();
  const deadline = Date.now() + timeoutMs;
  let behind = await recordsBehind(admin);
  while (behind > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    behind = await recordsBehind(admin);
  }
  await admin.close();

  const windows = await readCounts(brook);
  const start = at === undefined ? Math.max(-1, ...windows.keys()) : Math.floor(at / windowMs) * windowMs;
  const counts = [...(windows.get(start) ?? new Map<string, number>())].sort(
    ([a, x], [b, y]) => y - x || a.localeCompare(b),
  );
  if (start < 0) {
    console.log("no counts yet");
  } else {
    const words = counts.reduce((sum, [, count]) => sum + count, 0);
    console.log(`${hhmm(start)}–${hhmm(start + windowMs)} UTC: ${words} words, ${counts.length} different`);
    for (const [word, count] of counts.slice(0, top)) console.log(`${word} ${count}`);
  }
  if (behind > 0) {
    console.log(
      `${behind} records not counted yet: is the app running? (node --import tsx examples/word-count/app.ts)`,
    );
  }
});

/** Records the app has not committed yet: lines, and words on their way through its repartition topic. */
async function recordsBehind(admin: Admin): Promise<number> {
  const topics = [
    linesTopic,
    ...((await admin.listTopics()).includes(repartitionTopic) ? [repartitionTopic] : []),
  ];
  const committed = await admin.fetchOffsets({ groupId: applicationId, topics });
  let behind = 0;
  for (const topic of topics) {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      const offset =
        committed.find((each) => each.topic === topic && each.partition === partition)?.offset ?? -1;
      behind += high - Math.max(offset, low);
    }
  }
  return behind;
}

/** Every window's latest count of every word, by window start (ms). */
async function readCounts(brook: Brook): Promise<Map<number, Map<string, number>>> {
  const consumer = brook.consumer({ isolationLevel: "read_committed", maxWaitMs: 100 });
  await consumer.assign([{ topic: countsTopic, fromBeginning: true }]);
  const windows = new Map<number, Map<string, number>>();
  await readToEnd(consumer, (message) => {
    const { start, count } = JSON.parse(message.value?.toString() ?? "{}") as WindowCount;
    const startMs = Date.parse(start);
    if (message.key !== null && Number.isSafeInteger(startMs) && Number.isSafeInteger(count)) {
      const words = windows.get(startMs) ?? new Map<string, number>();
      words.set(message.key.toString(), count);
      windows.set(startMs, words);
    }
  });
  await consumer.close();
  return windows;
}

/** Hands each record to `each` up to the end as of now (the last stable offset: committed records only); returns how many. */
async function readToEnd(consumer: Consumer, each: (message: ConsumedMessage) => void): Promise<number> {
  const ends = await consumer.endOffsets();
  const atEnd = () => ends.every((end) => (consumer.position(end) ?? -1) >= end.offset);
  let count = 0;
  if (atEnd()) return count;
  // Also checked on a timer: the last records before the end may be transaction markers, never delivered.
  const check = setInterval(() => atEnd() && void consumer.stop(), 50);
  for await (const message of consumer) {
    each(message);
    count++;
    if (atEnd()) break;
  }
  clearInterval(check);
  return count;
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}
