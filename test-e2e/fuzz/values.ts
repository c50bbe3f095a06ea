// The fuzzer's random values, chosen by what a field means as much as by its type: topic names from a
// pool that includes real topics (so requests reach the partition code), small partitions and offsets
// with edge values among them, record batches that are valid, flipped or cut. All from one seeded Random.
import { encodeRecordBatch } from "@brook/protocol";
import { Random } from "@brook/testkit";

/** Longest string or byte field the fuzzer makes (a huge one is still far below the request limits). */
const stringBytesMax = 4096;
/** Longest repeated field the fuzzer makes. */
export const elementsMax = 40;

const int32Edges = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 16, 255, -2];
const int64Edges = [
  0,
  1,
  -1,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2 ** 40,
  2 ** 63,
  -(2 ** 63),
];

export class Values {
  readonly random: Random;

  /**
   * @param topics topic names worth hitting (existing ones, and some that are not); never the workload's,
   * so no request here can delete it or take it over.
   */
  constructor(
    seed: number,
    private readonly topics: readonly string[],
  ) {
    this.random = new Random(seed);
  }

  int32(): number {
    const r = this.random;
    if (r.chance(0.3)) return r.pick(int32Edges);
    return r.chance(0.7) ? r.int(-2, 20) : r.int(-(2 ** 31), 2 ** 31 - 1);
  }

  int64(): number {
    const r = this.random;
    if (r.chance(0.3)) return r.pick(int64Edges);
    return r.chance(0.7) ? r.int(-2, 1000) : Math.floor((r.next() - 0.5) * 2 ** 53);
  }

  /** A value for an integer field, by its name: ids, partitions and offsets mostly small and real. */
  integer(name: string, bits: 32 | 64): number {
    const r = this.random;
    const lower = name.toLowerCase();
    if (r.chance(0.6)) {
      if (lower === "acks") return r.pick([-1, 0, 1]);
      if (lower.includes("isolation")) return r.int(0, 1);
      if (lower === "replicaid") return r.pick([-1, -1, -1, 1, 9, 0]); // mostly a consumer's
      if (lower.includes("partition") && !lower.includes("epoch")) return r.int(-1, 3);
      if (
        lower.includes("broker") ||
        lower.includes("leader") ||
        lower.includes("node") ||
        lower.includes("replica")
      )
        return r.pick([1, 1, 9, -1, 0, 2]);
      if (lower.endsWith("ms") || lower.includes("timeout")) return r.int(0, 200);
      if (lower.includes("bytes")) return r.pick([0, 1, 1024, 1 << 20, 2 ** 31 - 1, -1]);
    }
    return bits === 32 ? this.int32() : this.int64();
  }

  string(name: string): string {
    const r = this.random;
    const lower = name.toLowerCase();
    if ((lower.includes("topic") || lower.includes("resource") || lower === "name") && r.chance(0.8)) {
      return r.pick(this.topics);
    }
    if (lower.includes("principal") && r.chance(0.8)) return r.pick(["User:fuzz", "User:fuzz-2", "fuzz", ""]);
    if (lower.includes("group") && r.chance(0.7)) return r.pick(["fuzz-group", "", "g"]);
    return this.text();
  }

  text(): string {
    const r = this.random;
    switch (r.int(0, 5)) {
      case 0:
        return "";
      case 1:
        return "x".repeat(r.int(256, stringBytesMax));
      case 2:
        return String.fromCharCode(...Array.from({ length: r.int(1, 12) }, () => r.int(0, 0xd7ff)));
      default:
        return `fuzz-${r.int(0, 50)}`;
    }
  }

  bytes(name: string): Buffer {
    if (name.toLowerCase().includes("record")) return this.recordBatch();
    return this.randomBytes(this.random.int(0, this.random.chance(0.1) ? stringBytesMax : 64));
  }

  randomBytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.random.int(0, 255)));
  }

  /** A RecordBatch v2: valid, valid with producer fields, or flipped, cut, or doubled. */
  recordBatch(): Buffer {
    const r = this.random;
    const records = Array.from({ length: r.int(1, 5) }, (_, i) => ({
      key: r.chance(0.5) ? `k${i}` : null,
      value: this.randomBytes(r.int(0, r.chance(0.05) ? stringBytesMax : 32)),
    }));
    const batch = encodeRecordBatch(records, {
      compression: r.pick(["none", "none", "gzip", "snappy", "lz4", "zstd"] as const),
      ...(r.chance(0.3)
        ? { producerId: r.int(-1, 5), producerEpoch: r.int(-1, 2), baseSequence: r.int(-1, 10) }
        : {}),
    });
    return this.mutate(batch);
  }

  /** The buffer as it is (often), or with bytes flipped, cut short, doubled, or emptied. */
  mutate(bytes: Buffer): Buffer {
    const r = this.random;
    switch (r.int(0, 7)) {
      case 0: {
        const copy = Buffer.from(bytes);
        for (let i = r.int(1, 4); i > 0 && copy.length > 0; i--)
          copy[r.int(0, copy.length - 1)] ^= 1 << r.int(0, 7);
        return copy;
      }
      case 1:
        return bytes.subarray(0, r.int(0, bytes.length));
      case 2:
        return Buffer.concat([bytes, bytes]);
      case 3:
        return Buffer.alloc(0);
      default:
        return bytes;
    }
  }
}
