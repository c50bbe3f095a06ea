// The controller's broker membership, driven through its public calls with a
// manual clock: registration, heartbeats that unfence a caught-up broker,
// fencing when a session expires (and the leader elections it causes),
// controlled shutdown, a restarted broker's new incarnation, a failover's
// fresh sessions, and the AlterPartition path with preferred leaders.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrookError, ManualClock } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import {
  Controller,
  defaultHeartbeatIntervalMs,
  defaultSessionTimeoutMs,
  noLeader,
  termStartHeartbeats,
} from "../src/index.js";
import { LevelMetadataLog } from "./helpers/level-metadata-log.js";
import { ScriptedQuorumLog } from "./helpers/scripted-quorum-log.js";

const dirs: string[] = [];
const controllers: Controller[] = [];
afterEach(async () => {
  for (const controller of controllers.splice(0)) await controller.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(clock = new ManualClock()): Promise<{ controller: Controller; clock: ManualClock }> {
  const dir = mkdtempSync(join(tmpdir(), "brook-membership-"));
  dirs.push(dir);
  const controller = await Controller.open({
    nodeId: 1,
    log: await LevelMetadataLog.open(dir),
    clock,
    sessionCheckIntervalMs: 0,
  });
  controllers.push(controller);
  return { controller, clock };
}

const registration = (brokerId: number, incarnationId = `i${brokerId}`) => ({
  brokerId,
  incarnationId,
  host: "127.0.0.1",
  port: 9000 + brokerId,
});

/** Registers and heartbeats from the registration's offset: caught up, so unfenced. */
async function join3(controller: Controller, ids = [1, 2, 3]): Promise<void> {
  for (const id of ids) {
    const { registrationOffset } = await controller.registerBroker(registration(id));
    await controller.heartbeat({ ...registration(id), metadataOffset: registrationOffset });
  }
}

/** Every broker but `silent` heartbeats (caught up) at the clock's current time. */
async function heartbeatAllBut(controller: Controller, silent: number[], ids = [1, 2, 3]): Promise<void> {
  for (const id of ids) {
    if (silent.includes(id)) continue;
    await controller.heartbeat({ ...registration(id), metadataOffset: controller.committedOffset });
  }
}

async function createTopic(controller: Controller, name: string, partitions: number, rf: number) {
  const [outcome] = await controller.createTopics([
    { name, numPartitions: partitions, replicationFactor: rf, configs: new Map() },
  ]);
  expect(outcome.error).toBeUndefined();
}

describe("broker membership", () => {
  it("a registration starts fenced; a heartbeat unfences the broker once it has applied its registration", async () => {
    const { controller } = await start();
    const { registrationOffset } = await controller.registerBroker(registration(1));
    expect(controller.image.brokers.get(1)?.fenced).toBe(true);

    const behind = await controller.heartbeat({ ...registration(1), metadataOffset: registrationOffset - 1 });
    expect(behind).toEqual({ fenced: true, caughtUp: false });
    expect(controller.image.brokers.get(1)?.fenced).toBe(true);

    const caughtUp = await controller.heartbeat({ ...registration(1), metadataOffset: registrationOffset });
    expect(caughtUp).toEqual({ fenced: false, caughtUp: true });
    expect(controller.image.brokers.get(1)?.fenced).toBe(false);
  });

  it("topics are placed only on unfenced brokers", async () => {
    const { controller } = await start();
    await join3(controller, [1, 2]);
    await controller.registerBroker(registration(3)); // registered, never caught up
    const [refused] = await controller.createTopics([
      { name: "t", numPartitions: 1, replicationFactor: 3, configs: new Map() },
    ]);
    expect(refused.error?.code).toBe("INVALID_REPLICATION_FACTOR");
    await createTopic(controller, "t", 4, 2);
    for (const partition of controller.image.topic("t")?.partitions ?? []) {
      expect(partition.replicas).not.toContain(3);
    }
  });

  it("a broker silent for the session timeout is fenced and new leaders are elected from the ISR, epochs bumped", async () => {
    const { controller, clock } = await start();
    await join3(controller);
    await createTopic(controller, "orders", 6, 3);
    await createTopic(controller, "solo", 3, 1);
    const before = controller.image;
    const ledBy2 = before.topic("orders")?.partitions.filter((p) => p.leader === 2) ?? [];
    expect(ledBy2.length).toBeGreaterThan(0);

    // Just inside the session: nothing happens.
    clock.advance(defaultSessionTimeoutMs - 100);
    await heartbeatAllBut(controller, [2]);
    clock.advance(100);
    await controller.checkSessions();
    expect(controller.image.brokers.get(2)?.fenced).toBe(false);

    clock.advance(1);
    await controller.checkSessions();
    const after = controller.image;
    expect(after.brokers.get(2)?.fenced).toBe(true);
    for (const old of ledBy2) {
      const now = after.partition("orders", old.partition);
      expect(now?.leader).not.toBe(2);
      expect(now?.leader).not.toBe(noLeader);
      expect(now?.isr).not.toContain(2);
      expect(now?.leaderEpoch).toBe(old.leaderEpoch + 1);
    }
    for (const partition of after.topic("orders")?.partitions ?? []) {
      expect(partition.leader).not.toBe(2);
      expect(partition.isr).not.toContain(2);
    }
    // A single-replica partition on the fenced broker has no one else: offline, and says so.
    for (const partition of after.topic("solo")?.partitions ?? []) {
      if (partition.replicas[0] === 2) {
        expect(partition.leader).toBe(noLeader);
        expect(partition.isr).toEqual([2]);
      }
    }
  });

  it("a fenced broker that heartbeats again is unfenced and brings its offline partitions back", async () => {
    const { controller, clock } = await start();
    await join3(controller);
    await createTopic(controller, "solo", 3, 1);
    const onBroker2 = controller.image.topic("solo")?.partitions.find((p) => p.replicas[0] === 2);
    clock.advance(defaultSessionTimeoutMs + 1);
    await heartbeatAllBut(controller, [2]);
    await controller.checkSessions();
    expect(controller.image.partition("solo", onBroker2?.partition ?? -1)?.leader).toBe(noLeader);

    const reply = await controller.heartbeat({
      ...registration(2),
      metadataOffset: controller.committedOffset,
    });
    expect(reply.fenced).toBe(false);
    const back = controller.image.partition("solo", onBroker2?.partition ?? -1);
    expect(back?.leader).toBe(2);
    expect(back?.leaderEpoch).toBe((onBroker2?.leaderEpoch ?? 0) + 2);
  });

  it("controlled shutdown fences the broker at once and moves its leaderships", async () => {
    const { controller } = await start();
    await join3(controller);
    await createTopic(controller, "orders", 3, 3);
    const reply = await controller.heartbeat({
      ...registration(1),
      metadataOffset: controller.committedOffset,
      wantShutDown: true,
    });
    expect(reply.fenced).toBe(true);
    for (const partition of controller.image.topic("orders")?.partitions ?? []) {
      expect(partition.leader).not.toBe(1);
      expect(partition.isr).not.toContain(1);
    }
  });

  it("a second broker claiming a live node id is refused; once the first's session expires, the new incarnation replaces it", async () => {
    const { controller, clock } = await start();
    await join3(controller);
    await createTopic(controller, "orders", 3, 3);

    await expect(controller.registerBroker(registration(2, "intruder"))).rejects.toMatchObject({
      code: "DUPLICATE_BROKER_REGISTRATION",
      message: expect.stringMatching(/broker 2 is held by incarnation i2.*refusing incarnation intruder/),
    });
    expect(controller.image.brokers.get(2)?.incarnationId).toBe("i2");

    // The old process dies; its successor retries until the session has expired.
    clock.advance(defaultSessionTimeoutMs + 1);
    await heartbeatAllBut(controller, [2]);
    const { registrationOffset } = await controller.registerBroker(registration(2, "restarted"));
    const replaced = controller.image.brokers.get(2);
    expect(replaced).toMatchObject({ incarnationId: "restarted", fenced: true });
    for (const partition of controller.image.topic("orders")?.partitions ?? []) {
      expect(partition.leader).not.toBe(2);
    }
    // The old incarnation is gone for good: its heartbeats are refused.
    await expect(
      controller.heartbeat({ ...registration(2), metadataOffset: registrationOffset }),
    ).rejects.toMatchObject({ code: "STALE_BROKER_INCARNATION" });
    const reply = await controller.heartbeat({
      ...registration(2, "restarted"),
      metadataOffset: registrationOffset,
    });
    expect(reply.fenced).toBe(false);
  });

  it("a retried registration of the same incarnation changes nothing", async () => {
    const { controller } = await start();
    await join3(controller, [1]);
    const offset = controller.committedOffset;
    await controller.registerBroker(registration(1));
    expect(controller.committedOffset).toBe(offset);
    expect(controller.image.brokers.get(1)?.fenced).toBe(false);
  });

  it("ISR changes go through AlterPartition with the epochs they were decided on; a returning preferred leader takes over once back in the ISR", async () => {
    const { controller, clock } = await start();
    await join3(controller);
    await createTopic(controller, "orders", 1, 3);
    const initial = controller.image.partition("orders", 0);
    if (!initial) throw new Error("no partition");
    const [preferred, second] = initial.replicas;

    // The preferred leader dies: leadership moves to the next replica in the ISR.
    clock.advance(defaultSessionTimeoutMs + 1);
    await heartbeatAllBut(controller, [preferred]);
    await controller.checkSessions();
    const moved = controller.image.partition("orders", 0);
    expect(moved?.leader).toBe(second);

    // It comes back and catches up its metadata: unfenced, but not in the ISR, so not leader.
    await controller.heartbeat({ ...registration(preferred), metadataOffset: controller.committedOffset });
    expect(controller.image.brokers.get(preferred)?.fenced).toBe(false);
    await controller.checkSessions();
    expect(controller.image.partition("orders", 0)?.leader).toBe(second);

    // A request decided on old epochs is refused.
    const stale = {
      topic: "orders",
      partition: 0,
      leaderId: initial.leader,
      leaderEpoch: initial.leaderEpoch,
      partitionEpoch: initial.partitionEpoch,
      newIsr: initial.replicas,
    };
    await expect(controller.alterPartition(stale)).rejects.toMatchObject({ code: "FENCED_LEADER_EPOCH" });
    if (!moved) throw new Error("no partition");
    await expect(
      controller.alterPartition({
        ...stale,
        leaderId: second,
        leaderEpoch: moved.leaderEpoch,
        partitionEpoch: 0,
      }),
    ).rejects.toMatchObject({ code: "INVALID_PARTITION_EPOCH" });

    // The leader adds the caught-up replica back; the change is committed before the reply.
    const expanded = await controller.alterPartition({
      ...stale,
      leaderId: second,
      leaderEpoch: moved.leaderEpoch,
      partitionEpoch: moved.partitionEpoch,
      newIsr: [...moved.isr, preferred],
    });
    expect(expanded.isr).toContain(preferred);
    expect(controller.image.partition("orders", 0)?.partitionEpoch).toBe(moved.partitionEpoch + 1);

    // The periodic check hands leadership back to the preferred replica.
    await controller.checkSessions();
    const restored = controller.image.partition("orders", 0);
    expect(restored?.leader).toBe(preferred);
    expect(restored?.leaderEpoch).toBe(moved.leaderEpoch + 1);
  });
});

describe("broker sessions across a controller failover", () => {
  /** Controller 1 following controller 2, with broker 2 registered and in service. */
  async function followerWithBroker2() {
    const clock = new ManualClock();
    const log = new ScriptedQuorumLog(1, false, 2);
    const controller = await Controller.open({ nodeId: 1, log, clock, sessionCheckIntervalMs: 0 });
    controllers.push(controller);
    log.commit([
      { type: "broker-registration", brokerId: 2, incarnationId: "i2", host: "h", port: 2 },
      { type: "broker-unfence", brokerId: 2, incarnationId: "i2" },
    ]);
    return { clock, log, controller };
  }

  it("a newly active controller gives every broker a first session of termStartHeartbeats intervals before fencing any", async () => {
    const { clock, log, controller } = await followerWithBroker2();
    // Broker 2 last heartbeated to the old active controller long ago, as far as anyone here knows.
    clock.advance(10 * defaultSessionTimeoutMs);
    log.elect(1);

    await controller.checkSessions();
    expect(controller.image.brokers.get(2)?.fenced).toBe(false);
    clock.advance(termStartHeartbeats * defaultHeartbeatIntervalMs);
    await controller.checkSessions();
    expect(controller.image.brokers.get(2)?.fenced).toBe(false);
    clock.advance(1);
    await controller.checkSessions();
    expect(controller.image.brokers.get(2)?.fenced).toBe(true);
  });

  it("heartbeats and session checks on a controller that is not active: NOT_CONTROLLER, and nothing fenced", async () => {
    const log = new ScriptedQuorumLog(1, false, 2);
    const controller = await Controller.open({ nodeId: 1, log, sessionCheckIntervalMs: 0 });
    controllers.push(controller);
    await expect(
      controller.heartbeat({ brokerId: 2, incarnationId: "i2", metadataOffset: 0 }),
    ).rejects.toMatchObject({ code: "NOT_CONTROLLER", activeControllerId: 2 });
    await controller.checkSessions();
    expect(controller.committedOffset).toBe(-1);
  });

  it("a heartbeat is answered only once a quorum confirms this controller still leads (the broker's lease counts on it)", async () => {
    const { log, controller } = await followerWithBroker2();
    log.elect(1);
    const heartbeat = () => controller.heartbeat({ brokerId: 2, incarnationId: "i2", metadataOffset: 5 });
    await expect(heartbeat()).resolves.toMatchObject({ fenced: false });
    const confirmedBefore = log.syncCalls;
    await heartbeat();
    expect(log.syncCalls).toBe(confirmedBefore + 1); // one read barrier per heartbeat, not only the first
    // Cut off from the other voters: the read barrier times out, and the broker gets no answer to renew with.
    log.beforeSync = () => {
      throw new BrookError("REQUEST_TIMED_OUT", "read index not confirmed within 5000 ms");
    };
    await expect(heartbeat()).rejects.toMatchObject({ code: "REQUEST_TIMED_OUT" });
  });

  it("a session check while the quorum is unreachable times out quietly and decides at the next one", async () => {
    const { clock, log, controller } = await followerWithBroker2();
    log.elect(1);
    log.beforeSync = () => {
      throw new BrookError("REQUEST_TIMED_OUT", "read index not confirmed within 5000 ms");
    };
    await expect(controller.checkSessions()).resolves.toBeUndefined();

    log.beforeSync = () => undefined;
    await controller.checkSessions(); // caught up now: broker 2 gets a full session from here
    clock.advance(defaultSessionTimeoutMs + 1);
    log.beforeAppend = () => {
      throw new BrookError("REQUEST_TIMED_OUT", "entry 7 was not applied within 10000 ms");
    };
    await expect(controller.checkSessions()).resolves.toBeUndefined();
    expect(controller.image.brokers.get(2)?.fenced).toBe(false);

    log.beforeAppend = () => undefined;
    await controller.checkSessions();
    expect(controller.image.brokers.get(2)?.fenced).toBe(true);
  });
});
