// The node's configuration: the controller quorum's voters (Kafka's controller.quorum.voters
// format, a one-voter default, this node's own place in it) and broker membership settings.
import { BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config.js";

const threeVoters = "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293";

function invalid(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BrookError);
    expect((error as BrookError).code).toBe("INVALID_CONFIG");
    return (error as Error).message;
  }
  throw new Error("expected INVALID_CONFIG");
}

describe("controller quorum voters", () => {
  it("default to this node alone at its advertised host and controller port (a one-voter quorum)", () => {
    const config = resolveConfig({}, { BROOK_NODE_ID: "4", BROOK_CONTROLLER_PORT: "9500" });
    expect([...config.controllerQuorumVoters]).toEqual([[4, "127.0.0.1:9500"]]);
  });

  it("read Kafka's id@host:port list from the environment and the flag, the flag winning", () => {
    const env = {
      BROOK_NODE_ID: "2",
      BROOK_CONTROLLER_PORT: "9193",
      BROOK_CONTROLLER_QUORUM_VOTERS: threeVoters,
    };
    expect([...resolveConfig({}, env).controllerQuorumVoters]).toEqual([
      [1, "127.0.0.1:9093"],
      [2, "127.0.0.1:9193"],
      [3, "127.0.0.1:9293"],
    ]);
    const flag = resolveConfig({ controllerQuorumVoters: "2@h:9193" }, env);
    expect([...flag.controllerQuorumVoters]).toEqual([[2, "h:9193"]]);
  });

  it("refuse a malformed list or a repeated id, naming the source", () => {
    for (const bad of ["1@127.0.0.1", "x@h:1", "1@h:1,1@h:2", "1@h:70000", ""]) {
      const message = invalid(() => resolveConfig({}, { BROOK_CONTROLLER_QUORUM_VOTERS: bad }));
      expect(message).toContain("BROOK_CONTROLLER_QUORUM_VOTERS=");
    }
  });

  it("must include this node", () => {
    const message = invalid(() =>
      resolveConfig({}, { BROOK_NODE_ID: "4", BROOK_CONTROLLER_QUORUM_VOTERS: threeVoters }),
    );
    expect(message).toContain("do not include this node (id 4)");
  });

  it("must give this node its own controller port", () => {
    const message = invalid(() =>
      resolveConfig({}, { BROOK_NODE_ID: "2", BROOK_CONTROLLER_QUORUM_VOTERS: threeVoters }),
    );
    expect(message).toContain("give node 2 port 9193, but its controller port is 9093");
  });
});

describe("broker membership settings", () => {
  it("default to 250 ms heartbeats and a 1.5 s session, with no rack", () => {
    const config = resolveConfig({}, {});
    expect(config.brokerHeartbeatIntervalMs).toBe(250);
    expect(config.brokerSessionTimeoutMs).toBe(1_500);
    expect(config.rack).toBeUndefined();
  });

  it("read the rack and timings from the environment", () => {
    const config = resolveConfig(
      {},
      {
        BROOK_RACK: "zone-a",
        BROOK_BROKER_HEARTBEAT_INTERVAL_MS: "500",
        BROOK_BROKER_SESSION_TIMEOUT_MS: "3000",
      },
    );
    expect(config).toMatchObject({
      rack: "zone-a",
      brokerHeartbeatIntervalMs: 500,
      brokerSessionTimeoutMs: 3_000,
    });
  });

  it("refuse a session no longer than the heartbeat interval, a zero interval and a bad rack", () => {
    expect(
      invalid(() =>
        resolveConfig(
          {},
          { BROOK_BROKER_HEARTBEAT_INTERVAL_MS: "1000", BROOK_BROKER_SESSION_TIMEOUT_MS: "1000" },
        ),
      ),
    ).toContain("must exceed the heartbeat interval");
    expect(invalid(() => resolveConfig({}, { BROOK_BROKER_HEARTBEAT_INTERVAL_MS: "0" }))).toContain(
      "BROOK_BROKER_HEARTBEAT_INTERVAL_MS=",
    );
    expect(invalid(() => resolveConfig({}, { BROOK_RACK: "a b" }))).toContain("BROOK_RACK=");
  });
});
