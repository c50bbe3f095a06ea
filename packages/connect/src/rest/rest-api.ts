// The worker's REST API: Kafka Connect's paths and JSON shapes (GET/POST /connectors, /connectors/{name}
// with /config, /status, /restart, /pause, /resume, /tasks, /connector-plugins and config validation),
// so curl recipes and tools written for Kafka Connect work; plus GET /metrics in Prometheus format.
// Errors answer { error_code, message } with the HTTP status, as Kafka Connect does.

import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { RawConfig } from "../config/config-def.js";
import { describeConfig } from "../config/validate.js";
import { commonConfigSchema } from "../runtime/connector-config.js";
import { ConnectRestError, type Herder } from "../runtime/herder.js";
import type { ConnectMetrics } from "../runtime/metrics.js";

/** The largest request body accepted. */
export const requestBytesMax = 1024 * 1024;

export function restApi(herder: Herder, metrics: ConnectMetrics, version: { worker: string }): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    const status: ContentfulStatusCode = error instanceof ConnectRestError ? error.status : 500;
    return c.json({ error_code: status, message: error.message }, status);
  });
  app.notFound((c) =>
    c.json({ error_code: 404, message: `no such path: ${c.req.method} ${c.req.path}` }, 404),
  );

  app.get("/", (c) =>
    c.json({ version: "0.1.0", commit: "brook", kafka_cluster_id: "brook", worker_id: version.worker }),
  );
  app.get("/metrics", async (c) =>
    c.text(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );

  connectorRoutes(app, herder);
  pluginRoutes(app, herder);
  return app;
}

/** GET/POST /connectors and everything under /connectors/{name}. */
function connectorRoutes(app: Hono, herder: Herder): void {
  app.get("/connectors", (c) => {
    const names = herder.connectors();
    const expand = c.req.queries("expand") ?? [];
    if (expand.length === 0) return c.json(names);
    return c.json(
      Object.fromEntries(
        names.map((name) => [
          name,
          {
            ...(expand.includes("status") ? { status: herder.status(name) } : {}),
            ...(expand.includes("info") ? { info: herder.info(name) } : {}),
          },
        ]),
      ),
    );
  });
  app.post("/connectors", async (c) => {
    const body = await jsonBody<{ name?: unknown; config?: unknown }>(c);
    if (typeof body.name !== "string" || !isObject(body.config)) {
      throw new ConnectRestError(400, 'the body is {"name": "...", "config": {...}}');
    }
    return c.json(await herder.create(body.name, body.config as RawConfig), 201);
  });
  app.get("/connectors/:name", (c) => c.json(herder.info(c.req.param("name"))));
  app.get("/connectors/:name/config", (c) => c.json(herder.info(c.req.param("name")).config));
  app.put("/connectors/:name/config", async (c) => {
    const config = await jsonBody<unknown>(c);
    if (!isObject(config)) throw new ConnectRestError(400, "the body is the config object");
    const { created, info } = await herder.putConfig(c.req.param("name"), config as RawConfig);
    return c.json(info, created ? 201 : 200);
  });
  app.delete("/connectors/:name", async (c) => {
    await herder.delete(c.req.param("name"));
    return c.body(null, 204);
  });
  app.get("/connectors/:name/status", (c) => c.json(herder.status(c.req.param("name"))));
  app.post("/connectors/:name/restart", async (c) => {
    const name = c.req.param("name");
    const includeTasks = c.req.query("includeTasks") === "true";
    const onlyFailed = c.req.query("onlyFailed") === "true";
    await herder.restart(name, { includeTasks, onlyFailed });
    if (!includeTasks && !onlyFailed) return c.body(null, 204);
    return c.json(herder.status(name), 202);
  });
  app.put("/connectors/:name/pause", async (c) => {
    await herder.setTargetState(c.req.param("name"), "PAUSED");
    return c.body(null, 202);
  });
  app.put("/connectors/:name/resume", async (c) => {
    await herder.setTargetState(c.req.param("name"), "STARTED");
    return c.body(null, 202);
  });
  app.get("/connectors/:name/tasks", (c) => c.json(herder.tasks(c.req.param("name"))));
  app.get("/connectors/:name/tasks/:task/status", (c) =>
    c.json(herder.taskStatus(c.req.param("name"), Number(c.req.param("task")))),
  );
  app.post("/connectors/:name/tasks/:task/restart", async (c) => {
    await herder.restartTask(c.req.param("name"), Number(c.req.param("task")));
    return c.body(null, 204);
  });
}

/** GET /connector-plugins and PUT /connector-plugins/{plugin}/config/validate. */
function pluginRoutes(app: Hono, herder: Herder): void {
  app.get("/connector-plugins", (c) => c.json(herder.pluginList()));
  app.put("/connector-plugins/:plugin/config/validate", async (c) => {
    const plugin = herder.plugin(c.req.param("plugin"));
    const config = await jsonBody<unknown>(c);
    if (!isObject(config)) throw new ConnectRestError(400, "the body is the config object");
    return c.json(describeConfig({ ...commonConfigSchema, ...plugin.configSchema }, config as RawConfig));
  });
}

async function jsonBody<T>(c: Context): Promise<T> {
  const length = Number(c.req.header("content-length") ?? 0);
  if (length > requestBytesMax) throw new ConnectRestError(400, `request body over ${requestBytesMax} bytes`);
  const text = await c.req.text();
  if (text.length > requestBytesMax)
    throw new ConnectRestError(400, `request body over ${requestBytesMax} bytes`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ConnectRestError(400, "the request body is not JSON");
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
