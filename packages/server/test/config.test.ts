// The controller quorum's voters in the node's configuration: Kafka's
// controller.quorum.voters format, a one-voter default, and this node's own place in it.
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
