// A call whose stream the transport cut before any status (grpc-js: INTERNAL "Received RST_STREAM with code
// 0") is a transport failure, retriable like a dropped connection, not a server's UNKNOWN_SERVER_ERROR
// (which failed produces and stopped a consumer for good in the chaos soak). Other INTERNAL errors stay
// what they were.
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { fromServiceError, isTransportFailure } from "../src/index.js";

const serviceError = (code: grpc.status, details: string): grpc.ServiceError =>
  Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });

describe("a call cut off without a status", () => {
  it("is BROKER_NOT_AVAILABLE, retriable, and a transport failure", () => {
    const error = fromServiceError(
      serviceError(grpc.status.INTERNAL, "Received RST_STREAM with code 0 (Call ended without gRPC status)"),
    );
    expect(error.code).toBe("BROKER_NOT_AVAILABLE");
    expect(error.retriable).toBe(true);
    expect(isTransportFailure(error)).toBe(true);
  });

  it("another INTERNAL error without a code trailer stays UNKNOWN_SERVER_ERROR", () => {
    const error = fromServiceError(serviceError(grpc.status.INTERNAL, "Failed to parse server response"));
    expect(error.code).toBe("UNKNOWN_SERVER_ERROR");
    expect(isTransportFailure(error)).toBe(false);
  });
});
