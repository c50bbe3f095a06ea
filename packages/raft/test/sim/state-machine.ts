// The simulated application: a hash chain over every applied entry. Two nodes
// that applied the same entries in the same order hold the same hash; a
// snapshot is the (index, hash) pair, so restoring one continues the chain.

import type { Entry } from "../../src/index.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function entryKey(entry: Entry): string {
  return `${entry.type}:${decoder.decode(entry.data)}`;
}

function mix(hash: number, value: string | number): number {
  let h = hash;
  const text = String(value);
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class HashChainMachine {
  index = 0;
  hash = 0x811c9dc5;

  apply(entry: Entry): void {
    this.index = entry.index;
    this.hash = mix(mix(mix(this.hash, entry.index), entry.term), entryKey(entry));
  }

  encode(): Uint8Array {
    return encoder.encode(JSON.stringify({ index: this.index, hash: this.hash }));
  }

  static decode(data: Uint8Array): HashChainMachine {
    const machine = new HashChainMachine();
    if (data.length === 0) return machine;
    const { index, hash } = JSON.parse(decoder.decode(data)) as { index: number; hash: number };
    machine.index = index;
    machine.hash = hash;
    return machine;
  }
}
