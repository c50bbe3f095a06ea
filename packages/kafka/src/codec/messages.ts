// Whole messages: a request or response frame is a size prefix, a header and a body. Decoding checks
// every byte and throws only KafkaDecodeError; encoding returns the frame as chunks for socket.writev,
// record data included by reference.

import type {
  ApiKeyNumber,
  RequestBodies,
  RequestInputs,
  ResponseBodies,
  ResponseInputs,
} from "../generated/messages.js";
import { bodyCodec, type Direction, isSupported } from "./apis.js";
import { inMessage, KafkaDecodeError, KafkaEncodeError } from "./errors.js";
import {
  decodeResponseHeader,
  type RequestHeader,
  writeRequestHeader,
  writeResponseHeader,
} from "./headers.js";
import { Reader } from "./reader.js";
import { Writer } from "./writer.js";

/** The int32 size prefix of every frame. */
export const FRAME_SIZE_BYTES = 4;
const FRAME_BYTES_MAX = 0x7fff_ffff;

export interface DecodedRequest<K extends ApiKeyNumber = ApiKeyNumber> {
  apiKey: K;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  body: RequestBodies[K];
}

/** A decoded request; `switch (request.apiKey)` narrows `body` to that api's type. */
export type KafkaRequest = { [K in ApiKeyNumber]: DecodedRequest<K> }[ApiKeyNumber];

function decodeBody(apiKey: number, apiVersion: number, direction: Direction, body: Buffer): unknown {
  if (!isSupported(apiKey, apiVersion)) {
    throw new KafkaDecodeError(`api ${apiKey} v${apiVersion} is not supported`, 0).inMessage(
      direction,
      apiKey,
      apiVersion,
    );
  }
  const reader = new Reader(body);
  try {
    const value = bodyCodec(apiKey, apiVersion, direction).read(reader);
    if (reader.remaining !== 0) throw reader.fail(`${reader.remaining} bytes follow the end of the body`);
    return value;
  } catch (error) {
    throw inMessage(error, direction, apiKey, apiVersion);
  }
}

/**
 * Decodes the body of a request whose header decodeRequestHeader read: `body` is the frame from
 * `header.headerBytes` on. Byte fields (records above all) are views of `body`, not copies.
 */
export function decodeRequest(header: RequestHeader, body: Buffer): KafkaRequest {
  const { apiKey, apiVersion, correlationId, clientId } = header;
  const decoded = decodeBody(apiKey, apiVersion, "request", body);
  return { apiKey, apiVersion, correlationId, clientId, body: decoded } as KafkaRequest;
}

function encodeBody(writer: Writer, apiKey: number, apiVersion: number, direction: Direction, body: unknown) {
  if (!isSupported(apiKey, apiVersion)) {
    throw new KafkaEncodeError(`api ${apiKey} v${apiVersion} is not supported`).inMessage(
      direction,
      apiKey,
      apiVersion,
    );
  }
  try {
    bodyCodec(apiKey, apiVersion, direction).write(writer, body as Record<string, unknown>);
  } catch (error) {
    throw inMessage(error, direction, apiKey, apiVersion);
  }
}

/** Closes a frame begun with a 4-byte placeholder: writes its size and returns its chunks. */
function finishFrame(writer: Writer): Buffer[] {
  const size = writer.byteLength - FRAME_SIZE_BYTES;
  if (size > FRAME_BYTES_MAX)
    throw new KafkaEncodeError(`a frame of ${size} bytes exceeds the int32 size prefix`);
  const chunks = writer.finish();
  chunks[0].writeInt32BE(size, 0);
  return chunks;
}

/**
 * Encodes a response frame (size prefix, header, body) as chunks to write in order, e.g. with
 * socket.cork() and one write per chunk, or writev. Large record buffers are chunks of their own.
 */
export function encodeResponse<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ResponseInputs[K],
): Buffer[] {
  const writer = new Writer();
  writer.int32(0);
  writeResponseHeader(writer, apiKey, apiVersion, correlationId);
  encodeBody(writer, apiKey, apiVersion, "response", body);
  return finishFrame(writer);
}

/** Encodes a request frame, as a client sends it. */
export function encodeRequest<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  body: RequestInputs[K],
): Buffer[] {
  const writer = new Writer();
  writer.int32(0);
  writeRequestHeader(writer, { apiKey, apiVersion, correlationId, clientId });
  encodeBody(writer, apiKey, apiVersion, "request", body);
  return finishFrame(writer);
}

/** Decodes a response frame (the bytes after the size prefix), as a client reads it. */
export function decodeResponse<K extends ApiKeyNumber>(
  apiKey: K,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: ResponseBodies[K] } {
  const { correlationId, headerBytes } = decodeResponseHeader(frame, apiKey, apiVersion);
  const body = decodeBody(apiKey, apiVersion, "response", frame.subarray(headerBytes));
  return { correlationId, body: body as ResponseBodies[K] };
}
