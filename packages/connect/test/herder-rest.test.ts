// The REST API over a standalone worker's storage (no cluster): Kafka Connect's paths and shapes, the
// validation errors that name the key, 404s and 409s with {error_code, message}, pause/resume/restart
// records, and statuses that read UNASSIGNED once the worker that wrote them is gone.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { pluginRegistry } from "../src/connectors/index.js";
import { restApi } from "../src/rest/rest-api.js";
import { Herder } from "../src/runtime/herder.js";
import { ConnectMetrics } from "../src/runtime/metrics.js";
import { LocalStorage } from "../src/runtime/storage.js";

let storage: LocalStorage;
let live: string[];
let app: ReturnType<typeof restApi>;

beforeEach(async () => {
  storage = new LocalStorage(join(mkdtempSync(join(tmpdir(), "herder-")), "offsets.json"));
  await storage.start();
  live = ["w1:8083"];
  app = restApi(new Herder(storage, pluginRegistry(), () => live), new ConnectMetrics(), {
    worker: "w1:8083",
  });
});

async function call(method: string, path: string, body?: unknown) {
  const response = await app.request(path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

const fileSource = { "connector.class": "file-source", file: "/tmp/x.txt", topic: "lines" };

describe("REST API", () => {
  it("creates, lists, shows and deletes a connector", async () => {
    const created = await call("POST", "/connectors", { name: "in", config: fileSource });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      name: "in",
      config: { ...fileSource, name: "in" },
      tasks: [{ connector: "in", task: 0 }],
      type: "source",
    });
    expect((await call("GET", "/connectors")).body).toEqual(["in"]);
    expect((await call("GET", "/connectors/in/config")).body).toEqual({ ...fileSource, name: "in" });
    expect((await call("GET", "/connectors/in/tasks")).body[0].id).toEqual({ connector: "in", task: 0 });
    expect((await call("POST", "/connectors", { name: "in", config: fileSource })).status).toBe(409);
    expect((await call("DELETE", "/connectors/in")).status).toBe(204);
    expect((await call("GET", "/connectors/in")).body).toEqual({
      error_code: 404,
      message: "Connector in not found",
    });
  });

  it("PUT /config creates (201) then updates (200)", async () => {
    expect((await call("PUT", "/connectors/in/config", fileSource)).status).toBe(201);
    expect((await call("PUT", "/connectors/in/config", { ...fileSource, topic: "other" })).status).toBe(200);
    expect(storage.configs.connectors.get("in")?.config.topic).toBe("other");
  });

  it("refuses an invalid config with 400 naming every bad key", async () => {
    const { status, body } = await call("POST", "/connectors", {
      name: "bad",
      config: { "connector.class": "file-source", "tasks.max": "zero" },
    });
    expect(status).toBe(400);
    expect(body.error_code).toBe(400);
    expect(body.message).toContain("tasks.max");
    const unknown = await call("POST", "/connectors", { name: "x", config: { "connector.class": "nope" } });
    expect(unknown.body.message).toContain('no connector class "nope"');
    const missing = await call("POST", "/connectors", {
      name: "x",
      config: { "connector.class": "file-source" },
    });
    expect(missing.body.message).toMatch(/file.*required/);
    expect((await call("POST", "/connectors", { name: "x" })).status).toBe(400);
    const notJson = await app.request("/connectors", { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
  });

  it("a sink needs exactly one of topics and topics.regex", async () => {
    const sink = { "connector.class": "file-sink", file: "/tmp/out.txt" };
    expect((await call("POST", "/connectors", { name: "s", config: sink })).body.message).toContain("topics");
    const both = { ...sink, topics: "a", "topics.regex": "a.*" };
    expect((await call("POST", "/connectors", { name: "s", config: both })).status).toBe(400);
    expect((await call("POST", "/connectors", { name: "s", config: { ...sink, topics: "a" } })).status).toBe(
      201,
    );
  });

  it("pause, resume and restart write records the workers follow", async () => {
    await call("POST", "/connectors", { name: "in", config: fileSource });
    expect((await call("PUT", "/connectors/in/pause")).status).toBe(202);
    expect(storage.configs.connectors.get("in")?.targetState).toBe("PAUSED");
    expect((await call("PUT", "/connectors/in/resume")).status).toBe(202);
    expect(storage.configs.connectors.get("in")?.targetState).toBe("STARTED");
    expect((await call("POST", "/connectors/in/restart")).status).toBe(204);
    const first = storage.configs.connectors.get("in")?.restart;
    expect(first).toMatchObject({ includeTasks: false, onlyFailed: false });
    expect((await call("POST", "/connectors/in/restart?includeTasks=true&onlyFailed=true")).status).toBe(202);
    expect(storage.configs.connectors.get("in")?.restart?.id).not.toBe(first?.id);
    expect((await call("POST", "/connectors/in/tasks/0/restart")).status).toBe(204);
    expect(storage.configs.connectors.get("in")?.taskRestarts.has(0)).toBe(true);
    expect((await call("POST", "/connectors/in/tasks/7/restart")).status).toBe(404);
  });

  it("shows statuses, UNASSIGNED when their worker left", async () => {
    await call("POST", "/connectors", { name: "in", config: fileSource });
    await storage.writeStatus("status-connector-in", {
      state: "RUNNING",
      worker_id: "w1:8083",
      generation: 1,
    });
    await storage.writeStatus("status-task-in-0", {
      state: "FAILED",
      worker_id: "w1:8083",
      generation: 1,
      trace: "Error: boom",
    });
    expect((await call("GET", "/connectors/in/status")).body).toEqual({
      name: "in",
      connector: { state: "RUNNING", worker_id: "w1:8083" },
      tasks: [{ id: 0, state: "FAILED", worker_id: "w1:8083", trace: "Error: boom" }],
      type: "source",
    });
    live = [];
    expect((await call("GET", "/connectors/in/tasks/0/status")).body).toEqual({
      id: 0,
      state: "UNASSIGNED",
      worker_id: "w1:8083",
    });
    const expanded = await call("GET", "/connectors?expand=status&expand=info");
    expect(Object.keys(expanded.body.in)).toEqual(["status", "info"]);
  });

  it("lists plugins and validates a config as Kafka Connect does", async () => {
    const plugins = (await call("GET", "/connector-plugins")).body as { class: string }[];
    expect(plugins.map((plugin) => plugin.class)).toEqual([
      "brook-mirror",
      "file-sink",
      "file-source",
      "http-sink",
      "http-source",
      "postgres-sink",
      "postgres-source",
    ]);
    const { body } = await call("PUT", "/connector-plugins/file-source/config/validate", {
      "connector.class": "file-source",
      topic: "t",
    });
    expect(body.error_count).toBe(2);
    const file = body.configs.find((each: { value: { name: string } }) => each.value.name === "file");
    expect(file.value.errors[0]).toMatch(/required/);
    expect((await call("PUT", "/connector-plugins/nope/config/validate", {})).status).toBe(404);
  });

  it("serves metrics in Prometheus format", async () => {
    const response = await app.request("/metrics");
    expect(await response.text()).toContain("brook_connect_tasks_running");
  });
});
