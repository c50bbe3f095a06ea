// Rule: a failed assertion is never an answer. Every catch-all that turns a request's failure into an
// answer (asBrookError, toWireError, toServiceError, unary, serveCalls) sends nothing and hands the
// assertion to the process's fatal handler (uncaughtException), which stops the node.
import { strict as nodeAssert } from "node:assert";
import { EventEmitter } from "node:events";
import { fatalErrorsOf } from "@brook/testkit";
import type * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { CallRequest__Output } from "../src/generated/brook/v1/CallRequest.js";
import type { CallResponse } from "../src/generated/brook/v1/CallResponse.js";
import {
  AssertionError,
  asBrookError,
  assert,
  BrookError,
  isAssertionError,
  serveCalls,
  toServiceError,
  unary,
  unreachable,
} from "../src/index.js";

function failing(): never {
  assert(false, "the high watermark never passes the log end");
}

describe("assertions", () => {
  it("are recognised: ours, unreachable()'s, node:assert's, and any error named AssertionError", () => {
    expect(() => failing()).toThrow(AssertionError);
    expect(() => unreachable("x" as never)).toThrow(AssertionError);
    const errors: unknown[] = [];
    for (const thrower of [failing, () => nodeAssert.ok(false)]) {
      try {
        thrower();
      } catch (error) {
        errors.push(error);
      }
    }
    const named = Object.assign(new Error("raft assertion failed: x"), { name: "AssertionError" });
    expect([...errors, named].map(isAssertionError)).toEqual([true, true, true]);
    expect([new Error("x"), new BrookError("INVALID_REQUEST"), "x"].map(isAssertionError)).toEqual([
      false,
      false,
      false,
    ]);
  });

  it("are never turned into UNKNOWN_SERVER_ERROR; other untyped errors still are", async () => {
    expect(asBrookError(new Error("boom")).code).toBe("UNKNOWN_SERVER_ERROR");
    const reached = await fatalErrorsOf(() => toServiceError(new AssertionError("x")));
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.every(isAssertionError)).toBe(true);
  });

  it("in a unary handler: nothing is answered, and the assertion reaches the fatal handler", async () => {
    const answers: unknown[] = [];
    const handler = unary(async () => failing());
    const call = { request: {} } as grpc.ServerUnaryCall<object, object>;
    const reached = await fatalErrorsOf(() => handler(call, (error, value) => answers.push(error ?? value)));
    expect(answers).toEqual([]);
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.every(isAssertionError)).toBe(true);
  });

  it("in a request of the Calls stream: nothing is written, and the assertion reaches the fatal handler", async () => {
    const written: CallResponse[] = [];
    const call = Object.assign(new EventEmitter(), {
      write: (response: CallResponse) => written.push(response) > 0,
      end: () => undefined,
      pause: () => undefined,
      resume: () => undefined,
    });
    const stream = call as unknown as grpc.ServerDuplexStream<CallRequest__Output, CallResponse>;
    serveCalls(stream, { produce: async () => failing(), fetch: async () => failing() });
    const request = { id: 1, call: "produce", produce: { topics: [] } } as unknown as CallRequest__Output;
    const reached = await fatalErrorsOf(() => call.emit("data", request));
    expect(written).toEqual([]);
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.every(isAssertionError)).toBe(true);
  });
});
