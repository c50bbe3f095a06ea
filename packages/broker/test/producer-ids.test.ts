// InitProducerId on a broker: ids come from blocks the controller hands out,
// one block request at a time however many producers ask at once, a new block
// when one is used up, and a typed error in the answer when there is none.
import { BrookError, fromWireError } from "@brook/protocol";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ControllerChannel } from "../src/context.js";
import {
  initProducerId,
  type ProducerIdBlock,
  type ProducerIdContext,
  ProducerIdManager,
} from "../src/producer-ids.js";

/** A controller stand-in handing out blocks of `count` from 0, counting calls, each answered on a later turn. */
function blocks(count: number) {
  const calls: ProducerIdBlock[] = [];
  const allocate = async (): Promise<ProducerIdBlock> => {
    await new Promise((resolve) => setImmediate(resolve));
    const block = { firstProducerId: calls.length * count, count };
    calls.push(block);
    return block;
  };
  return { calls, allocate };
}

describe("ProducerIdManager", () => {
  it("hands out every id of a block once, then asks for the next block", async () => {
    const controller = blocks(3);
    const manager = new ProducerIdManager(controller.allocate);
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push(await manager.nextProducerId());
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(controller.calls).toHaveLength(3);
  });

  it("asks for one block at a time when many producers arrive at once", async () => {
    const controller = blocks(1_000);
    const manager = new ProducerIdManager(controller.allocate);
    const ids = await Promise.all(Array.from({ length: 50 }, () => manager.nextProducerId()));
    expect(new Set(ids).size).toBe(50);
    expect(controller.calls).toHaveLength(1);
  });

  it("passes on the controller's failure, and asks again on the next call", async () => {
    let fail = true;
    const manager = new ProducerIdManager(async () => {
      if (fail) throw new BrookError("NOT_CONTROLLER", "no active controller");
      return { firstProducerId: 5_000, count: 1_000 };
    });
    await expect(manager.nextProducerId()).rejects.toMatchObject({ code: "NOT_CONTROLLER" });
    fail = false;
    expect(await manager.nextProducerId()).toBe(5_000);
  });
});

describe("initProducerId (the handler)", () => {
  /** A broker's view with a controller that answers `allocate`. */
  function contextWith(allocate: ControllerChannel["allocateProducerIds"]): ProducerIdContext {
    const controller = { allocateProducerIds: allocate } as Partial<ControllerChannel> as ControllerChannel;
    return { brokerId: 3, controller, logger: pino({ level: "silent" }) };
  }

  it("answers a fresh id at epoch 0 from the broker's own block", async () => {
    const asked: number[] = [];
    const ctx = contextWith(async (brokerId) => {
      asked.push(brokerId);
      return { firstProducerId: 2_000, count: 1_000 };
    });
    expect(await initProducerId(ctx, {})).toMatchObject({ producerId: 2_000, producerEpoch: 0 });
    expect(await initProducerId(ctx, {})).toMatchObject({ producerId: 2_001, producerEpoch: 0 });
    expect(asked).toEqual([3]);
  });

  it("puts a failure in the answer's error, with -1 for id and epoch", async () => {
    const ctx = contextWith(async () => {
      throw new BrookError("NOT_CONTROLLER", "no active controller is known yet");
    });
    const response = await initProducerId(ctx, {});
    expect([response.producerId, response.producerEpoch]).toEqual([-1, -1]);
    expect(fromWireError({ code: "", message: "", ...response.error })).toMatchObject({
      code: "NOT_CONTROLLER",
      retriable: true,
    });
  });
});
