import { describe, expect, it } from "vitest";
import { exampleCluster, exec, readmeSteps, type Started, start, step } from "./run.js";

const example = exampleCluster();

function startApp(): Started {
  const app = start(step("running-sum", "app.ts").command, example.env);
  example.running.push(app);
  return app;
}

/** SIGKILL, as `kill -9`: no commit, no leaving the group, a transaction left open. */
async function kill(app: Started): Promise<void> {
  process.kill(app.pid, "SIGKILL");
  // stop() sends nothing to a process that is gone; it waits for the exit, then rejects (it was SIGKILLed).
  await app.stop().catch(() => undefined);
  example.running.splice(example.running.indexOf(app), 1);
}

/** Every record of `topic` (all partitions, or one), in each partition's order, as key and value. */
async function readTopic(
  topic: string,
  isolationLevel: "read_committed" | "read_uncommitted",
): Promise<{ partition: number; key: string; value: Buffer }[]> {
  const consumer = example.brook.consumer({ isolationLevel, maxWaitMs: 100 });
  await consumer.assign([{ topic, fromBeginning: true }]);
  const ends = await consumer.endOffsets();
  const atEnd = () => ends.every((end) => (consumer.position(end) ?? -1) >= end.offset);
  const records: { partition: number; key: string; value: Buffer }[] = [];
  const giveUp = setTimeout(() => void consumer.stop(), 20_000);
  const check = setInterval(() => atEnd() && void consumer.stop(), 50);
  if (!atEnd()) {
    for await (const message of consumer) {
      records.push({
        partition: message.partition,
        key: String(message.key),
        value: Buffer.from(message.value!),
      });
      if (atEnd()) break;
    }
  }
  clearTimeout(giveUp);
  clearInterval(check);
  await consumer.close();
  return records;
}

describe("examples/running-sum", () => {
  it("keeps an exact total while the app is SIGKILLed mid-stream and started again", async () => {
    const send = step("running-sum", "send.ts");
    const total = step("running-sum", "total.ts");
    expect(readmeSteps("running-sum").map(({ command }) => command)).toContain("make up");

    const first = startApp();
    await first.waitFor(/running-sum \d+ is running/);
    const sending = exec(send.command, example.env, 40_000); // 2000 events, 200 a second: about 10 s
    let sent = false;
    void sending.finally(() => {
      sent = true;
    });

    // Kill it once it has added some, and start another at once: it gets the partitions once the group
    // has dropped the killed member (its session timeout, 10 s), and carries on from the last commit.
    await first.waitFor(/arena: \d+ attendees/, 15_000);
    expect(sent, "events still flowing at the kill").toBe(false);
    await kill(first);
    const second = startApp();
    await second.waitFor(/running-sum \d+ is running/, 30_000);

    const { code, output } = await sending;
    expect(output.trim().split("\n"), send.command).toEqual(send.prints);
    expect(code).toBe(0);
    const result = await exec(total.command, example.env);
    expect(result.output.trim().split("\n"), total.command).toEqual(total.prints);
    expect(result.code).toBe(0);

    // What was sent, in its partition's order, and every total committed to the output.
    const counts = (await readTopic("attendees", "read_uncommitted")).map(({ key, value }) => {
      expect(key).toBe("arena");
      return Number(/^attendees at gate [A-D]: ([1-9])$/.exec(value.toString())?.[1]);
    });
    expect(counts).toHaveLength(2000);
    const sum = counts.reduce((a, b) => a + b, 0);
    expect(total.prints).toEqual([`arena: ${sum} attendees`]);
    const totals = (await readTopic("attendees-total", "read_committed")).map(({ key, value }) => {
      expect(key).toBe("arena");
      return Number(value.readBigInt64BE());
    });
    let prefix = 0;
    const prefixSums = counts.map((count) => {
      prefix += count;
      return prefix;
    });
    expect(totals).toEqual(prefixSums);

    await second.waitFor(new RegExp(`arena: ${sum} attendees`)); // what it prints every second
    expect(await second.stop()).toBe(0);
  }, 90_000);
});
