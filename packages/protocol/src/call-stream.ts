// The caller's side of the Broker's `Calls` stream: Produce and Fetch sent as
// messages on one long-lived bidirectional stream per broker, answered by id.
// On these machines a unary grpc-js call costs about 0.7 ms of round trip and
// a message on an open stream about 0.1 ms (docs/performance.md), and an
// acks=all produce waits for four such hops. Each request keeps its own
// deadline and cancellation; a failed request rejects alone, a broken
// stream rejects every request on it (with the transport's error, which the
// SDK counts as silence exactly like a failed unary call) and the next
// request opens a new one.

import * as grpc from "@grpc/grpc-js";
import { BrookError } from "./errors.js";
import type { BrokerClient } from "./generated/brook/v1/Broker.js";
import type { CallRequest } from "./generated/brook/v1/CallRequest.js";
import type { CallResponse__Output } from "./generated/brook/v1/CallResponse.js";
import type { FetchRequest } from "./generated/brook/v1/FetchRequest.js";
import type { FetchResponse__Output } from "./generated/brook/v1/FetchResponse.js";
import type { ProduceRequest } from "./generated/brook/v1/ProduceRequest.js";
import type { ProduceResponse__Output } from "./generated/brook/v1/ProduceResponse.js";
import { fromServiceError, fromWireError, grpcMessageBytesMax } from "./grpc.js";

/** What each call carries and what it answers, by its name in the CallRequest oneof. */
export interface StreamedCalls {
  produce: [ProduceRequest, ProduceResponse__Output];
  fetch: [FetchRequest, FetchResponse__Output];
}
export type StreamedCall = keyof StreamedCalls;

export interface StreamCallOptions {
  timeoutMs: number;
  /** Aborting rejects the call with CLIENT_CLOSED; the broker may still carry it out. */
  signal?: AbortSignal;
}

interface Pending {
  readonly method: StreamedCall;
  resolve(response: unknown): void;
  reject(error: BrookError): void;
}

/**
 * Requests in flight on one stream. The producer keeps a few per broker and
 * consumers one fetch per broker; a stream that somehow gathers this many
 * is a bug in the caller, and the next request fails at once.
 */
const streamCallsInFlightMax = 4096;

export class CallStream {
  private stream: grpc.ClientDuplexStream<CallRequest, CallResponse__Output> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /** `metadata` is sent once, when a stream opens (the client id the broker logs). */
  constructor(
    private readonly client: BrokerClient,
    private readonly metadata: grpc.Metadata = new grpc.Metadata(),
  ) {}

  /** Requests awaiting their answer. */
  get inFlight(): number {
    return this.pending.size;
  }

  call<M extends StreamedCall>(
    method: M,
    request: StreamedCalls[M][0],
    options: StreamCallOptions,
  ): Promise<StreamedCalls[M][1]> {
    if (this.closed) return Promise.reject(new BrookError("CLIENT_CLOSED", "the call stream is closed"));
    if (options.signal?.aborted)
      return Promise.reject(new BrookError("CLIENT_CLOSED", "the call was cancelled"));
    const tooLarge = oversized(method, request);
    if (tooLarge) return Promise.reject(tooLarge);
    if (this.pending.size >= streamCallsInFlightMax) {
      return Promise.reject(
        new BrookError(
          "INVALID_REQUEST",
          `more than ${streamCallsInFlightMax} requests in flight on one stream`,
        ),
      );
    }
    const id = this.takeId();
    const stream = this.open();
    return new Promise((resolve, reject) => {
      const { signal } = options;
      const timer = setTimeout(() => {
        // As a unary call's deadline would end: grpc's DEADLINE_EXCEEDED, which the SDK counts as silence.
        finish(fromServiceError(deadlineExceeded(method, options.timeoutMs)));
      }, options.timeoutMs);
      const onAbort = () => finish(new BrookError("CLIENT_CLOSED", "the call was cancelled"));
      const finish = (error: BrookError | undefined, response?: unknown) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(response as StreamedCalls[M][1]);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        method,
        resolve: (response) => finish(undefined, response),
        reject: (error) => finish(error),
      });
      stream.write({ id, [method]: request } as CallRequest);
    });
  }

  /** Ends the stream now: every request on it fails with CLIENT_CLOSED; the next call opens a new one. */
  reset(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.failAll(new BrookError("CLIENT_CLOSED", "the call stream was reset"));
  }

  close(): void {
    this.closed = true;
    this.reset();
  }

  private takeId(): number {
    // uint32 on the wire; an id is reused only after four billion requests, long after its answer.
    const id = this.nextId;
    this.nextId = id >= 0xffff_ffff ? 1 : id + 1;
    return id;
  }

  private open(): grpc.ClientDuplexStream<CallRequest, CallResponse__Output> {
    if (this.stream) return this.stream;
    const stream = this.client.Calls(this.metadata.clone());
    this.stream = stream;
    stream.on("data", (response: CallResponse__Output) => this.answer(response));
    stream.on("error", (error: grpc.ServiceError) => this.broken(stream, fromServiceError(brokenBy(error))));
    // Ended without an error status: the broker went away as far as these requests are concerned.
    stream.on("end", () =>
      this.broken(stream, fromServiceError(unavailable("the broker ended the call stream"))),
    );
    return stream;
  }

  private answer(response: CallResponse__Output): void {
    const pending = this.pending.get(response.id);
    if (!pending) return; // timed out or cancelled: its answer is no longer awaited
    const error = fromWireError(response.error);
    if (error) pending.reject(error);
    else if (response.result !== pending.method) {
      pending.reject(
        new BrookError(
          "UNKNOWN_SERVER_ERROR",
          `${pending.method}: the broker answered with ${response.result ?? "nothing"}`,
        ),
      );
    } else pending.resolve(response[pending.method]);
  }

  private broken(
    stream: grpc.ClientDuplexStream<CallRequest, CallResponse__Output>,
    error: BrookError,
  ): void {
    if (this.stream !== stream) return; // an old stream's last words
    this.stream = undefined;
    this.failAll(error);
  }

  private failAll(error: BrookError): void {
    for (const pending of [...this.pending.values()]) pending.reject(error);
  }
}

/**
 * A produce request whose record bytes alone exceed what one gRPC message may carry. Sent, it would end
 * the whole stream (RESOURCE_EXHAUSTED) and with it every other request on it; refused here, it fails
 * alone, as the unary call did.
 */
function oversized<M extends StreamedCall>(method: M, request: StreamedCalls[M][0]): BrookError | undefined {
  if (method !== "produce") return undefined;
  let bytes = 0;
  for (const topic of (request as ProduceRequest).topics ?? []) {
    for (const partition of topic.partitions ?? []) bytes += partition.records?.length ?? 0;
  }
  if (bytes <= grpcMessageBytesMax) return undefined;
  return new BrookError(
    "REQUEST_TOO_LARGE",
    `the request's record batches hold ${bytes} bytes; one request carries at most ${grpcMessageBytesMax}`,
  );
}

/**
 * A stream this side did not cancel (reset() detaches it first) that ends CANCELLED was cancelled by the
 * broker going away (a server shutting down resets its streams): to the caller that is an unreachable
 * broker, as the transport would report it, not its own CLIENT_CLOSED.
 */
function brokenBy(error: grpc.ServiceError): grpc.ServiceError {
  if (error.code !== grpc.status.CANCELLED) return error;
  return unavailable(`the broker closed the call stream (${error.details})`);
}

/** The transport's own "unreachable", which the SDK counts as silence rather than an answer. */
function unavailable(details: string): grpc.ServiceError {
  return Object.assign(new Error(details), {
    code: grpc.status.UNAVAILABLE,
    details,
    metadata: new grpc.Metadata(),
  });
}

function deadlineExceeded(method: string, timeoutMs: number): grpc.ServiceError {
  return Object.assign(new Error(`${method}: no answer within ${timeoutMs} ms`), {
    code: grpc.status.DEADLINE_EXCEEDED,
    details: `${method}: no answer within ${timeoutMs} ms`,
    metadata: new grpc.Metadata(),
  });
}
