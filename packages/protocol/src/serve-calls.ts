// The broker's side of the `Calls` stream (proto/broker.proto): Produce and
// Fetch requests arriving as messages on one long-lived stream, each served
// exactly as its unary twin and answered under its id as soon as it is done,
// in any order. A request that fails answers with its error; the stream
// stays open. At most callsServedMax requests are served at once per
// stream: past that the stream is not read until one finishes, and HTTP/2
// flow control holds the sender back.

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

/** Requests served at once on one stream (a producer's in-flight requests, a consumer's long polls). */
export const callsServedMax = 256;

type Result = { result: "produce"; produce: ProduceResponse } | { result: "fetch"; fetch: FetchResponse };

/** Told when each request is answered: the unary method it stands for, its duration, whether it failed. */
export type CallObserver = (method: string, seconds: number, failed: boolean) => void;

export function serveCalls(
  call: grpc.ServerDuplexStream<CallRequest__Output, CallResponse>,
  handlers: StreamedHandlers,
  observe: CallObserver = () => undefined,
): void {
  let serving = 0;
  let inputEnded = false;
  let closed = false;
  const close = () => {
    closed = true;
  };
  call.on("cancelled", close);
  call.on("error", close);
  call.on("close", close);
  call.on("end", () => {
    inputEnded = true;
    if (serving === 0 && !closed) call.end();
  });
  call.on("data", (request: CallRequest__Output) => {
    serving += 1;
    if (serving >= callsServedMax) call.pause();
    const started = process.hrtime.bigint();
    serve(request, handlers)
      .then(
        (result): CallResponse => ({ id: request.id, ...result }),
        (error: unknown): CallResponse => ({ id: request.id, error: toWireError(asBrookError(error)) }),
      )
      .then((response) => {
        observe(methodName(request), Number(process.hrtime.bigint() - started) / 1e9, response.error != null);
        serving -= 1;
        if (closed) return;
        call.write(response);
        if (serving === callsServedMax - 1) call.resume();
        if (inputEnded && serving === 0) call.end();
      });
  });
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
