import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Controller, fetchMetadata, LevelMetadataLog } from "../src/index.js";

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
  return Controller.open({ nodeId: 1, log: await LevelMetadataLog.open(dir) });
}

describe("controller on a level metadata log", () => {
  it("metadata survives a restart: the image is rebuilt by replaying the log", async () => {
    const dir = tempDir();
    const first = await openController(dir);
    await first.registerBroker({ brokerId: 1, incarnationId: "a", host: "127.0.0.1", port: 9092 });
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
    await controller.registerBroker(registration);
    const offset = controller.committedOffset;
    await controller.registerBroker(registration);
    expect(controller.committedOffset).toBe(offset);
    await controller.close();
  });

  it("validate-only creation commits nothing", async () => {
    const controller = await openController(tempDir());
    await controller.registerBroker({ brokerId: 1, incarnationId: "a", host: "h", port: 1 });
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
    await controller.registerBroker({ brokerId: 1, incarnationId: "a", host: "h", port: 1 });
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
