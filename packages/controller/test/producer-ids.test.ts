// Producer id blocks (KIP-730): the rule checked is that no producer id is ever
// handed out twice — not by two allocations in a row, not by allocations racing
// in the write queue, not across a controller restart or a change of active
// controller — because each block is a committed metadata record.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MetadataImage } from "@brook/metadata";
import { afterEach, describe, expect, it } from "vitest";
import {
  allocateProducerIds,
  Controller,
  type ProducerIdBlock,
  planProducerIdBlock,
  producerIdBlockSize,
} from "../src/index.js";
import { codeOf } from "./helpers/decisions.js";
import { LevelMetadataLog } from "./helpers/level-metadata-log.js";
import { Quorum } from "./helpers/quorum.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function openController(dir: string): Promise<Controller> {
  return Controller.open({ nodeId: 1, log: await LevelMetadataLog.open(dir), sessionCheckIntervalMs: 0 });
}

function ids(block: ProducerIdBlock): number[] {
  return Array.from({ length: block.count }, (_, i) => block.firstProducerId + i);
}

/** Every id of every block, checked to be distinct. */
function expectDisjoint(blocks: readonly ProducerIdBlock[]): void {
  const all = blocks.flatMap(ids);
  expect(new Set(all).size).toBe(all.length);
}

describe("planProducerIdBlock", () => {
  it("takes the block starting at the image's next id, and the record moves it one block on", () => {
    expect(planProducerIdBlock(MetadataImage.empty, 3)).toEqual({
      record: { type: "producer-ids", brokerId: 3, nextProducerId: producerIdBlockSize },
      block: { firstProducerId: 0, count: producerIdBlockSize },
    });
  });

  it("refuses a broker id that is not one", () => {
    expect(codeOf(() => planProducerIdBlock(MetadataImage.empty, -1))).toBe("INVALID_REQUEST");
  });
});

describe("Controller.allocateProducerIds", () => {
  it("hands out consecutive, disjoint blocks, also when allocations race, and keeps going after a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brook-producer-ids-"));
    dirs.push(dir);
    const first = await openController(dir);
    const blocks = [await first.allocateProducerIds(1)];
    blocks.push(...(await Promise.all([1, 2, 3].map((brokerId) => first.allocateProducerIds(brokerId)))));
    expect(blocks[0]).toEqual({ firstProducerId: 0, count: producerIdBlockSize });
    expect(first.image.nextProducerId).toBe(4 * producerIdBlockSize);
    await first.close();

    const second = await openController(dir);
    blocks.push(await allocateProducerIds(second, { brokerId: 2 }).then(asBlock));
    expect(blocks.at(-1)).toEqual({ firstProducerId: 4 * producerIdBlockSize, count: producerIdBlockSize });
    expectDisjoint(blocks);
    await second.close();
  });

  it("a newly active controller continues after the blocks its predecessor committed", async () => {
    const quorum = await Quorum.start();
    const controllers = new Map<number, Controller>();
    try {
      for (const log of quorum.running()) {
        const nodeId = log.status().nodeId;
        controllers.set(nodeId, await Controller.open({ nodeId, log, sessionCheckIntervalMs: 0 }));
      }
      const firstLeader = (await quorum.leader()).status().nodeId;
      const before = await controllers.get(firstLeader)!.allocateProducerIds(1);

      await quorum.kill(firstLeader);
      await controllers.get(firstLeader)!.close();
      controllers.delete(firstLeader);
      const secondLeader = (await quorum.leader()).status().nodeId;
      const after = await controllers.get(secondLeader)!.allocateProducerIds(2);

      expect(after.firstProducerId).toBe(before.firstProducerId + producerIdBlockSize);
      expectDisjoint([before, after]);
    } finally {
      for (const [id, controller] of controllers) {
        await quorum.kill(id);
        await controller.close();
      }
      await quorum.close();
    }
  });
});

function asBlock(response: { firstProducerId?: unknown; count?: number }): ProducerIdBlock {
  return { firstProducerId: Number(response.firstProducerId), count: response.count ?? 0 };
}
