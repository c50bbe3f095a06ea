// Rule: a key lands on the same partition as with any Kafka client (murmur2 over the key's UTF-8 bytes,
// DESIGN §5), and keyless records stick to one partition until their batch is done (KIP-480).
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDefaultPartitioner, murmur2, partitionForKey, StickyPartitioner } from "../src/index.js";

const require = createRequire(import.meta.url);
/** kafkajs's Java-compatible port of murmur2 (with 64-bit Long arithmetic): an independent implementation. */
const kafkajsMurmur2: (key: Buffer) => number = require("kafkajs/src/producer/partitioners/default/murmur2");

const utf8 = (key: string) => Buffer.from(key, "utf8");

describe("murmur2", () => {
  it("matches Kafka's UtilsTest.testMurmur2 vectors", () => {
    expect(murmur2(utf8("21"))).toBe(-973932308);
    expect(murmur2(utf8("foobar"))).toBe(-790332482);
    expect(murmur2(utf8("a-little-bit-long-string"))).toBe(-985981536);
    expect(murmur2(utf8("a-little-bit-longer-string"))).toBe(-1486304829);
    expect(murmur2(utf8("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"))).toBe(-58897971);
    expect(murmur2(Buffer.from([0x61, 0x62, 0x63]))).toBe(479470107);
  });

  // kafkajs's defaultJava/murmur2.spec.js, generated with Kafka's Java client.
  const javaVectors: [string, number][] = [
    ["0", 971027396],
    ["1", -1993445489],
    ["128", -326012175],
    ["2187", -1508407203],
    ["16384", -325739742],
    ["78125", -1654490814],
    ["279936", 1462227128],
    ["823543", -2014198330],
    ["2097152", 607668903],
    ["4782969", -1182699775],
    ["10000000", -1830336757],
    ["19487171", -1603849305],
    ["35831808", -857013643],
    ["62748517", -1167431028],
    ["105413504", -381294639],
    ["170859375", -1658323481],
    ["100:48069", 1009543857],
  ];

  it.each(javaVectors)("matches the Java client for key %s", (key, hash) => {
    expect(murmur2(utf8(key))).toBe(hash);
  });

  it("agrees with kafkajs's Java-compatible port on arbitrary bytes and Unicode keys", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.string({ unit: "binary" }).map(utf8)),
        (key) => {
          expect(murmur2(Buffer.from(key))).toBe(kafkajsMurmur2(Buffer.from(key)));
        },
      ),
    );
  });
});

describe("partitionForKey", () => {
  it("matches Kafka's Java partitioner over 1000 partitions (kafka-python's Java compatibility test)", () => {
    const expected: [string | Buffer, number][] = [
      ["", 681],
      ["a", 524],
      ["ab", 434],
      ["abc", 107],
      ["123456789", 566],
      [Buffer.from([0x00, 0x20]), 742],
    ];
    for (const [key, partition] of expected) expect(partitionForKey(key, 1000)).toBe(partition);
  });

  // Computed on a JVM with Kafka's Utils.murmur2 over String.getBytes(UTF_8), then toPositive(h) % n; the
  // same program reproduces the UtilsTest vectors above.
  it.each([
    ["héllo", 614509002, 6],
    ["日本語キー", 1445825182, 10],
    ["ключ", 2122343024, 8],
    ["😀", 131881617, 9],
    ["user-😀-42", 1513400034, 6],
    ["ñandú", -1915788724, 4],
    ["Zürich", -1551140815, 1],
  ] as const)(
    "hashes %s as its UTF-8 bytes, as Kafka's StringSerializer sends it",
    (key, hash, partition) => {
      expect(murmur2(utf8(key))).toBe(hash);
      expect(partitionForKey(key, 12)).toBe(partition);
      expect(partitionForKey(utf8(key), 12)).toBe(partition);
    },
  );

  it("clears the sign bit rather than taking Math.abs, as Kafka's toPositive does", () => {
    // murmur2("21") is negative: -973932308 & 0x7fffffff = 1173551340, unlike Math.abs (973932308).
    expect(partitionForKey("21", 1000)).toBe(340);
    expect(Math.abs(murmur2(utf8("21"))) % 1000).not.toBe(340);
  });
});

/** A random source that replays the given draws, so each choice in a test is visible. */
function draws(...values: number[]): () => number {
  let index = 0;
  return () => {
    if (index >= values.length) throw new Error("the test did not expect another random draw");
    return values[index++];
  };
}

describe("StickyPartitioner", () => {
  it("keeps a topic on one partition until told its batch is done", () => {
    const sticky = new StickyPartitioner(draws(0.5));
    const chosen = Array.from({ length: 100 }, () => sticky.partition("events", 6));
    expect(new Set(chosen)).toEqual(new Set([3]));
  });

  it("moves to a different partition, chosen at random, after onNewBatch", () => {
    // 6 partitions, leaving 3: the draw is over the other five [0, 1, 2, 4, 5].
    const sticky = new StickyPartitioner(draws(0.5, 0.5, 0.99, 0));
    expect(sticky.partition("events", 6)).toBe(3);
    sticky.onNewBatch("events", 3);
    expect(sticky.partition("events", 6)).toBe(2);
    sticky.onNewBatch("events", 2);
    expect(sticky.partition("events", 6)).toBe(5);
    sticky.onNewBatch("events", 5);
    expect(sticky.partition("events", 6)).toBe(0);
  });

  it("ignores onNewBatch for a partition it no longer sticks to (a late batch completion)", () => {
    const sticky = new StickyPartitioner(draws(0.5));
    expect(sticky.partition("events", 6)).toBe(3);
    sticky.onNewBatch("events", 1);
    expect(sticky.partition("events", 6)).toBe(3);
  });

  it("keeps topics independent", () => {
    const sticky = new StickyPartitioner(draws(0.1, 0.9, 0.1));
    expect(sticky.partition("a", 10)).toBe(1);
    expect(sticky.partition("b", 10)).toBe(9);
    sticky.onNewBatch("a", 1);
    expect(sticky.partition("b", 10)).toBe(9);
    expect(sticky.partition("a", 10)).toBe(0);
  });

  it("stays on partition 0 of a one-partition topic", () => {
    const sticky = new StickyPartitioner(() => 0.7);
    expect(sticky.partition("solo", 1)).toBe(0);
    sticky.onNewBatch("solo", 0);
    expect(sticky.partition("solo", 1)).toBe(0);
  });

  it("re-picks when the partition count no longer covers the sticky choice", () => {
    const sticky = new StickyPartitioner(draws(0.99, 0.5));
    expect(sticky.partition("events", 10)).toBe(9);
    expect(sticky.partition("events", 4)).toBe(2);
  });

  it("stays in range even if the random source returns 1", () => {
    const sticky = new StickyPartitioner(() => 1);
    expect(sticky.partition("events", 4)).toBe(3);
    sticky.onNewBatch("events", 3);
    expect(sticky.partition("events", 4)).toBe(2);
  });

  it("never repeats the partition it leaves, and reaches every partition", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 16 }), fc.integer(), (numPartitions, seed) => {
        const sticky = new StickyPartitioner(mulberry32(seed));
        let previous = sticky.partition("t", numPartitions);
        const visited = new Set([previous]);
        for (let batch = 0; batch < 400; batch++) {
          sticky.onNewBatch("t", previous);
          const next = sticky.partition("t", numPartitions);
          expect(next).not.toBe(previous);
          visited.add(next);
          previous = next;
        }
        expect(visited.size).toBe(numPartitions);
      }),
      { numRuns: 30 },
    );
  });
});

/** A small seeded PRNG (mulberry32), uniform in [0, 1), so the run is reproducible from fast-check's seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

describe("createDefaultPartitioner", () => {
  it("hashes keyed records (an empty key is still a key) and sticks keyless ones", () => {
    const partition = createDefaultPartitioner(new StickyPartitioner(draws(0.25)));
    expect(partition({ topic: "t", key: "abc", numPartitions: 1000 })).toBe(107);
    expect(partition({ topic: "t", key: "", numPartitions: 1000 })).toBe(681);
    expect(partition({ topic: "t", key: null, numPartitions: 8 })).toBe(2);
    expect(partition({ topic: "t", key: undefined, numPartitions: 8 })).toBe(2);
  });
});
