// Simulates the fleet: every --interval seconds of simulated time, each of the 20 trucks reports its GPS
// position to `trucks_gps` (keyed by truck id, stamped with the simulated time). Simulated time starts at
// --start (default now) and runs --speedup times as fast as the clock; --minutes ends it after that many
// simulated minutes (default: until Ctrl-C). It prints the fleet first: each truck's route and speed.
// Usage: node --import tsx examples/trucks/simulator.ts [--interval 5] [--speedup 1] [--minutes <n>] [--start <ISO time>]
import { parseArgs } from "node:util";
import { connect, main, onStop } from "../shared/brook.js";
import { ensureTruckTopics, fleet, gpsTopic, type Position, positionAt } from "./fleet.js";

const { values } = parseArgs({
  options: {
    interval: { type: "string", default: "5" },
    speedup: { type: "string", default: "1" },
    minutes: { type: "string" },
    start: { type: "string" },
  },
});
const intervalMs = Number(values.interval) * 1000;
const speedup = Number(values.speedup);
const reports =
  values.minutes === undefined ? Number.POSITIVE_INFINITY : (Number(values.minutes) * 60_000) / intervalMs;
const startMs = values.start === undefined ? Date.now() : Date.parse(values.start);
if (!(Number.isSafeInteger(intervalMs) && intervalMs > 0 && speedup > 0 && reports > 0 && startMs >= 0)) {
  console.error(
    "usage: simulator.ts [--interval <s>] [--speedup <factor>] [--minutes <simulated minutes>] [--start <ISO time>]",
  );
  process.exit(2);
}

main(async () => {
  const brook = connect("trucks-simulator");
  await ensureTruckTopics(brook);
  const producer = brook.producer();
  let sent = 0;
  let stopped = false;
  onStop(async () => {
    stopped = true;
    await producer.close();
    console.log(`stopped: sent ${sent} positions`);
  });
  for (const truck of fleet) console.log(`${truck.id} ${truck.from} → ${truck.to} at ${truck.kmh} km/h`);
  console.log(
    `${fleet.length} trucks report to ${gpsTopic} every ${intervalMs / 1000} s of simulated time (×${speedup})`,
  );

  const realStart = Date.now();
  for (let tick = 0; tick < reports && !stopped; tick++) {
    // Wait for the tick's moment on the clock (late ticks go at once: their records carry their own time).
    const due = realStart + (tick * intervalMs) / speedup;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    if (stopped) break;
    const timestamp = startMs + tick * intervalMs;
    const hours = (tick * intervalMs) / 3_600_000;
    const messages = fleet.map((truck) => {
      const { lat, lon } = positionAt(truck, hours);
      // Six decimals: about 10 cm, as a good GPS fix.
      const position: Position = {
        truck: truck.id,
        lat: round6(lat),
        lon: round6(lon),
        time: new Date(timestamp).toISOString(),
      };
      return { key: truck.id, value: JSON.stringify(position), timestamp };
    });
    await producer.send({ topic: gpsTopic, messages });
    sent += messages.length;
  }
  if (stopped) return;
  await producer.close();
  console.log(`sent ${sent} positions: ${Number(values.minutes)} simulated minutes`);
});

function round6(degrees: number): number {
  return Math.round(degrees * 1e6) / 1e6;
}
