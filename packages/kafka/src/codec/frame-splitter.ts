// Cuts a TCP byte stream into request frames (int32 size, then that many bytes). Pure: feed it the
// chunks a socket delivers, get back every complete frame. A size that is negative or above the limit
// is refused as soon as its four bytes arrive, before any of the frame is buffered, so a connection
// holds at most one frame of the limit plus the chunks not yet split.
//
// Frames can also be taken one at a time (append, then next), each against the limit in force when its
// size is read: before a client authenticates, the listener holds it to the SASL limit, and a frame
// pipelined behind the last SaslAuthenticate must be measured against the limit of an authenticated
// client, which is only known once that SaslAuthenticate has been handled.

import { FRAME_SIZE_BYTES } from "./messages.js";

/** Kafka's socket.request.max.bytes default. */
export const REQUEST_BYTES_MAX_DEFAULT = 100 * 1024 * 1024;

/** A frame the stream cannot carry; the connection must be closed, as the stream has lost its framing. */
export class KafkaFrameError extends Error {
  readonly sizeBytes: number;

  /** @param limitName the Kafka setting the limit stands for, to name it in the message. */
  constructor(sizeBytes: number, requestBytesMax: number, limitName = "socket.request.max.bytes") {
    super(
      sizeBytes < 0
        ? `a frame declares a negative size (${sizeBytes})`
        : `a frame of ${sizeBytes} bytes exceeds the ${requestBytesMax}-byte limit (${limitName})`,
    );
    this.name = "KafkaFrameError";
    this.sizeBytes = sizeBytes;
  }
}

/** The largest frame accepted, and the Kafka setting it stands for (named in the error). */
export interface FrameLimit {
  readonly bytesMax: number;
  readonly name?: string;
}

export class FrameSplitter {
  private readonly requestBytesMax: number;
  /** Bytes received and not yet part of a returned frame, oldest first. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The size of the frame being gathered, once its prefix is complete. */
  private frameBytes: number | null = null;
  private failed: KafkaFrameError | null = null;

  constructor(requestBytesMax = REQUEST_BYTES_MAX_DEFAULT) {
    this.requestBytesMax = requestBytesMax;
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Adds a chunk and returns the frames it completes (without their size prefix). A frame inside one
   * chunk is a view of it; one spread over several chunks is copied once. Throws KafkaFrameError on a
   * bad size, and again on every later call.
   */
  push(chunk: Buffer): Buffer[] {
    this.append(chunk);
    const frames: Buffer[] = [];
    for (let frame = this.next(); frame !== undefined; frame = this.next()) frames.push(frame);
    return frames;
  }

  /** Adds a chunk without splitting it yet: next() takes the frames out. */
  append(chunk: Buffer): void {
    if (this.failed !== null) throw this.failed;
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /**
   * The next complete frame, or undefined until more bytes arrive. Its size is checked against `limit`
   * (default: the constructor's) when its prefix is read; throws KafkaFrameError as push does.
   */
  next(limit: FrameLimit = { bytesMax: this.requestBytesMax }): Buffer | undefined {
    if (this.failed !== null) throw this.failed;
    if (this.frameBytes === null) {
      if (this.pendingBytes < FRAME_SIZE_BYTES) return undefined;
      this.frameBytes = this.readSize(limit);
    }
    if (this.pendingBytes < this.frameBytes) return undefined;
    const frame = this.take(this.frameBytes);
    this.frameBytes = null;
    return frame;
  }

  private readSize(limit: FrameLimit): number {
    const size = this.take(FRAME_SIZE_BYTES).readInt32BE(0);
    if (size < 0 || size > limit.bytesMax) {
      this.failed = new KafkaFrameError(size, limit.bytesMax, limit.name);
      this.pending = [];
      this.pendingBytes = 0;
      throw this.failed;
    }
    return size;
  }

  /** Removes the first `bytes` pending bytes, without copying when one chunk holds them all. */
  private take(bytes: number): Buffer {
    this.pendingBytes -= bytes;
    const first = this.pending[0];
    if (first !== undefined && first.length >= bytes) {
      if (first.length === bytes) this.pending.shift();
      else this.pending[0] = first.subarray(bytes);
      return first.subarray(0, bytes);
    }
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.pending[0];
      const used = Math.min(chunk.length, bytes - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.pending.shift();
      else this.pending[0] = chunk.subarray(used);
    }
    return out;
  }
}
