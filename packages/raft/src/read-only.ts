// Read index (linearizable reads without writing to the log): the leader
// records its commit index when a read arrives, then confirms it is still the
// leader by a heartbeat round carrying the read's context; once a quorum has
// echoed the context, every read queued up to it may be served at its index.

import { assert } from "./assert.js";
import { readIndexPendingMax } from "./limits.js";
import type { Message, NodeId } from "./types.js";

export interface ReadIndexRequest {
  /** The commit index when the request arrived. */
  readonly index: number;
  /** Who asked: the leader itself or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly context: Uint8Array;
  readonly acks: Set<NodeId>;
}

export function contextKey(context: Uint8Array): string {
  let key = "";
  for (const byte of context) key += byte.toString(16).padStart(2, "0");
  return key;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexRequest>();
  private readonly queue: string[] = [];

  /** False when the request is a duplicate or the queue is full (the caller retries). */
  add(index: number, message: Message): boolean {
    assert(message.context !== undefined, "a read-index request carries a context");
    const key = contextKey(message.context);
    if (this.pending.has(key) || this.queue.length >= readIndexPendingMax) return false;
    this.pending.set(key, { index, from: message.from, context: message.context, acks: new Set() });
    this.queue.push(key);
    return true;
  }

  /** Records that `from` echoed `context`; returns everyone who has, or undefined if the context is unknown. */
  recvAck(from: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const request = this.pending.get(contextKey(context));
    request?.acks.add(from);
    return request?.acks;
  }

  /** The quorum confirmed `context`: release it and every request queued before it. */
  advance(context: Uint8Array): ReadIndexRequest[] {
    const position = this.queue.indexOf(contextKey(context));
    if (position < 0) return [];
    const released = this.queue.splice(0, position + 1).map((key) => this.pending.get(key)!);
    for (const request of released) this.pending.delete(contextKey(request.context));
    return released;
  }

  /** The context of the newest pending request, sent with every heartbeat so lost rounds are retried. */
  lastPendingContext(): Uint8Array | undefined {
    const key = this.queue.at(-1);
    return key === undefined ? undefined : this.pending.get(key)?.context;
  }

  size(): number {
    return this.queue.length;
  }
}
