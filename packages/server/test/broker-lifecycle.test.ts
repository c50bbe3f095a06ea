// The broker lifecycle's replica-failure report: it rides on every heartbeat, and a new one is sent at
// once (not at the next interval), also when a heartbeat is in flight at the time. Heartbeats do not wait
// for each other (a lossy link answers late), and an answer older than one applied is ignored.

import { type BrokerHeartbeatRequest__Output, ManualClock } from "@brook/protocol";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BrokerLifecycle, type ReplicaFailures } from "../src/broker-lifecycle.js";

/** Broker 1 on 127.0.0.1:9000, at metadata offset 0, logging nothing: what every case here shares. */
const identity = {
  brokerId: 1,
  incarnationId: "i1",
  host: "127.0.0.1",
  port: 9000,
  metadataOffset: () => 0,
  onCaughtUp: () => {},
  logger: pino({ level: "silent" }),
};

const lifecycles: BrokerLifecycle[] = [];
afterEach(async () => {
  for (const lifecycle of lifecycles.splice(0)) await lifecycle.stop();
});

function start(failures: () => ReplicaFailures) {
  const heartbeats: BrokerHeartbeatRequest__Output[] = [];
  let release = () => {};
  const lifecycle = new BrokerLifecycle({
    ...identity,
    heartbeatIntervalMs: 60_000, // never within the test: every heartbeat seen is one sent at once
    replicaFailures: failures,
    channel: {
      registerBroker: async () => ({ registrationOffset: 0 }),
      heartbeat: async (request) => {
        heartbeats.push(request);
        // The first heartbeat (right after registering) stays in flight until released.
        if (heartbeats.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return { fenced: false, caughtUp: true };
      },
    },
  });
  lifecycles.push(lifecycle);
  lifecycle.start();
  return { lifecycle, heartbeats, release: () => release() };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("reporting replica failures", () => {
  it("reportNow sends the report once the registration (and its first heartbeat) is answered", async () => {
    let failures: ReplicaFailures = { logDirOffline: false, resignedReplicas: [] };
    const { lifecycle, heartbeats, release } = start(() => failures);
    await settle();
    expect(heartbeats).toHaveLength(1);
    failures = { logDirOffline: true, resignedReplicas: [{ topic: "t", partition: 0, partitionEpoch: 3 }] };
    lifecycle.reportNow();
    await settle();
    expect(heartbeats).toHaveLength(1); // registering: heartbeats wait for it
    release();
    await settle();
    expect(heartbeats).toHaveLength(2);
    expect(heartbeats[1]).toMatchObject(failures);
  });
});

describe("the leadership lease", () => {
  it("is renewed with the send time of each unfenced answer, and revoked when the controller says fenced", async () => {
    const clock = new ManualClock(1_000);
    const calls: string[] = [];
    let fenced = false;
    const lifecycle = new BrokerLifecycle({
      ...identity,
      heartbeatIntervalMs: 60_000,
      clock,
      lease: { renew: (sentAtMs) => calls.push(`renew ${sentAtMs}`), revoke: () => calls.push("revoke") },
      channel: {
        registerBroker: async () => ({ registrationOffset: 0 }),
        heartbeat: async () => {
          clock.advance(300); // the answer comes later than the send: the lease counts from the send
          return { fenced, caughtUp: true };
        },
      },
    });
    lifecycles.push(lifecycle);
    lifecycle.start();
    await settle();
    fenced = true;
    lifecycle.reportNow();
    await settle();
    expect(calls).toEqual(["renew 1000", "revoke"]);
  });
});

describe("heartbeats that do not wait for each other", () => {
  /** A lifecycle whose heartbeats wait until the test answers them, in any order. */
  function startHeld(heartbeatTimeoutMs: number) {
    const clock = new ManualClock(1_000);
    const pending: ((reply: { fenced: boolean; caughtUp: boolean }) => void)[] = [];
    const lease: string[] = [];
    const unanswered = { now: 0, most: 0 };
    const lifecycle = new BrokerLifecycle({
      ...identity,
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs,
      clock,
      lease: { renew: (sentAtMs) => lease.push(`renew ${sentAtMs}`), revoke: () => lease.push("revoke") },
      channel: {
        registerBroker: async () => ({ registrationOffset: 0 }),
        heartbeat: (request, timeoutMs) => {
          if (request.wantShutDown) return Promise.resolve({ fenced: true, caughtUp: true });
          clock.advance(10); // each send at its own time
          unanswered.most = Math.max(unanswered.most, ++unanswered.now);
          return new Promise<{ fenced: boolean; caughtUp: boolean }>((resolve, reject) => {
            pending.push(resolve);
            setTimeout(() => reject(new Error("not answered in time")), timeoutMs);
          }).finally(() => unanswered.now--);
        },
      },
    });
    lifecycles.push(lifecycle);
    return { lifecycle, pending, lease, unanswered };
  }

  it("sends one each interval while fewer than timeout / interval are unanswered", async () => {
    const { lifecycle, pending, unanswered } = startHeld(300);
    lifecycle.start();
    await settle();
    pending.shift()?.({ fenced: false, caughtUp: true }); // the registration's heartbeat
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(unanswered.most).toBe(3); // none answered: three in flight at most, each given up after 300 ms
    expect(pending.length).toBeGreaterThanOrEqual(5); // and one sent every interval meanwhile
  });

  it("ignores an answer older than one already applied", async () => {
    const { lifecycle, pending, lease } = startHeld(300);
    lifecycle.start();
    await settle();
    pending.shift()?.({ fenced: false, caughtUp: true }); // sent at 1000
    await settle();
    lifecycle.reportNow(); // sent at 1010
    lifecycle.reportNow(); // sent at 1020
    await settle();
    const [older, newer] = pending.splice(0);
    newer({ fenced: false, caughtUp: true });
    await settle();
    older({ fenced: true, caughtUp: true }); // late, and from before the newer answer
    await settle();
    expect(lease).toEqual(["renew 1000", "renew 1020"]);
    expect(lifecycle.isFenced).toBe(false);
  });
});
