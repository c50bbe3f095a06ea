// Serdes for the stores of stream-stream joins (Brook's own layouts). A join store keeps every record of a
// key and timestamp (Kafka's retainDuplicates), so its values are lists; the shared outer join store is keyed
// by timestamp first, so that its key-byte order is time order and the oldest records are emitted first.

import { SerializationError } from "../errors.js";
import type { Serde } from "../serdes.js";

const LENGTH_BYTES = 4;
const TIMESTAMP_BYTES = 8;
/** Flips the sign bit so that negative timestamps sort before positive ones as unsigned bytes. */
const SIGN_BIT = 0x80;

export type JoinSide = "left" | "right";

/** One value of either side, as the shared outer join store holds them. */
export type SideValue<V1, V2> = { side: "left"; value: V1 } | { side: "right"; value: V2 };

/** The shared outer join store's key: when a record came, on which side, with which key. */
export interface TimestampedSideKey<K> {
  timestamp: number;
  side: JoinSide;
  key: K;
}

function sideByte(side: JoinSide): number {
  switch (side) {
    case "left":
      return 0;
    case "right":
      return 1;
  }
}

function sideOf(byte: number | undefined): JoinSide {
  if (byte === 0) return "left";
  if (byte === 1) return "right";
  throw new SerializationError(`a join side byte is 0 or 1, got ${byte}`);
}

/** Length-prefixed pieces: [u32 length][bytes] each. */
function concatPieces(pieces: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const piece of pieces) {
    const length = Buffer.alloc(LENGTH_BYTES);
    length.writeUInt32BE(piece.length);
    parts.push(length, piece);
  }
  return Buffer.concat(parts);
}

function splitPieces(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + LENGTH_BYTES > bytes.length)
      throw new SerializationError("a list entry's length is cut off");
    const length = bytes.readUInt32BE(offset);
    offset += LENGTH_BYTES;
    if (offset + length > bytes.length) throw new SerializationError("a list entry is cut off");
    pieces.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return pieces;
}

/** A list of values, each as [u32 length][inner bytes]. */
export function listSerde<T>(inner: Serde<T>): Serde<T[]> {
  return {
    serialize: (values, topic) => concatPieces(values.map((value) => inner.serialize(value, topic))),
    deserialize: (bytes, topic) => splitPieces(bytes).map((piece) => inner.deserialize(piece, topic)),
  };
}

/** [timestamp, int64 with the sign bit flipped][side byte][key bytes]. */
export function timestampedSideKeySerde<K>(inner: Serde<K>): Serde<TimestampedSideKey<K>> {
  return {
    serialize: ({ timestamp, side, key }, topic) => {
      const head = Buffer.alloc(TIMESTAMP_BYTES + 1);
      head.writeBigInt64BE(BigInt(timestamp));
      head[0] = (head[0] as number) ^ SIGN_BIT;
      head[TIMESTAMP_BYTES] = sideByte(side);
      return Buffer.concat([head, inner.serialize(key, topic)]);
    },
    deserialize: (bytes, topic) => {
      if (bytes.length < TIMESTAMP_BYTES + 1) throw new SerializationError("a join store key is too short");
      const head = Buffer.from(bytes.subarray(0, TIMESTAMP_BYTES));
      head[0] = (head[0] as number) ^ SIGN_BIT;
      return {
        timestamp: Number(head.readBigInt64BE()),
        side: sideOf(bytes[TIMESTAMP_BYTES]),
        key: inner.deserialize(bytes.subarray(TIMESTAMP_BYTES + 1), topic),
      };
    },
  };
}

/** A list of values of either side, each as [side byte][inner bytes], length-prefixed. */
export function sideValuesSerde<V1, V2>(left: Serde<V1>, right: Serde<V2>): Serde<SideValue<V1, V2>[]> {
  const serializeOne = (entry: SideValue<V1, V2>, topic: string): Buffer => {
    switch (entry.side) {
      case "left":
        return Buffer.concat([Buffer.of(sideByte("left")), left.serialize(entry.value, topic)]);
      case "right":
        return Buffer.concat([Buffer.of(sideByte("right")), right.serialize(entry.value, topic)]);
    }
  };
  const deserializeOne = (piece: Buffer, topic: string): SideValue<V1, V2> => {
    const side = sideOf(piece[0]);
    const bytes = piece.subarray(1);
    switch (side) {
      case "left":
        return { side, value: left.deserialize(bytes, topic) };
      case "right":
        return { side, value: right.deserialize(bytes, topic) };
    }
  };
  return {
    serialize: (values, topic) => concatPieces(values.map((entry) => serializeOne(entry, topic))),
    deserialize: (bytes, topic) => splitPieces(bytes).map((piece) => deserializeOne(piece, topic)),
  };
}
