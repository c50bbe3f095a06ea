import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import { BrookError, fromWireError, toWireError } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import {
  activeControllerIdOf,
  Controller,
  fetchMetadata,
  NotActiveControllerError,
  planCreateTopic,
  registerBroker,
} from "../src/index.js";
import { registerLiveBroker } from "./helpers/decisions.js";
import { LevelMetadataLog } from "./helpers/level-metadata-log.js";
import { ScriptedQuorumLog } from "./helpers/scripted-quorum-log.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "brook-controller-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function openController(dir: string): Promise<Controller> {
  return Controller.open({ nodeId: 1, log: await LevelMetadataLog.open(dir), sessionCheckIntervalMs: 0 });
}

describe("controller on a level metadata log", () => {
  it("metadata survives a restart: the image is rebuilt by replaying the log", async () => {
    const dir = tempDir();
    const first = await openController(dir);
    await registerLiveBroker(first, { brokerId: 1, incarnationId: "a", host: "127.0.0.1", port: 9092 });
    const created = await first.createTopics([
      { name: "orders", numPartitions: 3, replicationFactor: 1, configs: new Map() },
      { name: "orders", numPartitions: 3, replicationFactor: 1, configs: new Map() },
    ]);
    expect(created[0].error).toBeUndefined();
    expect(created[1].error?.code).toBe("TOPIC_ALREADY_EXISTS");
    await first.createTopics([{ name: "gone", numPartitions: 1, replicationFactor: 1, configs: new Map() }]);
    await first.deleteTopics(["gone"]);
    const offsetBefore = first.image.offset;
    await first.close();

    const second = await openController(dir);
    expect(second.image.offset).toBe(offsetBefore);
    expect(second.image.topic("orders")?.partitions).toHaveLength(3);
    expect(second.image.topic("gone")).toBeUndefined();
    expect(second.image.brokers.get(1)?.port).toBe(9092);
    await second.close();
  });

  it("re-registering an unchanged broker writes nothing", async () => {
    const controller = await openController(tempDir());
    const registration = { brokerId: 1, incarnationId: "a", host: "h", port: 1 };
    await registerLiveBroker(controller, registration);
    const offset = controller.committedOffset;
    await registerLiveBroker(controller, registration);
    expect(controller.committedOffset).toBe(offset);
    await controller.close();
  });

  it("RegisterBroker's kafka_host/kafka_port become the image's Kafka endpoint; port 0 means the broker has none", async () => {
    const controller = await openController(tempDir());
    const wire = { incarnationId: "a", host: "h", port: 9092, rack: "" };
    await registerBroker(controller, { ...wire, brokerId: 1, kafkaHost: "k", kafkaPort: 9094 });
    await registerBroker(controller, { ...wire, brokerId: 2, kafkaHost: "", kafkaPort: 0 });
    expect(controller.image.brokers.get(1)?.kafkaEndpoint).toEqual({ host: "k", port: 9094 });
    expect(controller.image.brokers.get(2)).not.toHaveProperty("kafkaEndpoint");
    await controller.close();
  });

  it("validate-only creation commits nothing", async () => {
    const controller = await openController(tempDir());
    await registerLiveBroker(controller, { brokerId: 1, incarnationId: "a", host: "h", port: 1 });
    const offset = controller.committedOffset;
    const [outcome] = await controller.createTopics(
      [{ name: "t", numPartitions: 1, replicationFactor: 1, configs: new Map() }],
      true,
    );
    expect(outcome.error).toBeUndefined();
    expect(controller.committedOffset).toBe(offset);
    await controller.close();
  });

  it("FetchMetadata long-polls until a new record is committed", async () => {
    const controller = await openController(tempDir());
    await registerLiveBroker(controller, { brokerId: 1, incarnationId: "a", host: "h", port: 1 });
    const next = controller.committedOffset + 1;
    const pending = fetchMetadata(controller, { fromOffset: next, maxWaitMs: 5_000, maxRecords: 100 });
    await controller.createTopics([
      { name: "t", numPartitions: 1, replicationFactor: 1, configs: new Map() },
    ]);
    const response = await pending;
    expect(response.nextOffset).toBe(next + 2);
    expect(response.records).toHaveLength(2);
    await controller.close();
  });
});

/** A registered broker, unfenced as its heartbeats would have it. */
const broker = (brokerId: number): MetadataRecord[] => [
  { type: "broker-registration", brokerId, incarnationId: `i${brokerId}`, host: "h", port: brokerId },
  { type: "broker-unfence", brokerId, incarnationId: `i${brokerId}` },
];
const newTopic = (name: string) => ({ name, numPartitions: 1, replicationFactor: 1, configs: new Map() });
/** The records an active controller would have committed to create `name` on `image`. */
const created = (image: MetadataImage, name: string) => planCreateTopic(image, newTopic(name), `id-${name}`);

describe("controller on a quorum: the active-controller rules", () => {
  it("a follower's image is built from the batches the quorum commits, and its listeners hear of each", async () => {
    const log = new ScriptedQuorumLog(1, false, 2);
    const follower = await Controller.open({ nodeId: 1, log, sessionCheckIntervalMs: 0 });
    const offsets: number[] = [];
    follower.onImage((image) => offsets.push(image.offset));

    log.commit(broker(2));
    log.commit(created(follower.image, "orders"));

    expect(follower.image.topic("orders")?.partitions).toHaveLength(1);
    expect(follower.image.brokers.get(2)?.port).toBe(2);
    expect(offsets).toEqual([1, 3]);
  });

  it("a write on a follower fails with NOT_CONTROLLER naming the active controller, in-process and over the wire", async () => {
    const follower = await Controller.open({
      nodeId: 1,
      log: new ScriptedQuorumLog(1, false, 2),
      sessionCheckIntervalMs: 0,
    });
    const writes = [
      follower.createTopics([newTopic("t")]),
      follower.createTopics([newTopic("t")], true),
      follower.deleteTopics(["t"]),
      follower.registerBroker({ brokerId: 1, incarnationId: "a", host: "h", port: 1 }),
    ];
    for (const write of writes) {
      const error = await write.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NotActiveControllerError);
      expect(error).toMatchObject({ code: "NOT_CONTROLLER", retriable: true, activeControllerId: 2 });
      expect((error as Error).message).toBe(
        "NOT_CONTROLLER: node 1 is not the active controller; the active controller is node 2",
      );
      expect(activeControllerIdOf(fromWireError(toWireError(error)))).toBe(2);
    }
    expect(follower.isActive()).toBe(false);
    expect(follower.activeControllerId()).toBe(2);
  });

  it("with no active controller known, NOT_CONTROLLER says so and names none", async () => {
    const follower = await Controller.open({
      nodeId: 1,
      log: new ScriptedQuorumLog(1, false, undefined),
      sessionCheckIntervalMs: 0,
    });
    const error = await follower.deleteTopics(["t"]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no active controller is known yet/);
    expect(activeControllerIdOf(error)).toBeUndefined();
    expect(activeControllerIdOf(new BrookError("UNKNOWN_TOPIC"))).toBeUndefined();
  });

  it("a newly active controller applies everything committed before its first decision, once per term", async () => {
    const log = new ScriptedQuorumLog(1, false, 2);
    const controller = await Controller.open({ nodeId: 1, log, sessionCheckIntervalMs: 0 });
    log.commit(broker(1));
    // The previous active controller created "orders"; it reached the quorum but not yet this node.
    const withBroker = controller.image;
    log.committedElsewhere.push(created(withBroker, "orders"));
    log.elect(1);

    const [outcome] = await controller.createTopics([newTopic("orders")]);
    expect(outcome.error?.code).toBe("TOPIC_ALREADY_EXISTS");
    expect(controller.image.topic("orders")?.topicId).toBe("id-orders");
    await controller.createTopics([newTopic("more")]);
    expect(log.syncCalls).toBe(1); // caught up once in this term

    log.elect(1);
    await controller.createTopics([newTopic("again")]);
    expect(log.syncCalls).toBe(2); // a new term: catch up again
  });

  it("leadership lost while an append is in flight: that topic and the rest report NOT_CONTROLLER", async () => {
    const log = new ScriptedQuorumLog(1, true, 1);
    const controller = await Controller.open({ nodeId: 1, log, sessionCheckIntervalMs: 0 });
    log.commit(broker(1));
    const imageBefore = controller.image;
    log.beforeAppend = () => {
      log.elect(3);
      throw new BrookError("NOT_CONTROLLER", "node 1 is not the Raft leader; the leader is node 3");
    };

    const outcomes = await controller.createTopics([newTopic("a"), newTopic("b")]);
    for (const outcome of outcomes) {
      expect(outcome.error).toMatchObject({ code: "NOT_CONTROLLER", activeControllerId: 3 });
    }
    expect(controller.image).toBe(imageBefore);
  });

  it("a new term in the middle of a write: the next decision catches up first", async () => {
    const log = new ScriptedQuorumLog(1, true, 1);
    const controller = await Controller.open({ nodeId: 1, log, sessionCheckIntervalMs: 0 });
    log.commit(broker(1));
    log.beforeAppend = () => {
      log.beforeAppend = () => undefined;
      // Leadership moved away and back; meanwhile another controller created "b".
      log.elect(1);
      log.committedElsewhere.push(created(controller.image, "b"));
    };

    const outcomes = await controller.createTopics([newTopic("a"), newTopic("b")]);
    expect(outcomes.map((outcome) => outcome.error?.code)).toEqual([undefined, "TOPIC_ALREADY_EXISTS"]);
    expect(log.syncCalls).toBe(2);
  });

  it("start-up replay and the batches reported during it apply every record exactly once", async () => {
    const log = new ScriptedQuorumLog(1, false, 2);
    log.commit(broker(1));
    log.commit(created(applyRecords(MetadataImage.empty, broker(1), 0), "a"));
    const all = () => log.read(0, 100);
    // While the replay reads, the quorum commits two more batches: one past what the
    // replay has applied (it reads it later), one right after it (applied at once).
    log.duringRead = (fromOffset) => {
      if (fromOffset === 0) log.commit(broker(2));
      if (fromOffset > 0 && fromOffset === log.committedOffset + 1) {
        log.duringRead = () => undefined;
        log.commit(broker(3));
      }
    };
    const controller = await Controller.open({ nodeId: 1, log, sessionCheckIntervalMs: 0 });

    expect(controller.image.offset).toBe(log.committedOffset);
    expect(controller.image).toEqual(applyRecords(MetadataImage.empty, await all(), 0));
    expect([...controller.image.brokers.keys()]).toEqual([1, 2, 3]);
  });
});
