// Prints each venue's current total: the last total the app committed to `attendees-total`. It first
// waits (up to --timeout ms) for the app to have added every event sent so far, and says how many it has
// not added yet if the app is behind (or not running).
// Usage: node --import tsx examples/running-sum/total.ts [--timeout 15000]
import { parseArgs } from "node:util";
import type { Admin, Brook } from "@brook/client";
import { connect, main } from "../shared/brook.js";
import { applicationId, ensureRunningSumTopics, inputTopic, outputTopic } from "./topics.js";

const { values } = parseArgs({ options: { timeout: { type: "string", default: "15000" } } });
const timeoutMs = Number(values.timeout);
if (!(timeoutMs >= 0)) {
  console.error("usage: total.ts [--timeout <ms>]");
  process.exit(2);
}

main(async () => {
  const brook = connect("running-sum-total");
  await ensureRunningSumTopics(brook);
  const admin = brook.admin();
  const deadline = Date.now() + timeoutMs;
  let behind = await eventsBehind(admin);
  while (behind > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    behind = await eventsBehind(admin);
  }
  // Caught up: wait for the last transaction to be readable too (nothing open on the output).
  while (behind === 0 && Date.now() < deadline && (await openTransactions(brook, admin))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await admin.close();

  const totals = await lastTotals(brook);
  if (totals.size === 0) console.log("no total yet");
  for (const [venue, total] of [...totals].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${venue}: ${total} attendees`);
  }
  if (behind > 0) {
    console.log(
      `${behind} events not added yet: is the app running? (node --import tsx examples/running-sum/app.ts)`,
    );
  }
});

/** Events on the input that the app has not committed yet (everything, if it never committed). */
async function eventsBehind(admin: Admin): Promise<number> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(inputTopic),
    admin.fetchOffsets({ groupId: applicationId, topics: [inputTopic] }),
  ]);
  return ends.reduce((sum, { partition, high, low }) => {
    const offset = committed.find((each) => each.partition === partition)?.offset ?? -1;
    return sum + high - Math.max(offset, low);
  }, 0);
}

/** Whether a transaction of the app's is still open on the output (its records not readable yet). */
async function openTransactions(brook: Brook, admin: Admin): Promise<boolean> {
  const highs = await admin.fetchTopicOffsets(outputTopic);
  const consumer = brook.consumer({ isolationLevel: "read_committed" });
  await consumer.assign([{ topic: outputTopic, fromBeginning: true }]);
  const stable = await consumer.endOffsets();
  await consumer.close();
  return stable.some(
    ({ partition, offset }) => offset < (highs.find((h) => h.partition === partition)?.high ?? 0),
  );
}

/** The last committed total of every venue on the output. */
async function lastTotals(brook: Brook): Promise<Map<string, number>> {
  const consumer = brook.consumer({ isolationLevel: "read_committed", maxWaitMs: 100 });
  await consumer.assign([{ topic: outputTopic, fromBeginning: true }]);
  const ends = await consumer.endOffsets();
  const atEnd = () => ends.every((end) => (consumer.position(end) ?? -1) >= end.offset);
  const totals = new Map<string, number>();
  if (!atEnd()) {
    const check = setInterval(() => atEnd() && void consumer.stop(), 50);
    for await (const message of consumer) {
      if (message.key !== null && message.value?.length === 8) {
        totals.set(message.key.toString(), Number(message.value.readBigInt64BE()));
      }
      if (atEnd()) break;
    }
    clearInterval(check);
  }
  await consumer.close();
  return totals;
}
