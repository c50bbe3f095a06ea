// The bytes of a conf-change entry: versioned JSON, like Brook's metadata
// records, so a log dump stays readable. Applications decode committed
// conf-change entries with decodeConfChange to see the membership move.

import { assert } from "./assert.js";
import type { ConfChange, Membership } from "./types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(change: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ v: 1, type: change.type, nodeId: change.nodeId }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const record = JSON.parse(decoder.decode(data)) as { v: number; type: ConfChange["type"]; nodeId: number };
  assert(record.v === 1, `unknown conf-change version ${record.v}`);
  return { type: record.type, nodeId: record.nodeId };
}

/** The membership after `change`; single-step: at most one voter joins or leaves. */
export function applyConfChange(membership: Membership, change: ConfChange): Membership {
  const voters = membership.voters.filter((id) => id !== change.nodeId);
  const learners = membership.learners.filter((id) => id !== change.nodeId);
  if (change.type === "add-voter") voters.push(change.nodeId);
  if (change.type === "add-learner") learners.push(change.nodeId);
  return { voters: voters.sort((a, b) => a - b), learners: learners.sort((a, b) => a - b) };
}
