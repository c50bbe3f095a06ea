// What one principal may have in progress across its connections: requests and produce bytes, counted
// from admission until the answer, refused past either bound (retriable), never counting the nodes.
import { anonymousCaller, BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { PrincipalsInFlight } from "../src/in-flight.js";

const alice = { principal: "User:alice", host: "10.0.0.1" };
const bob = { principal: "User:bob", host: "10.0.0.2" };

describe("PrincipalsInFlight", () => {
  it("counts requests per principal until released, and refuses one past the bound", () => {
    const inFlight = new PrincipalsInFlight({
      requestsPerPrincipal: 2,
      produceBytesPerPrincipal: 100,
      principalsMax: 10,
    });
    const first = inFlight.admit(alice, 0);
    inFlight.admit(alice, 0);
    const refused = (() => {
      try {
        inFlight.admit(alice, 0);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(BrookError);
    expect(refused).toMatchObject({ code: "RESOURCE_LIMIT_REACHED", retriable: true });
    expect(() => inFlight.admit(bob, 0)).not.toThrow(); // another principal has its own count
    first();
    first(); // a second release changes nothing
    expect(inFlight.of(alice.principal).requests).toBe(1);
    expect(() => inFlight.admit(alice, 0)).not.toThrow();
  });

  it("bounds the produce bytes held, but lets one request through when nothing else is held", () => {
    const inFlight = new PrincipalsInFlight({
      requestsPerPrincipal: 10,
      produceBytesPerPrincipal: 100,
      principalsMax: 10,
    });
    const big = inFlight.admit(alice, 500); // alone: allowed (its size is bounded by the message limit)
    expect(() => inFlight.admit(alice, 1)).toThrow(/hold 500 bytes/);
    big();
    inFlight.admit(alice, 60);
    expect(() => inFlight.admit(alice, 50)).toThrow(/RESOURCE_LIMIT_REACHED/);
    expect(() => inFlight.admit(alice, 40)).not.toThrow();
  });

  it("never counts the cluster's own nodes, and bounds the principals tracked", () => {
    const inFlight = new PrincipalsInFlight({
      requestsPerPrincipal: 1,
      produceBytesPerPrincipal: 1,
      principalsMax: 1,
    });
    const node = { ...anonymousCaller("127.0.0.1"), nodeId: 2 };
    for (let i = 0; i < 5; i++) inFlight.admit(node, 1_000);
    const release = inFlight.admit(alice, 0);
    expect(() => inFlight.admit(bob, 0)).toThrow(/principals have requests in progress/);
    release(); // alice's entry goes with her last request
    expect(() => inFlight.admit(bob, 0)).not.toThrow();
  });
});
