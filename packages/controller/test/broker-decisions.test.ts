// Broker membership decisions: registration, fencing on an expired session, unfencing.
import { describe, expect, it } from "vitest";
import {
  type BrokerSessions,
  planBrokerRegistration,
  planFenceExpiredBrokers,
  planUnfence,
} from "../src/index.js";
import { codeOf, imageOf, incarnation, replay } from "./helpers/decisions.js";

const sessionTimeoutMs = 3000;
const sessions = (lastHeartbeatMs: Record<number, number>, nowMs: number): BrokerSessions => ({
  lastHeartbeatMs: new Map(Object.entries(lastHeartbeatMs).map(([id, ms]) => [Number(id), ms])),
  nowMs,
  sessionTimeoutMs,
});
const registration = (brokerId: number, incarnationId: string) => ({
  brokerId,
  incarnationId,
  host: "127.0.0.1",
  port: 9000 + brokerId,
});

describe("broker registration", () => {
  const image = imageOf({ live: [1, 2], topics: { t: [{ replicas: [1, 2] }] } });

  it("a new broker id registers, fenced until unfenced", () => {
    const records = planBrokerRegistration(image, registration(3, "c"), sessions({}, 0));
    expect(records).toEqual([{ type: "broker-registration", ...registration(3, "c") }]);
    expect(replay(image, records).brokers.get(3)?.fenced).toBe(true);
  });

  it("a retry by the same incarnation changes nothing", () => {
    expect(planBrokerRegistration(image, registration(1, incarnation(1)), sessions({ 1: 0 }, 0))).toEqual([]);
  });

  it("the same incarnation at a new endpoint is refused", () => {
    const moved = { ...registration(1, incarnation(1)), port: 1 };
    expect(codeOf(() => planBrokerRegistration(image, moved, sessions({ 1: 0 }, 0)))).toBe("INVALID_REQUEST");
  });

  it("the same incarnation with another Kafka endpoint is refused too; the same one again changes nothing", () => {
    const kafka = { ...registration(3, "c"), kafkaEndpoint: { host: "127.0.0.1", port: 9094 } };
    const withKafka = replay(image, planBrokerRegistration(image, kafka, sessions({}, 0)));
    expect(withKafka.brokers.get(3)?.kafkaEndpoint).toEqual({ host: "127.0.0.1", port: 9094 });
    expect(planBrokerRegistration(withKafka, kafka, sessions({ 3: 0 }, 0))).toEqual([]);
    for (const changed of [
      { ...kafka, kafkaEndpoint: { host: "127.0.0.1", port: 9095 } },
      { ...kafka, kafkaEndpoint: { host: "elsewhere", port: 9094 } },
      registration(3, "c"), // the listener gone
    ]) {
      expect(() => planBrokerRegistration(withKafka, changed, sessions({ 3: 0 }, 0))).toThrow(
        /INVALID_REQUEST: incarnation c of broker 3 registered at 127.0.0.1:9003 \(Kafka 127.0.0.1:9094\); a new endpoint needs a new incarnation/,
      );
    }
  });

  it("a second claimant of a live broker's id is refused while the first's session is alive", () => {
    const plan = () => planBrokerRegistration(image, registration(1, "intruder"), sessions({ 1: 0 }, 3000));
    expect(codeOf(plan)).toBe("DUPLICATE_BROKER_REGISTRATION");
    expect(plan).toThrow(/broker 1 is held by incarnation inc-1 .* refusing incarnation intruder/);
  });

  it("a restarted broker re-registers once the old session expired, and the old one's leaderships move", () => {
    const records = planBrokerRegistration(image, registration(1, "restarted"), sessions({ 1: 0 }, 3001));
    expect(records).toEqual([
      { type: "broker-fence", brokerId: 1, incarnationId: incarnation(1) },
      { type: "partition-change", topicId: "id-t", partition: 0, leader: 2, isr: [2] },
      { type: "broker-registration", ...registration(1, "restarted") },
    ]);
    const after = replay(image, records);
    expect(after.brokers.get(1)).toMatchObject({ incarnationId: "restarted", fenced: true });
    expect(after.partition("t", 0)).toMatchObject({ leader: 2, leaderEpoch: 1 });
  });

  it("a new incarnation of a fenced broker registers cleanly even if a heartbeat is recent", () => {
    const fenced = imageOf({ live: [2], fenced: [1] });
    expect(planBrokerRegistration(fenced, registration(1, "new"), sessions({ 1: 0 }, 1))).toEqual([
      { type: "broker-registration", ...registration(1, "new") },
    ]);
  });
});

describe("fencing brokers whose session expired", () => {
  it("fences only unfenced brokers past the session timeout, in id order; brokers with no session are left alone", () => {
    const image = imageOf({ live: [1, 2, 3, 4], fenced: [5] });
    const last = new Map([
      [3, 0],
      [1, 0],
      [2, 1000],
      [5, 0],
    ]);
    expect(planFenceExpiredBrokers(image, last, 3500, sessionTimeoutMs)).toEqual([
      { type: "broker-fence", brokerId: 1, incarnationId: incarnation(1) },
      { type: "broker-fence", brokerId: 3, incarnationId: incarnation(3) },
    ]);
    expect(planFenceExpiredBrokers(image, last, 3000, sessionTimeoutMs)).toEqual([]);
  });

  it("elects the next leader from the ISR in replica order and removes the fenced broker from the ISR", () => {
    const image = imageOf({
      live: [1, 2, 3],
      topics: { t: [{ replicas: [1, 3, 2], isr: [1, 2, 3] }, { replicas: [2, 1, 3] }] },
    });
    const records = planFenceExpiredBrokers(image, new Map([[1, 0]]), 5000, sessionTimeoutMs);
    expect(records.slice(1)).toEqual([
      { type: "partition-change", topicId: "id-t", partition: 0, leader: 3, isr: [2, 3] },
      { type: "partition-change", topicId: "id-t", partition: 1, isr: [2, 3] },
    ]);
    const after = replay(image, records);
    expect(after.partition("t", 0)).toMatchObject({ leader: 3, leaderEpoch: 1, partitionEpoch: 1 });
    expect(after.partition("t", 1)).toMatchObject({ leader: 2, leaderEpoch: 0, partitionEpoch: 1 });
  });

  it("never elects a fenced broker or one outside the ISR", () => {
    const image = imageOf({
      live: [1, 3],
      fenced: [2],
      topics: { t: [{ replicas: [1, 2, 3], isr: [1, 2] }] },
    });
    const records = planFenceExpiredBrokers(image, new Map([[1, 0]]), 5000, sessionTimeoutMs);
    expect(records.slice(1)).toEqual([
      { type: "partition-change", topicId: "id-t", partition: 0, leader: -1, isr: [2] },
    ]);
  });

  it("with no eligible ISR member the partition goes offline and keeps its last ISR member", () => {
    const image = imageOf({ live: [1, 2], topics: { t: [{ replicas: [1, 2], isr: [1] }] } });
    const records = planFenceExpiredBrokers(image, new Map([[1, 0]]), 5000, sessionTimeoutMs);
    expect(records.slice(1)).toEqual([
      { type: "partition-change", topicId: "id-t", partition: 0, leader: -1 },
    ]);
    expect(replay(image, records).partition("t", 0)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
  });

  it("unclean election, when the topic enables it, picks any live replica and makes it the whole ISR", () => {
    const image = imageOf({
      live: [1, 2],
      topics: { t: [{ replicas: [1, 2], isr: [1] }] },
      configs: { t: { "unclean.leader.election.enable": "true" } },
    });
    const records = planFenceExpiredBrokers(image, new Map([[1, 0]]), 5000, sessionTimeoutMs);
    expect(records.slice(1)).toEqual([
      { type: "partition-change", topicId: "id-t", partition: 0, leader: 2, isr: [2] },
    ]);
  });

  it("brokers fenced together never take over from one another", () => {
    const image = imageOf({ live: [1, 2, 3], topics: { t: [{ replicas: [1, 2, 3] }] } });
    const last = new Map([
      [1, 0],
      [2, 0],
    ]);
    const records = planFenceExpiredBrokers(image, last, 5000, sessionTimeoutMs);
    expect(records.slice(2)).toEqual([
      { type: "partition-change", topicId: "id-t", partition: 0, leader: 3, isr: [3] },
    ]);
  });

  it("is deterministic: the same image and sessions give the same records", () => {
    const image = imageOf({
      live: [1, 2, 3],
      topics: { b: [{ replicas: [1, 2] }], a: [{ replicas: [1, 3] }] },
    });
    const plan = () => planFenceExpiredBrokers(image, new Map([[1, 0]]), 5000, sessionTimeoutMs);
    expect(plan()).toEqual(plan());
    expect(
      plan()
        .slice(1)
        .map((r) => (r.type === "partition-change" ? r.topicId : "")),
    ).toEqual(["id-a", "id-b"]);
  });
});

describe("unfencing a broker", () => {
  it("unfences it, brings back offline partitions it can lead and restores it as preferred leader", () => {
    const image = imageOf({
      live: [2, 3],
      fenced: [1],
      topics: {
        t: [
          { replicas: [1, 2], isr: [1], leader: -1 },
          { replicas: [1, 3], isr: [3, 1], leader: 3 },
          { replicas: [2, 1], isr: [2, 1], leader: 2 },
          { replicas: [3, 2], isr: [3, 2], leader: 2 },
        ],
      },
    });
    const records = planUnfence(image, 1);
    expect(records).toEqual([
      { type: "broker-unfence", brokerId: 1, incarnationId: incarnation(1) },
      { type: "partition-change", topicId: "id-t", partition: 0, leader: 1 },
      { type: "partition-change", topicId: "id-t", partition: 1, leader: 1 },
    ]);
    expect(replay(image, records).brokers.get(1)?.fenced).toBe(false);
  });

  it("unfencing an unfenced broker changes nothing", () => {
    expect(planUnfence(imageOf({ live: [1] }), 1)).toEqual([]);
  });

  it("unfencing an unregistered broker is refused", () => {
    expect(codeOf(() => planUnfence(imageOf({ live: [1] }), 7))).toBe("INVALID_REQUEST");
  });
});
