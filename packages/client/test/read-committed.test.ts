// What a consumer hands to the application from a log with transactions (docs/transactions.md): never a
// control batch (a marker), whatever the isolation level; with read_committed never a record of an
// aborted transaction nor one at or past the last stable offset; and its position moves past markers and
// dropped records. The log is laid out by hand with real transactional and control batches.
import { decodeRecordBatches, encodeControlBatch, encodeRecordBatch } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { readableBatches } from "../src/consumer/isolation.js";
import type { Brook, ConsumedMessage, Consumer, IsolationLevel } from "../src/index.js";
import type { FakeCluster } from "./fake-cluster.js";
import { brookFor, eventually, startFake } from "./helpers.js";

let cluster: FakeCluster;
let brook: Brook;
let consumer: Consumer | undefined;

afterEach(async () => {
  await consumer?.close();
  consumer = undefined;
  await cluster?.stop();
});

function plain(...values: string[]): Buffer {
  return encodeRecordBatch(
    values.map((value) => ({ value })),
    { nowMs: 1 },
  );
}

function transactional(producerId: number, ...values: string[]): Buffer {
  return encodeRecordBatch(
    values.map((value) => ({ value })),
    { producerId, producerEpoch: 0, baseSequence: 0, transactional: true, nowMs: 1 },
  );
}

function marker(producerId: number, committed: boolean): Buffer {
  return encodeControlBatch({ producerId, producerEpoch: 0, committed, coordinatorEpoch: 0, nowMs: 1 });
}

/**
 * offsets: 0-1 plain; 2-3 producer 1 (aborted at 5); 4 producer 2 (committed at 6); 5 abort marker of 1;
 * 6 commit marker of 2; 7 plain.
 */
function layOutLog(): void {
  cluster.appendRaw("log", 0, plain("p0", "p1"));
  cluster.appendRaw("log", 0, transactional(1, "aborted2", "aborted3"));
  cluster.appendRaw("log", 0, transactional(2, "committed4"));
  cluster.appendRaw("log", 0, marker(1, false));
  cluster.appendRaw("log", 0, marker(2, true));
  cluster.appendRaw("log", 0, plain("p7"));
}

async function setup(): Promise<void> {
  cluster = await startFake();
  cluster.createTopic("log", 1);
  brook = brookFor(cluster);
}

async function reader(isolationLevel?: IsolationLevel): Promise<Consumer> {
  consumer = brook.consumer({ maxWaitMs: 20, isolationLevel });
  await consumer.assign([{ topic: "log", partition: 0, offset: 0 }]);
  return consumer;
}

/** Reads until `count` messages came, then stops. */
async function take(source: Consumer, count: number): Promise<ConsumedMessage[]> {
  const messages: ConsumedMessage[] = [];
  if (count === 0) return messages;
  for await (const message of source) {
    messages.push(message);
    if (messages.length === count) break;
  }
  return messages;
}

const valuesOf = (messages: ConsumedMessage[]) => messages.map((message) => message.value!.toString());

describe("readableBatches (Kafka's aborted-transaction filter)", () => {
  function decoded(): ReturnType<typeof decodeRecordBatches> {
    const batches = [
      plain("p0", "p1"),
      transactional(1, "a2", "a3"),
      transactional(2, "c4"),
      marker(1, false),
      marker(2, true),
      plain("p7"),
    ];
    let offset = 0;
    const patched = batches.map((batch) => {
      const copy = Buffer.from(batch);
      copy.writeUInt32BE(0, 0);
      copy.writeUInt32BE(offset, 4);
      offset += copy.readInt32BE(23) + 1;
      return copy;
    });
    return decodeRecordBatches(Buffer.concat(patched));
  }
  const values = (result: ReturnType<typeof readableBatches>) =>
    result.batches.flatMap(({ records }) => records.map(({ value }) => value!.toString()));

  it("read_committed drops an aborted producer's transactional batches up to its abort marker", () => {
    const result = readableBatches(decoded(), "read_committed", [{ producerId: 1, firstOffset: 2 }], 8);
    expect(values(result)).toEqual(["p0", "p1", "c4", "p7"]);
    expect(result.nextOffset).toBe(8);
  });

  it("read_uncommitted keeps aborted records but drops the markers", () => {
    const result = readableBatches(decoded(), "read_uncommitted", [], 0);
    expect(values(result)).toEqual(["p0", "p1", "a2", "a3", "c4", "p7"]);
    expect(result.nextOffset).toBe(8);
  });

  it("read_committed stops at the last stable offset", () => {
    const result = readableBatches(decoded(), "read_committed", [{ producerId: 1, firstOffset: 2 }], 4);
    expect(values(result)).toEqual(["p0", "p1"]);
    expect(result.nextOffset).toBe(4);
  });
});

describe("consumer isolation levels", () => {
  it("read_committed delivers committed and plain records only", async () => {
    await setup();
    layOutLog();
    const source = await reader("read_committed");
    expect(valuesOf(await take(source, 4))).toEqual(["p0", "p1", "committed4", "p7"]);
    expect(cluster.callsOf("Fetch")[0].request).toMatchObject({ isolationLevel: 1 });
  });

  it("read_uncommitted (the default) delivers aborted records too, but never a marker", async () => {
    await setup();
    layOutLog();
    const source = await reader();
    const messages = await take(source, 6);
    expect(valuesOf(messages)).toEqual(["p0", "p1", "aborted2", "aborted3", "committed4", "p7"]);
    expect(messages.map(({ offset }) => offset)).toEqual([0, 1, 2, 3, 4, 7]);
    expect(cluster.callsOf("Fetch")[0].request).toMatchObject({ isolationLevel: 0 });
  });

  it("moves the position past markers and aborted records the application never sees", async () => {
    await setup();
    cluster.appendRaw("log", 0, plain("p0"));
    cluster.appendRaw("log", 0, transactional(1, "a1", "a2"));
    cluster.appendRaw("log", 0, marker(1, false));
    const source = await reader("read_committed");
    expect(valuesOf(await take(source, 1))).toEqual(["p0"]);
    const run = source.run({ eachMessage: async () => {} });
    await eventually(() => source.position({ topic: "log", partition: 0 }) === 4);
    await source.stop();
    await run;
  });

  it("read_committed waits at the last stable offset until the open transaction ends", async () => {
    await setup();
    cluster.appendRaw("log", 0, plain("p0"));
    cluster.appendRaw("log", 0, transactional(3, "open1"));
    cluster.appendRaw("log", 0, plain("p2"));
    const source = await reader("read_committed");
    const seen: string[] = [];
    const run = source.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
      },
    });
    await eventually(() => seen.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(seen).toEqual(["p0"]);
    expect(source.position({ topic: "log", partition: 0 })).toBe(1);

    cluster.appendRaw("log", 0, marker(3, true));
    await eventually(() => seen.length === 3);
    expect(seen).toEqual(["p0", "open1", "p2"]);
    await eventually(() => source.position({ topic: "log", partition: 0 }) === 4);
    await source.stop();
    await run;
  });

  it.each([
    ["read_committed", { messages: 2, highWatermark: 5, lastStableOffset: 2, offsetLag: 0, offsetLagLow: 2 }],
    [
      "read_uncommitted",
      { messages: 5, highWatermark: 5, lastStableOffset: 2, offsetLag: 0, offsetLagLow: 5 },
    ],
  ] as const)(
    "a batch's lag counts to the last stable offset under read_committed (%s)",
    async (level, want) => {
      await setup();
      cluster.appendRaw("log", 0, plain("p0", "p1"));
      cluster.appendRaw("log", 0, transactional(3, "open2", "open3"));
      cluster.appendRaw("log", 0, plain("p4"));
      const source = await reader(level);
      let seen: Record<string, number> | undefined;
      const run = source.run({
        eachBatch: async ({ batch }) => {
          seen ??= {
            messages: batch.messages.length,
            highWatermark: batch.highWatermark,
            lastStableOffset: batch.lastStableOffset,
            offsetLag: batch.offsetLag(),
            offsetLagLow: batch.offsetLagLow(),
          };
        },
      });
      await eventually(() => seen !== undefined);
      await source.stop();
      await run;
      // The high watermark stays the high watermark; read_committed's lag ends where it may read.
      expect(seen).toEqual(want);
    },
  );

  it("refuses an unknown isolation level", async () => {
    await setup();
    expect(() => brook.consumer({ isolationLevel: "read_all" as IsolationLevel })).toThrow(/INVALID_CONFIG/);
  });
});
