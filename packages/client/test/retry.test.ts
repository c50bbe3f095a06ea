import { BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { backoffMs, type RetryPolicy, withRetry } from "../src/retry/retry-policy.js";

const policy: RetryPolicy = {
  retries: 3,
  initialRetryTimeMs: 10,
  maxRetryTimeMs: 50,
  multiplier: 2,
  jitterFactor: 0.2,
};
const middle = () => 0.5;

describe("backoff", () => {
  it("doubles from initialRetryTimeMs and stops at maxRetryTimeMs (no jitter at random = 0.5)", () => {
    expect([0, 1, 2, 3, 4].map((attempt) => backoffMs(policy, attempt, middle))).toEqual([
      10, 20, 40, 50, 50,
    ]);
  });

  it("moves by at most jitterFactor either way, never past the maximum", () => {
    expect(backoffMs(policy, 1, () => 0)).toBe(16);
    expect(backoffMs(policy, 1, () => 0.999999)).toBe(24);
    expect(backoffMs(policy, 3, () => 0.999999)).toBe(50);
  });
});

describe("withRetry", () => {
  it("retries retriable errors only, up to `retries` times", async () => {
    let calls = 0;
    const retriable = withRetry({ ...policy, initialRetryTimeMs: 1 }, { random: middle }, async () => {
      calls++;
      throw new BrookError("NOT_LEADER");
    });
    await expect(retriable).rejects.toMatchObject({ code: "NOT_LEADER" });
    expect(calls).toBe(4);

    calls = 0;
    const fatal = withRetry(policy, { random: middle }, async () => {
      calls++;
      throw new BrookError("UNKNOWN_TOPIC");
    });
    await expect(fatal).rejects.toMatchObject({ code: "UNKNOWN_TOPIC" });
    expect(calls).toBe(1);
  });

  it("returns the first success and tells onRetry about each failure", async () => {
    const seen: number[] = [];
    let calls = 0;
    const value = await withRetry(
      { ...policy, initialRetryTimeMs: 1 },
      { random: middle, onRetry: (_error, attempt) => seen.push(attempt) },
      async () => {
        if (++calls < 3) throw new BrookError("BROKER_NOT_AVAILABLE");
        return "ok";
      },
    );
    expect(value).toBe("ok");
    expect(seen).toEqual([0, 1]);
  });
});
