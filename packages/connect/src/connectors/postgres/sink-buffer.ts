// What the Postgres sink holds between put and flush: per table, the last op of each row key (so a batch
// writes each row once, with its latest value, and replaying it changes nothing).

import type { SinkOp } from "./sink-rows.js";

export class SinkBuffer {
  private readonly tables = new Map<string, Map<string, SinkOp>>();
  private count = 0;

  /** Distinct rows held: what batch.size bounds. */
  get size(): number {
    return this.count;
  }

  /** Keeps op, replacing an earlier op of the same row. */
  add(op: SinkOp): void {
    let ops = this.tables.get(op.table);
    if (ops === undefined) {
      ops = new Map();
      this.tables.set(op.table, ops);
    }
    if (ops.has(op.key)) ops.delete(op.key);
    else this.count++;
    ops.set(op.key, op);
  }

  /** The ops of each table, in the order they last arrived. */
  byTable(): [table: string, ops: SinkOp[]][] {
    return [...this.tables].map(([table, ops]) => [table, [...ops.values()]]);
  }

  clear(): void {
    this.tables.clear();
    this.count = 0;
  }
}
