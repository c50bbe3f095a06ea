// What the driver needs from a network: fire-and-forget delivery of Raft
// messages to peers, a place to hand the messages peers send, and word when
// delivery to a peer failed. Raft tolerates loss, duplication and reordering,
// so a transport may drop freely but must never block the driver.

import type { Message, NodeId } from "../types.js";

export type MessageHandler = (messages: Message[]) => void;

/**
 * "unreachable": messages to `peer` were lost (the leader should probe it
 * rather than stream to it). "snapshot": a snapshot to `peer` was not
 * delivered (the leader should send it again instead of waiting).
 */
export type DeliveryFailure = "unreachable" | "snapshot";
export type FailureHandler = (peer: NodeId, failure: DeliveryFailure) => void;

export interface RaftTransport {
  /** This node's id; messages addressed elsewhere are dropped on receipt. */
  readonly id: NodeId;
  /** Queues `messages` for their peers and returns at once; undeliverable messages are dropped. */
  send(messages: readonly Message[]): void;
  /** Where incoming messages go, in the order each peer sent them. */
  onMessages(handler: MessageHandler): void;
  onFailure(handler: FailureHandler): void;
  close(): Promise<void>;
}
