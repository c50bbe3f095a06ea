// Kafka's ConsumerProtocol: the bytes a classic consumer group's members put in JoinGroup (their
// Subscription, one per assignor) and the leader puts in SyncGroup (each member's Assignment), for
// protocol type "consumer". The broker stores them opaquely; it decodes them only to show a group's
// subscriptions and partitions (`brook group describe`), and encodes them to describe Brook's own groups
// to Kafka tools. Classic (non-flexible) encoding, big-endian:
//   Subscription v0: version int16, topics [string], userData bytes
//                v1: + ownedPartitions [topic string, partitions [int32]]
//                v2: + generationId int32
//                v3: + rackId nullable string
//   Assignment v0-v3: version int16, assignedPartitions [topic string, partitions [int32]], userData bytes
// string = int16 length + UTF-8 (-1: null); [x] = int32 count + items; bytes = int32 length (-1: null).
// A version above the newest known one is read as the newest, ignoring what follows (Kafka's rule, so a
// newer client's bytes still decode). Lengths are checked against the bytes present before anything is
// allocated.

import { BrookError } from "./errors.js";

export const CONSUMER_PROTOCOL_TYPE = "consumer";
/** The newest Subscription / Assignment version this codec knows. */
export const CONSUMER_PROTOCOL_VERSION_MAX = 3;

export interface ConsumerTopicPartitions {
  topic: string;
  partitions: number[];
}

export interface ConsumerProtocolSubscription {
  version: number;
  topics: string[];
  /** null when the member sent none (-1). */
  userData: Buffer | null;
  /** v1+: what the member holds now (cooperative rebalancing). */
  ownedPartitions: ConsumerTopicPartitions[];
  /** v2+: the generation the member last joined; -1 when unknown. */
  generationId: number;
  /** v3+: the member's rack, null when it has none. */
  rackId: string | null;
}

export interface ConsumerProtocolAssignment {
  version: number;
  assignedPartitions: ConsumerTopicPartitions[];
  userData: Buffer | null;
}

export function decodeConsumerSubscription(bytes: Buffer): ConsumerProtocolSubscription {
  const reader = new Reader(bytes, "Subscription");
  const version = reader.version();
  const subscription: ConsumerProtocolSubscription = {
    version,
    topics: reader.array(2, () => reader.string()),
    userData: reader.bytes(),
    ownedPartitions: [],
    generationId: -1,
    rackId: null,
  };
  if (version >= 1) subscription.ownedPartitions = reader.topicPartitions();
  if (version >= 2) subscription.generationId = reader.int32();
  if (version >= 3) subscription.rackId = reader.nullableString();
  return subscription;
}

export function decodeConsumerAssignment(bytes: Buffer): ConsumerProtocolAssignment {
  const reader = new Reader(bytes, "Assignment");
  return {
    version: reader.version(),
    assignedPartitions: reader.topicPartitions(),
    userData: reader.bytes(),
  };
}

export function encodeConsumerSubscription(
  subscription: Partial<ConsumerProtocolSubscription> & { topics: readonly string[] },
): Buffer {
  const version = checkVersion(subscription.version ?? 0);
  const writer = new Writer().int16(version);
  writer.array(subscription.topics, (topic) => writer.string(topic)).bytes(subscription.userData ?? null);
  if (version >= 1) writer.topicPartitions(subscription.ownedPartitions ?? []);
  if (version >= 2) writer.int32(subscription.generationId ?? -1);
  if (version >= 3) writer.nullableString(subscription.rackId ?? null);
  return writer.done();
}

export function encodeConsumerAssignment(
  assignment: Partial<ConsumerProtocolAssignment> & {
    assignedPartitions: readonly ConsumerTopicPartitions[];
  },
): Buffer {
  const writer = new Writer().int16(checkVersion(assignment.version ?? 0));
  return writer
    .topicPartitions(assignment.assignedPartitions)
    .bytes(assignment.userData ?? null)
    .done();
}

function checkVersion(version: number): number {
  if (!Number.isInteger(version) || version < 0 || version > CONSUMER_PROTOCOL_VERSION_MAX) {
    throw new BrookError(
      "INVALID_REQUEST",
      `ConsumerProtocol version must be 0-${CONSUMER_PROTOCOL_VERSION_MAX}, got ${version}`,
    );
  }
  return version;
}

/** Reads with every length checked against what is left; a short or malformed buffer is INVALID_REQUEST. */
class Reader {
  private offset = 0;

  constructor(
    private readonly buffer: Buffer,
    private readonly what: string,
  ) {}

  /** The version, capped at the newest known: a newer version's extra fields are ignored. */
  version(): number {
    const version = this.int16();
    if (version < 0) this.fail(`version ${version}`);
    return Math.min(version, CONSUMER_PROTOCOL_VERSION_MAX);
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  string(): string {
    const value = this.nullableString();
    if (value === null) this.fail("a null string where a topic name belongs");
    return value;
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    return this.take(length).toString("utf8");
  }

  bytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    return Buffer.from(this.take(length));
  }

  /** An array whose items take at least `itemBytesMin` each: a count the bytes cannot hold is refused. */
  array<T>(itemBytesMin: number, item: () => T): T[] {
    const count = this.int32();
    if (count < 0) return [];
    if (count * itemBytesMin > this.buffer.length - this.offset) {
      this.fail(`an array of ${count} items in ${this.buffer.length - this.offset} bytes`);
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(item());
    return items;
  }

  topicPartitions(): ConsumerTopicPartitions[] {
    return this.array(6, () => ({ topic: this.string(), partitions: this.array(4, () => this.int32()) }));
  }

  private take(length: number): Buffer {
    this.need(length);
    const slice = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  private need(length: number): void {
    if (this.offset + length > this.buffer.length) {
      this.fail(`${length} bytes at offset ${this.offset} of ${this.buffer.length}`);
    }
  }

  private fail(what: string): never {
    throw new BrookError("INVALID_REQUEST", `malformed ConsumerProtocol ${this.what}: ${what}`);
  }
}

class Writer {
  private readonly chunks: Buffer[] = [];

  int16(value: number): this {
    const chunk = Buffer.alloc(2);
    chunk.writeInt16BE(value);
    return this.push(chunk);
  }

  int32(value: number): this {
    const chunk = Buffer.alloc(4);
    chunk.writeInt32BE(value);
    return this.push(chunk);
  }

  string(value: string): this {
    return this.nullableString(value);
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    const utf8 = Buffer.from(value, "utf8");
    if (utf8.length > 0x7fff) throw new BrookError("INVALID_REQUEST", "a string longer than 32767 bytes");
    return this.int16(utf8.length).push(utf8);
  }

  bytes(value: Buffer | null): this {
    if (value === null) return this.int32(-1);
    return this.int32(value.length).push(value);
  }

  array<T>(items: readonly T[], item: (value: T) => unknown): this {
    this.int32(items.length);
    for (const value of items) item(value);
    return this;
  }

  topicPartitions(list: readonly ConsumerTopicPartitions[]): this {
    return this.array(list, ({ topic, partitions }) =>
      this.string(topic).array(partitions, (partition) => this.int32(partition)),
    );
  }

  done(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private push(chunk: Buffer): this {
    this.chunks.push(chunk);
    return this;
  }
}
