// Cuts a TCP byte stream into request frames (int32 size, then that many bytes). Pure: feed it the
// chunks a socket delivers, get back every complete frame. A size that is negative or above
// requestBytesMax is refused as soon as its four bytes arrive, before any of the frame is buffered, so
// a connection holds at most one frame of requestBytesMax plus the chunk being split.

import { FRAME_SIZE_BYTES } from "./messages.js";

/** Kafka's socket.request.max.bytes default. */
export const REQUEST_BYTES_MAX_DEFAULT = 100 * 1024 * 1024;

/** A frame the stream cannot carry; the connection must be closed, as the stream has lost its framing. */
export class KafkaFrameError extends Error {
  readonly sizeBytes: number;

  constructor(sizeBytes: number, requestBytesMax: number) {
    super(
      sizeBytes < 0
        ? `a frame declares a negative size (${sizeBytes})`
        : `a frame of ${sizeBytes} bytes exceeds the ${requestBytesMax}-byte limit (socket.request.max.bytes)`,
    );
    this.name = "KafkaFrameError";
    this.sizeBytes = sizeBytes;
  }
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
    if (this.failed !== null) throw this.failed;
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.frameBytes === null) {
        if (this.pendingBytes < FRAME_SIZE_BYTES) return frames;
        this.frameBytes = this.readSize();
      }
      if (this.pendingBytes < this.frameBytes) return frames;
      frames.push(this.take(this.frameBytes));
      this.frameBytes = null;
    }
  }

  private readSize(): number {
    const size = this.take(FRAME_SIZE_BYTES).readInt32BE(0);
    if (size < 0 || size > this.requestBytesMax) {
      this.failed = new KafkaFrameError(size, this.requestBytesMax);
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
