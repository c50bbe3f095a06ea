// examples/trucks on a three-node cluster, run as its README shows, with the simulator sped up (an
// hour a minute) from a whole minute: every speed on trucks_speed is the speed the simulator gives that
// truck, within 0.5 % (its positions are rounded to 1e-6 degrees); trucks_avg_speed has every truck's
// average for each simulated minute, over all of that minute's speeds (11 in the first, whose first
// position has no speed, 12 after), within 0.5 % too; the dashboard's /events is text/event-stream with
// the same records as `speed` and `average` events, a new client first gets the latest of each, and
// everything stops cleanly on SIGTERM with a client still attached.
import { get } from "node:http";
import type { ConsumedMessage } from "@brook/client";
import { describe, expect, it } from "vitest";
import { waitFor } from "../wait.js";
import { exampleCluster, exec, start, step } from "./run.js";

const example = exampleCluster();
/** The example's commands, at the cluster; PORT=0: the dashboard takes a free port, and prints it. */
const env = () => ({ ...example.env, PORT: "0" });

interface Speed {
  truck: string;
  lat: number;
  lon: number;
  time: string;
  kmh: number;
}

interface Average {
  truck: string;
  start: string;
  end: string;
  kmh: number;
  reports: number;
}

interface ServerSentEvent {
  event: string;
  data: unknown;
}

/** A client of a text/event-stream: parses each event (an `event:` and a `data:` line, then a blank line). */
function listen(url: string) {
  const events: ServerSentEvent[] = [];
  let type: string | undefined;
  let buffered = "";
  const request = get(url, (response) => {
    type = response.headers["content-type"];
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const lines = buffered.slice(0, end).split("\n");
        buffered = buffered.slice(end + 2);
        const field = (name: string) =>
          lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
        const event = field("event");
        const data = field("data");
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
    });
  });
  const closed = new Promise<void>((resolve) => request.on("close", resolve));
  request.on("error", () => undefined);
  return { events, type: () => type, closed, close: () => request.destroy() };
}

/** `count` committed records of `topic`, in each partition's order; fails after 30 s with fewer. */
async function read<T>(topic: string, count: number): Promise<T[]> {
  const consumer = example.brook.consumer({ isolationLevel: "read_committed", maxWaitMs: 100 });
  await consumer.assign([{ topic, fromBeginning: true }]);
  const records: T[] = [];
  const giveUp = setTimeout(() => void consumer.stop(), 30_000);
  for await (const message of consumer as AsyncIterable<ConsumedMessage>) {
    records.push(JSON.parse(message.value!.toString()));
    if (records.length === count) break;
  }
  clearTimeout(giveUp);
  await consumer.close();
  expect(records.length, `records on ${topic}`).toBe(count);
  return records;
}

const trucks = 20;
const minutes = 4;
const reportsPerMinute = 12; // one every 5 s

describe("examples/trucks", () => {
  it("computes each truck's speed and per-minute average, and streams them to the dashboard", async () => {
    const app = start(step("trucks", "app.ts").command, env());
    example.running.push(app);
    const server = start(step("trucks", "server.ts").command, env());
    example.running.push(server);
    await app.waitFor(/trucks \d+ is running/);
    const [, url] = await server.waitFor(/serving (http:\/\/127\.0\.0\.1:\d+)\//);
    const page = await fetch(`${url}/`);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toContain('new EventSource("/events")');
    const live = listen(`${url}/events`);

    // From a whole minute, so each simulated minute is one window.
    const startMs = Math.floor(Date.now() / 60_000) * 60_000;
    const simulator = `${step("trucks", "simulator.ts").command} --speedup 60 --minutes ${minutes} --start ${new Date(startMs).toISOString()}`;
    const { code, output } = await exec(simulator, env());
    expect(code, output).toBe(0);
    const known = new Map(
      [...output.matchAll(/^(truck-\d\d) \S+ → \S+ at (\d+) km\/h$/gm)].map(([, id, kmh]) => [
        id,
        Number(kmh),
      ]),
    );
    expect(known.size).toBe(trucks);
    const positions = trucks * minutes * reportsPerMinute;
    expect(output).toContain(`sent ${positions} positions: ${minutes} simulated minutes`);

    // Every position after a truck's first gives a speed: the truck's, in time order.
    const speeds = await read<Speed>("trucks_speed", positions - trucks);
    for (const [truck, kmh] of known) {
      const mine = speeds.filter((speed) => speed.truck === truck);
      expect(mine.map(({ time }) => Date.parse(time))).toEqual(
        Array.from({ length: minutes * reportsPerMinute - 1 }, (_, i) => startMs + (i + 1) * 5_000),
      );
      for (const speed of mine)
        expect(Math.abs(speed.kmh - kmh) / kmh, `${truck} at ${speed.time}`).toBeLessThan(0.005);
    }

    // One average update per speed; each truck's last of each minute averages all that minute's speeds.
    const averages = await read<Average>("trucks_avg_speed", positions - trucks);
    for (const [truck, kmh] of known) {
      const last = new Map(averages.filter((a) => a.truck === truck).map((a) => [a.start, a]));
      expect([...last.keys()]).toEqual(
        Array.from({ length: minutes }, (_, i) => new Date(startMs + i * 60_000).toISOString()),
      );
      [...last.values()].forEach((average, i) => {
        expect(average.end).toBe(new Date(startMs + (i + 1) * 60_000).toISOString());
        expect(average.reports).toBe(i === 0 ? reportsPerMinute - 1 : reportsPerMinute);
        expect(Math.abs(average.kmh - kmh) / kmh, `${truck}'s average of ${average.start}`).toBeLessThan(
          0.005,
        );
      });
    }

    // The dashboard streamed the same records as they came.
    await waitFor("the dashboard to stream every record", 20_000, async () =>
      live.events.length >= 2 * (positions - trucks) ? true : undefined,
    );
    expect(live.type()).toBe("text/event-stream");
    const streamed = (event: string) => live.events.filter((e) => e.event === event).map((e) => e.data);
    expect(new Set(live.events.map((e) => e.event))).toEqual(new Set(["speed", "average"]));
    expect(sorted(streamed("speed"))).toEqual(sorted(speeds));
    expect(sorted(streamed("average"))).toEqual(sorted(averages));

    // A new client first gets the latest speed of each truck and its averages of the two latest minutes.
    const late = listen(`${url}/events`);
    await waitFor("the newcomer's first events", 10_000, async () =>
      late.events.length >= 3 * trucks ? true : undefined,
    );
    const lastTime = new Date(startMs + (minutes * reportsPerMinute - 1) * 5_000).toISOString();
    const first = late.events.slice(0, 3 * trucks);
    expect(first.filter((e) => e.event === "speed").map((e) => (e.data as Speed).time)).toEqual(
      Array(trucks).fill(lastTime),
    );
    expect(first.filter((e) => e.event === "average").map((e) => (e.data as Average).reports)).toEqual(
      Array(trucks).fill([reportsPerMinute, reportsPerMinute]).flat(),
    );

    // Both stop on SIGTERM, the dashboard with clients still attached (their streams end).
    expect(await server.stop()).toBe(0);
    await Promise.all([live.closed, late.closed]);
    expect(await app.stop()).toBe(0);
  }, 90_000);
});

function sorted(records: unknown[]): string[] {
  return records.map((record) => JSON.stringify(record)).sort();
}
