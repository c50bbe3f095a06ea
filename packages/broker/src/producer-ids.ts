// InitProducerId on any broker (Kafka's RPCProducerIdManager, KIP-730): the
// broker hands out ids from a block the controller committed to it, and asks
// for the next block when this one is used up. Ids are unique cluster-wide
// because blocks are; a broker that restarts simply asks for a new block, so
// the ids left in the old one are never used. With a transactional id, only
// the id's transaction coordinator answers: it keeps the id's producer id
// (taken from the same blocks) and bumps its epoch (transactions/).

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

/** A new producer id starts at epoch 0; epochs grow only with a transactional id's InitProducerId. */
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

/** A fresh producer id from this broker's block: for idempotent producers and new transactional ids. */
export function nextProducerId(ctx: ProducerIdContext): Promise<number> {
  return managerOf(ctx).nextProducerId();
}

/** What InitProducerId with a transactional id needs: the transaction coordinator (transactions/coordinator.ts). */
export interface TransactionalProducerIds {
  readonly config: {
    readonly transactionTimeoutMsDefault: number;
    readonly transactionTimeoutMsMax: number;
  };
  initProducerId(
    transactionalId: string,
    timeoutMs: number,
  ): Promise<{ producerId: number; producerEpoch: number }>;
}

/**
 * The InitProducerId handler. Without a transactional id: a fresh producer id
 * at epoch 0, from any broker. With one: the id's producer id at its next
 * epoch, from its coordinator only (NOT_COORDINATOR elsewhere). Failures (no
 * active controller to get a block from, say) travel in the response's error,
 * with -1 for id and epoch; NOT_CONTROLLER and timeouts are retriable.
 */
export async function initProducerId(
  ctx: ProducerIdContext,
  request: InitProducerIdRequest__Output,
  transactions?: TransactionalProducerIds,
): Promise<InitProducerIdResponse> {
  try {
    if (request.transactionalId) {
      assert(transactions !== undefined, "a broker serving transactional ids has a transaction coordinator");
      const timeoutMs = transactionTimeoutMs(request.transactionTimeoutMs, transactions.config);
      const { producerId, producerEpoch } = await transactions.initProducerId(
        request.transactionalId,
        timeoutMs,
      );
      return { error: noError, producerId, producerEpoch };
    }
    const producerId = await nextProducerId(ctx);
    return { error: noError, producerId, producerEpoch: initialProducerEpoch };
  } catch (error) {
    const typed = asBrookError(error);
    // Coordinator moves and completions in progress are routine; the client retries them.
    ctx.logger[typed.retriable ? "debug" : "warn"](
      { error: typed.message, transactionalId: request.transactionalId || undefined },
      "InitProducerId failed",
    );
    return { error: toWireError(error), producerId: -1, producerEpoch: -1 };
  }
}

/**
 * The timeout a transactional producer asked for: 0 takes the broker's default; anything else must
 * be positive and at most transaction.max.timeout.ms (Kafka's INVALID_TRANSACTION_TIMEOUT).
 */
export function transactionTimeoutMs(
  requestedMs: number,
  config: TransactionalProducerIds["config"],
): number {
  if (requestedMs === 0) return config.transactionTimeoutMsDefault;
  if (!Number.isInteger(requestedMs) || requestedMs < 0 || requestedMs > config.transactionTimeoutMsMax) {
    throw new BrookError(
      "INVALID_TRANSACTION_TIMEOUT",
      `a transaction timeout is 1-${config.transactionTimeoutMsMax} ms (0: the default, ${config.transactionTimeoutMsDefault} ms); got ${requestedMs}`,
    );
  }
  return requestedMs;
}
