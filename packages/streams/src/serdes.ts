// Serdes turn keys and values into the bytes on a topic and back, as Kafka's do. A null on the wire is a
// null in the stream (a tombstone for tables) and never reaches a serde, so a Serde handles values only.

import { SerializationError } from "./errors.js";

/** Bytes for a value and back. Implement it for your own types; `topic` is where the bytes go or came from. */
export interface Serde<T> {
  serialize(value: T, topic: string): Buffer;
  deserialize(bytes: Buffer, topic: string): T;
}

/** A null passes through as null; anything else goes through the serde. */
export function serializeNullable<T>(serde: Serde<T>, value: T | null, topic: string): Buffer | null {
  return value === null || value === undefined ? null : serde.serialize(value, topic);
}

export function deserializeNullable<T>(serde: Serde<T>, bytes: Buffer | null, topic: string): T | null {
  return bytes === null ? null : serde.deserialize(bytes, topic);
}

function fixedWidth(bytes: Buffer, width: number, serdeName: string): void {
  if (bytes.length !== width) {
    throw new SerializationError(`${serdeName} expects ${width} bytes, got ${bytes.length}`);
  }
}

const stringSerde: Serde<string> = {
  serialize: (value) => Buffer.from(value, "utf8"),
  deserialize: (bytes) => bytes.toString("utf8"),
};

const bytesSerde: Serde<Buffer> = {
  serialize: (value) => value,
  deserialize: (bytes) => bytes,
};

/** Kafka's IntegerSerde: 4 bytes, big-endian, signed. */
const int32Serde: Serde<number> = {
  serialize: (value) => {
    if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
      throw new SerializationError(`Int32 cannot hold ${value}`);
    }
    const bytes = Buffer.alloc(4);
    bytes.writeInt32BE(value);
    return bytes;
  },
  deserialize: (bytes) => {
    fixedWidth(bytes, 4, "Int32");
    return bytes.readInt32BE();
  },
};

/** Kafka's LongSerde: 8 bytes, big-endian, signed; as a number, so only safe integers pass either way. */
const int64Serde: Serde<number> = {
  serialize: (value) => {
    if (!Number.isSafeInteger(value))
      throw new SerializationError(`Int64 (as a number) cannot hold ${value}`);
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64BE(BigInt(value));
    return bytes;
  },
  deserialize: (bytes) => {
    fixedWidth(bytes, 8, "Int64");
    const value = bytes.readBigInt64BE();
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new SerializationError(`Int64 ${value} is outside the safe integer range of a number`);
    }
    return Number(value);
  },
};

/** Kafka's DoubleSerde: an IEEE 754 double, 8 bytes, big-endian. */
const doubleSerde: Serde<number> = {
  serialize: (value) => {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(value);
    return bytes;
  },
  deserialize: (bytes) => {
    fixedWidth(bytes, 8, "Double");
    return bytes.readDoubleBE();
  },
};

function jsonSerde<T>(): Serde<T> {
  return {
    serialize: (value) => Buffer.from(JSON.stringify(value), "utf8"),
    deserialize: (bytes, topic) => {
      try {
        return JSON.parse(bytes.toString("utf8")) as T;
      } catch (error) {
        throw new SerializationError(`not JSON on ${topic}: ${(error as Error).message}`);
      }
    },
  };
}

/** The built-in serdes. Int32, Int64 and Double write the same bytes as Kafka's Integer, Long and Double. */
export const Serdes = {
  String: (): Serde<string> => stringSerde,
  /** UTF-8 JSON text; the type parameter is trusted, not checked. */
  Json: <T>(): Serde<T> => jsonSerde<T>(),
  Bytes: (): Serde<Buffer> => bytesSerde,
  Int32: (): Serde<number> => int32Serde,
  Int64: (): Serde<number> => int64Serde,
  Double: (): Serde<number> => doubleSerde,
} as const;
