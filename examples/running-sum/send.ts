// Sends attendee counts to `attendees`: --events events "attendees at gate B: 3" from gates A to D, each
// keyed by the venue, --rate a second; the counts come from a seeded generator (--seed), so one run's
// total is always the same. Ctrl-C stops it early and says how far it got.
// Usage: node --import tsx examples/running-sum/send.ts [--events 2000] [--rate 200] [--venue arena] [--seed 1]
import { parseArgs } from "node:util";
import { connect, main, onStop } from "../shared/brook.js";
import { ensureRunningSumTopics, eventText, inputTopic } from "./topics.js";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "2000" },
    rate: { type: "string", default: "200" },
    venue: { type: "string", default: "arena" },
    seed: { type: "string", default: "1" },
  },
});
const events = Number(values.events);
const rate = Number(values.rate);
if (!(Number.isSafeInteger(events) && events > 0 && rate > 0)) {
  console.error("usage: send.ts [--events <n>] [--rate <per second>] [--venue <name>] [--seed <n>]");
  process.exit(2);
}
const gates = ["A", "B", "C", "D"];
const tickMs = 100;

main(async () => {
  const brook = connect("running-sum-send");
  await ensureRunningSumTopics(brook);
  const producer = brook.producer();
  const random = mulberry32(Number(values.seed));
  let sent = 0;
  let attendees = 0;
  let stopped = false;
  onStop(async () => {
    stopped = true;
    await producer.close();
    console.log(`stopped after ${sent} events: ${attendees} attendees`);
  });

  console.log(`sending ${events} events to ${inputTopic}, ${rate} a second`);
  const startedAt = Date.now();
  while (sent < events && !stopped) {
    // As many as the rate allows by now, sent as one batch per tick.
    const due = Math.min(events, Math.floor(((Date.now() - startedAt + tickMs) * rate) / 1000));
    const messages = [];
    for (; sent + messages.length < due; ) {
      const gate = gates[Math.floor(random() * gates.length)] as string;
      const count = 1 + Math.floor(random() * 9);
      messages.push({ key: values.venue, value: eventText(gate, count), count });
    }
    if (messages.length > 0) {
      await producer.send({
        topic: inputTopic,
        messages: messages.map(({ key, value }) => ({ key, value })),
      });
      sent += messages.length;
      attendees += messages.reduce((sum, { count }) => sum + count, 0);
    }
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  if (stopped) return;
  await producer.close();
  console.log(`sent ${sent} events from gates A to D: ${attendees} attendees`);
});

/** A small seeded generator of numbers in [0, 1): the same seed, the same events. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
