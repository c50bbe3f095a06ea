// The tables the internal topics fold into: Kafka Connect's keys, tombstones, restart requests, and records
// of the wrong shape ignored rather than taken; offsets keys are canonical whatever the key order.
import { describe, expect, it } from "vitest";
import { ConfigTable, connectorsMax, offsetKey, StatusTable } from "../src/runtime/connect-state.js";

describe("ConfigTable", () => {
  it("folds connector configs, target states, restarts and tombstones", () => {
    const table = new ConfigTable();
    table.apply("connector-a", { properties: { "connector.class": "file-source" } });
    table.apply("target-state-a", { state: "PAUSED" });
    table.apply("restart-connector-a", { id: "r1", includeTasks: true, onlyFailed: false });
    table.apply("restart-task-a-2", { id: "t1" });
    const entry = table.connectors.get("a");
    expect(entry?.targetState).toBe("PAUSED");
    expect(entry?.restart?.id).toBe("r1");
    expect(entry?.taskRestarts.get(2)).toBe("t1");
    table.apply("connector-a", { properties: { "connector.class": "file-sink" } });
    expect(table.connectors.get("a")?.targetState).toBe("PAUSED");
    table.apply("connector-a", null);
    expect(table.connectors.has("a")).toBe(false);
  });

  it("ignores records of the wrong shape and states it does not know", () => {
    const table = new ConfigTable();
    table.apply("connector-a", { properties: { "tasks.max": 3 } });
    table.apply("connector-b", "text");
    table.apply("connector-c", undefined);
    expect(table.connectors.size).toBe(0);
    table.apply("connector-d", { properties: {} });
    table.apply("target-state-d", { state: "DANCING" });
    table.apply("restart-task-d-x", { id: "t" });
    table.apply("something-else", { any: 1 });
    table.apply("connector-task-x", { properties: {} });
    table.apply("restart-connector-task-x", { id: "r", includeTasks: false, onlyFailed: false });
    expect(table.connectors.get("task-x")?.restart?.id).toBe("r");
    expect(table.connectors.get("d")?.targetState).toBe("STARTED");
    expect(table.connectors.get("d")?.taskRestarts.size).toBe(0);
  });

  it("keeps at most connectorsMax connectors", () => {
    const table = new ConfigTable();
    for (let i = 0; i <= connectorsMax; i += 1) table.apply(`connector-c${i}`, { properties: {} });
    expect(table.connectors.size).toBe(connectorsMax);
  });
});

describe("StatusTable", () => {
  it("keeps the latest status and forgets a deleted connector's", () => {
    const table = new StatusTable();
    table.apply("status-task-a-0", { state: "RUNNING", worker_id: "w1", generation: 1 });
    table.apply("status-task-ab-0", { state: "RUNNING", worker_id: "w1", generation: 1 });
    table.apply("status-task-a-b-0", { state: "RUNNING", worker_id: "w1", generation: 1 });
    table.apply("status-connector-a", { state: "RUNNING", worker_id: "w1", generation: 1 });
    table.forget("a");
    expect([...table.statuses.keys()]).toEqual(["status-task-ab-0", "status-task-a-b-0"]);
  });
});

describe("offsetKey", () => {
  it("is Kafka's [connector, partition] JSON with keys sorted", () => {
    expect(offsetKey("c", { b: 1, a: "x" })).toBe('["c",{"a":"x","b":1}]');
    expect(offsetKey("c", { a: "x", b: 1 })).toBe(offsetKey("c", { b: 1, a: "x" }));
  });
});
