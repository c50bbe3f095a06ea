// InitProducerId on any broker (Kafka's RPCProducerIdManager, KIP-730): the
// broker hands out ids from a block the controller committed to it, and asks
// for the next block when this one is used up. Ids are unique cluster-wide
// because blocks are; a broker that restarts simply asks for a new block, so
// the ids left in the old one are never used.

import {
  asBrookError,
  assert,
  BrookError,
  type InitProducerIdRequest__Output,
  type InitProducerIdResponse,
  noError,
  toWireError,
} from "@brook/protocol";
import type { BrokerContext } from "./context.js";

/** A run of ids: firstProducerId .. firstProducerId + count - 1. */
export interface ProducerIdBlock {
  readonly firstProducerId: number;
  readonly count: number;
}

/** A new producer id starts at epoch 0; epochs would only grow with transactions or KIP-360 bumps. */
export const initialProducerEpoch = 0;

/**
 * Block fetches one caller may wait through before giving up: a block holds
 * a thousand ids, so only a thousand callers arriving at once, again and
 * again, could use each block up before this caller's turn.
 */
const blockFetchesPerCallMax = 5;

export class ProducerIdManager {
  private nextId = 0;
  private endId = 0;
  /** The one block request in flight, if any: callers that find the block empty all wait for it. */
  private fetching: Promise<void> | undefined;

  constructor(private readonly allocate: () => Promise<ProducerIdBlock>) {}

  /** The next unused id; asks the controller for a block first when there is none left. */
  async nextProducerId(): Promise<number> {
    for (let fetches = 0; fetches <= blockFetchesPerCallMax; fetches++) {
      if (this.nextId < this.endId) return this.nextId++;
      if (fetches === blockFetchesPerCallMax) break;
      this.fetching ??= this.fetchBlock().finally(() => {
        this.fetching = undefined;
      });
      await this.fetching;
    }
    throw new BrookError(
      "REQUEST_TIMED_OUT",
      `producer ids ran out ${blockFetchesPerCallMax} times while this request waited; retry`,
    );
  }

  private async fetchBlock(): Promise<void> {
    const block = await this.allocate();
    assert(
      Number.isSafeInteger(block.firstProducerId) && block.firstProducerId >= 0 && block.count > 0,
      `the controller hands out whole, non-empty blocks (got ${block.firstProducerId} + ${block.count})`,
    );
    this.nextId = block.firstProducerId;
    this.endId = block.firstProducerId + block.count;
  }
}

/** What InitProducerId needs of the broker. */
export type ProducerIdContext = Pick<BrokerContext, "brokerId" | "controller" | "logger">;

/** One manager per broker: its blocks are its own. Keyed by the broker's context, made on first use. */
const managers = new WeakMap<ProducerIdContext, ProducerIdManager>();

function managerOf(ctx: ProducerIdContext): ProducerIdManager {
  let manager = managers.get(ctx);
  if (manager === undefined) {
    manager = new ProducerIdManager(() => ctx.controller.allocateProducerIds(ctx.brokerId));
    managers.set(ctx, manager);
  }
  return manager;
}

/**
 * The InitProducerId handler: a fresh producer id at epoch 0. Failures (no
 * active controller to get a block from, say) travel in the response's error,
 * with -1 for id and epoch; NOT_CONTROLLER and timeouts are retriable.
 */
export async function initProducerId(
  ctx: ProducerIdContext,
  _request: InitProducerIdRequest__Output,
): Promise<InitProducerIdResponse> {
  try {
    const producerId = await managerOf(ctx).nextProducerId();
    return { error: noError, producerId, producerEpoch: initialProducerEpoch };
  } catch (error) {
    ctx.logger.warn({ error: asBrookError(error).message }, "InitProducerId failed");
    return { error: toWireError(error), producerId: -1, producerEpoch: -1 };
  }
}
