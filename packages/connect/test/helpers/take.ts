// Pulls records from a source task's poll() iterator in tests: exactly `count`, failing if it ends first.
import type { SourceRecord } from "../../src/api.js";

export async function take(records: AsyncIterator<SourceRecord>, count: number): Promise<SourceRecord[]> {
  const taken: SourceRecord[] = [];
  while (taken.length < count) {
    const next = await records.next();
    if (next.done) throw new Error(`the source ended after ${taken.length} records`);
    taken.push(next.value);
  }
  return taken;
}
