// The broker lifecycle's replica-failure report: it rides on every heartbeat, and a new one is sent at
// once (not at the next interval), also when a heartbeat is in flight at the time.

import { type BrokerHeartbeatRequest__Output, ManualClock } from "@brook/protocol";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BrokerLifecycle, type ReplicaFailures } from "../src/broker-lifecycle.js";

const lifecycles: BrokerLifecycle[] = [];
afterEach(async () => {
  for (const lifecycle of lifecycles.splice(0)) await lifecycle.stop();
});

function start(failures: () => ReplicaFailures) {
  const heartbeats: BrokerHeartbeatRequest__Output[] = [];
  let release = () => {};
  const lifecycle = new BrokerLifecycle({
    brokerId: 1,
    incarnationId: "i1",
    host: "127.0.0.1",
    port: 9000,
    heartbeatIntervalMs: 60_000, // never within the test: every heartbeat seen is one sent at once
    metadataOffset: () => 0,
    onCaughtUp: () => {},
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
    logger: pino({ level: "silent" }),
  });
  lifecycles.push(lifecycle);
  lifecycle.start();
  return { lifecycle, heartbeats, release: () => release() };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("reporting replica failures", () => {
  it("reportNow sends the report at once, after the heartbeat in flight", async () => {
    let failures: ReplicaFailures = { logDirOffline: false, resignedReplicas: [] };
    const { lifecycle, heartbeats, release } = start(() => failures);
    await settle();
    expect(heartbeats).toHaveLength(1);
    failures = { logDirOffline: true, resignedReplicas: [{ topic: "t", partition: 0, partitionEpoch: 3 }] };
    lifecycle.reportNow();
    await settle();
    expect(heartbeats).toHaveLength(1); // one at a time
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
      brokerId: 1,
      incarnationId: "i1",
      host: "127.0.0.1",
      port: 9000,
      heartbeatIntervalMs: 60_000,
      metadataOffset: () => 0,
      onCaughtUp: () => {},
      clock,
      lease: { renew: (sentAtMs) => calls.push(`renew ${sentAtMs}`), revoke: () => calls.push("revoke") },
      channel: {
        registerBroker: async () => ({ registrationOffset: 0 }),
        heartbeat: async () => {
          clock.advance(300); // the answer comes later than the send: the lease counts from the send
          return { fenced, caughtUp: true };
        },
      },
      logger: pino({ level: "silent" }),
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
