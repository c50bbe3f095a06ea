// The trucks demo's contract: its topics and application id, the records' JSON, the fleet (20 trucks,
// each driving a great-circle route between two cities at a constant speed), and the distance on the
// sphere that both the simulator (where a truck is) and the app (how far it went) use.
import type { Brook } from "@brook/client";
import { ensureTopics } from "../shared/brook.js";

/** Positions, keyed by truck id, stamped with the (simulated) time of the fix. */
export const gpsTopic = "trucks_gps";
/** Each truck's speed between two consecutive positions, keyed by truck id. */
export const speedTopic = "trucks_speed";
/** Each truck's average speed per minute of event time, after every new speed, keyed by truck id. */
export const averageTopic = "trucks_avg_speed";
export const applicationId = "trucks";

export interface Position {
  truck: string;
  lat: number;
  lon: number;
  /** ISO 8601; also the record's timestamp. */
  time: string;
}

export interface Speed extends Position {
  /** Over the straight (great-circle) line from the truck's previous position. */
  kmh: number;
}

export interface AverageSpeed {
  truck: string;
  /** The minute, ISO 8601. */
  start: string;
  end: string;
  kmh: number;
  /** The speeds averaged so far. */
  reports: number;
}

/** All three topics, 10 partitions each: a truck's records stay in order in one of them. */
export function ensureTruckTopics(brook: Brook): Promise<void> {
  return ensureTopics(brook, [
    { topic: gpsTopic, numPartitions: 10 },
    { topic: speedTopic, numPartitions: 10 },
    { topic: averageTopic, numPartitions: 10 },
  ]);
}

interface Place {
  lat: number;
  lon: number;
}

const cities: Record<string, Place> = {
  Amsterdam: { lat: 52.3676, lon: 4.9041 },
  Berlin: { lat: 52.52, lon: 13.405 },
  Brussels: { lat: 50.8503, lon: 4.3517 },
  Cologne: { lat: 50.9375, lon: 6.9603 },
  Copenhagen: { lat: 55.6761, lon: 12.5683 },
  Frankfurt: { lat: 50.1109, lon: 8.6821 },
  Hamburg: { lat: 53.5511, lon: 9.9937 },
  Lyon: { lat: 45.764, lon: 4.8357 },
  Milan: { lat: 45.4642, lon: 9.19 },
  Munich: { lat: 48.1351, lon: 11.582 },
  Paris: { lat: 48.8566, lon: 2.3522 },
  Prague: { lat: 50.0755, lon: 14.4378 },
  Vienna: { lat: 48.2082, lon: 16.3738 },
  Warsaw: { lat: 52.2297, lon: 21.0122 },
  Zurich: { lat: 47.3769, lon: 8.5417 },
};

export interface Truck {
  id: string;
  from: string;
  to: string;
  kmh: number;
  /** How far along its route it is at the start, km. */
  startKm: number;
}

const routes: [string, string, number][] = [
  ["Amsterdam", "Berlin", 80],
  ["Berlin", "Warsaw", 85],
  ["Paris", "Lyon", 90],
  ["Hamburg", "Munich", 78],
  ["Brussels", "Frankfurt", 72],
  ["Milan", "Zurich", 60],
  ["Vienna", "Prague", 75],
  ["Copenhagen", "Hamburg", 82],
  ["Lyon", "Milan", 65],
  ["Cologne", "Paris", 88],
  ["Munich", "Vienna", 95],
  ["Frankfurt", "Berlin", 70],
  ["Zurich", "Munich", 68],
  ["Prague", "Berlin", 77],
  ["Paris", "Brussels", 92],
  ["Warsaw", "Prague", 74],
  ["Amsterdam", "Hamburg", 83],
  ["Milan", "Munich", 62],
  ["Berlin", "Copenhagen", 86],
  ["Frankfurt", "Vienna", 98],
];

export const fleet: Truck[] = routes.map(([from, to, kmh], i) => ({
  id: `truck-${String(i + 1).padStart(2, "0")}`,
  from,
  to,
  kmh,
  startKm: (i * 37) % 150,
}));

export const earthRadiusKm = 6371;
const rad = (degrees: number) => (degrees * Math.PI) / 180;
const deg = (radians: number) => (radians * 180) / Math.PI;

/** The great-circle distance between two places (haversine formula), km. */
export function haversineKm(a: Place, b: Place): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * earthRadiusKm * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Where a truck is after `hours` of driving: there and back along its great circle, at its speed. */
export function positionAt(truck: Truck, hours: number): Place {
  const from = cities[truck.from] as Place;
  const to = cities[truck.to] as Place;
  const routeKm = haversineKm(from, to);
  const km = (truck.startKm + truck.kmh * hours) % (2 * routeKm);
  const f = km <= routeKm ? km / routeKm : 2 - km / routeKm; // the way back past the end
  // A point a fraction f along the great circle from `from` to `to`.
  const delta = routeKm / earthRadiusKm;
  const a = Math.sin((1 - f) * delta) / Math.sin(delta);
  const b = Math.sin(f * delta) / Math.sin(delta);
  const [lat1, lon1, lat2, lon2] = [rad(from.lat), rad(from.lon), rad(to.lat), rad(to.lon)];
  const x = a * Math.cos(lat1) * Math.cos(lon1) + b * Math.cos(lat2) * Math.cos(lon2);
  const y = a * Math.cos(lat1) * Math.sin(lon1) + b * Math.cos(lat2) * Math.sin(lon2);
  const z = a * Math.sin(lat1) + b * Math.sin(lat2);
  return { lat: deg(Math.atan2(z, Math.hypot(x, y))), lon: deg(Math.atan2(y, x)) };
}
