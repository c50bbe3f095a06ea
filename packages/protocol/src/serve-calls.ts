// The broker's side of the `Calls` stream (proto/broker.proto): Produce and
// Fetch requests arriving as messages on one long-lived stream, each served
// exactly as its unary twin and answered under its id as soon as it is done,
// in any order. A request that fails answers with its error; the stream
// stays open. What one stream may have in progress is bounded (CallLimits).

import type * as grpc from "@grpc/grpc-js";
import { BrookError } from "./errors.js";
import type { CallRequest__Output } from "./generated/brook/v1/CallRequest.js";
import type { CallResponse } from "./generated/brook/v1/CallResponse.js";
import type { FetchRequest__Output } from "./generated/brook/v1/FetchRequest.js";
import type { FetchResponse } from "./generated/brook/v1/FetchResponse.js";
import type { ProduceRequest__Output } from "./generated/brook/v1/ProduceRequest.js";
import type { ProduceResponse } from "./generated/brook/v1/ProduceResponse.js";
import { asBrookError, toWireError } from "./grpc.js";

export interface StreamedHandlers {
  produce(request: ProduceRequest__Output): Promise<ProduceResponse>;
  fetch(request: FetchRequest__Output): Promise<FetchResponse>;
}

/**
 * How much one stream may have in progress. Past either bound the stream is not read until a request
 * finishes, and HTTP/2 flow control holds the sender back; a response the client does not read holds
 * the stream the same way. The SDK keeps a few requests per broker in flight, a replica fetcher one.
 */
export interface CallLimits {
  /** Requests served at once. */
  servedMax: number;
  /** Bytes the requests being served hold (a produce's record batches) or may answer with (a fetch's max_bytes). */
  bytesMax: number;
}

const defaultCallLimits: CallLimits = { servedMax: 64, bytesMax: 64 * 1024 * 1024 };

type Result = { result: "produce"; produce: ProduceResponse } | { result: "fetch"; fetch: FetchResponse };

/** Told when each request is answered: the unary method it stands for, its duration, whether it failed. */
export type CallObserver = (method: string, seconds: number, failed: boolean) => void;

export function serveCalls(
  call: grpc.ServerDuplexStream<CallRequest__Output, CallResponse>,
  handlers: StreamedHandlers,
  observe: CallObserver = () => undefined,
  limits: CallLimits = defaultCallLimits,
): void {
  const intake = new Intake(limits);
  let inputEnded = false;
  let closed = false;
  const close = () => {
    closed = true;
  };
  let paused = false;
  const readOrWait = () => {
    if (paused === !intake.open) return;
    paused = !intake.open;
    if (paused) call.pause();
    else call.resume();
  };
  call.on("cancelled", close);
  call.on("error", close);
  call.on("close", close);
  call.on("end", () => {
    inputEnded = true;
    if (intake.idle && !closed) call.end();
  });
  call.on("data", (request: CallRequest__Output) => {
    const bytes = bytesOf(request, limits.bytesMax);
    intake.admit(bytes);
    readOrWait();
    const started = process.hrtime.bigint();
    serve(request, handlers)
      .then(
        (result): CallResponse => ({ id: request.id, ...result }),
        (error: unknown): CallResponse => ({ id: request.id, error: toWireError(asBrookError(error)) }),
      )
      .then((response) => {
        observe(methodName(request), Number(process.hrtime.bigint() - started) / 1e9, response.error != null);
        intake.finish(bytes);
        if (closed) return;
        if (!call.write(response)) {
          intake.writeBlocked = true;
          call.once("drain", () => {
            intake.writeBlocked = false;
            readOrWait();
          });
        }
        readOrWait();
        if (inputEnded && intake.idle) call.end();
      });
  });
}

/** What one stream has in progress, and whether it may read another request (the pure half of serveCalls). */
class Intake {
  private serving = 0;
  private bytes = 0;
  /** The last response did not fit the stream's write buffer: read nothing more until it drains. */
  writeBlocked = false;

  constructor(private readonly limits: CallLimits) {}

  admit(bytes: number): void {
    this.serving += 1;
    this.bytes += bytes;
  }

  finish(bytes: number): void {
    this.serving -= 1;
    this.bytes -= bytes;
  }

  get open(): boolean {
    return this.serving < this.limits.servedMax && this.bytes < this.limits.bytesMax && !this.writeBlocked;
  }

  get idle(): boolean {
    return this.serving === 0;
  }
}

/** What a request counts against the stream's bytes: its record batches, or what it asks to be sent. */
function bytesOf(request: CallRequest__Output, cap: number): number {
  switch (request.call) {
    case "produce": {
      let bytes = 0;
      for (const topic of request.produce?.topics ?? []) {
        for (const partition of topic.partitions) bytes += partition.records?.length ?? 0;
      }
      return bytes;
    }
    case "fetch":
      return Math.min(Math.max(request.fetch?.maxBytes ?? 0, 0), cap);
    case undefined:
      return 0;
    default:
      return unknownCall(request.call);
  }
}

async function serve(request: CallRequest__Output, handlers: StreamedHandlers): Promise<Result> {
  switch (request.call) {
    case "produce":
      return { result: "produce", produce: await handlers.produce(required(request.produce, "produce")) };
    case "fetch":
      return { result: "fetch", fetch: await handlers.fetch(required(request.fetch, "fetch")) };
    case undefined:
      throw new BrookError("INVALID_REQUEST", "the call names no request (produce or fetch)");
    default:
      return unknownCall(request.call);
  }
}

/** The metric label: the unary method the request stands for. */
function methodName(request: CallRequest__Output): string {
  switch (request.call) {
    case "produce":
      return "Produce";
    case "fetch":
      return "Fetch";
    case undefined:
      return "Calls";
    default:
      return unknownCall(request.call);
  }
}

function required<T>(body: T | null | undefined, name: string): T {
  if (body == null) throw new BrookError("INVALID_REQUEST", `the ${name} call carries no request`);
  return body;
}

function unknownCall(call: never): never {
  throw new BrookError("INVALID_REQUEST", `unknown call ${String(call)}`);
}
