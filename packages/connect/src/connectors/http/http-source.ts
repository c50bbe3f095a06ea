// http-source: polls a JSON endpoint with GET and sends each item of the response as a record. With
// dedupe.key.path, items whose key was already sent are skipped; the source offset carries the most recent
// keys (as hashes, see seen-keys.ts) so a restart skips them too. A failed poll is logged and tried again
// at the next one: an endpoint being down never fails the task.

import { defineSource, type SourcePartition, type SourceRecord, type SourceTaskContext } from "../../api.js";
import type { ConfigValues } from "../../config/config-def.js";
import { sleep } from "../../sleep.js";
import { describeError, parseHeaders, parsePath, readBody, requestSignal, valueAt } from "./http-common.js";
import { SeenKeys } from "./seen-keys.js";

const configSchema = {
  "http.url": { type: "string", doc: "The URL polled with GET; it answers JSON.", importance: "high" },
  topic: { type: "string", doc: "The topic the items are sent to.", importance: "high" },
  "http.headers": { type: "list", default: [], doc: "Request headers, each `Name: value`." },
  "poll.interval.ms": { type: "int", default: 5000, min: 1, doc: "The time between two polls." },
  "request.timeout.ms": { type: "int", default: 30000, min: 1, doc: "How long one GET may take." },
  "records.path": {
    type: "string",
    optional: true,
    doc: "Dotted path to the array of items in the response (e.g. data.items). Default: the response if it is an array, else the response as one item.",
  },
  "dedupe.key.path": {
    type: "string",
    optional: true,
    doc: "Dotted path inside an item to its key: the record key, and items with a key already sent are skipped.",
  },
  "dedupe.cache.size": {
    type: "int",
    default: 10000,
    min: 1,
    doc: "How many keys are remembered for dedupe.",
  },
} as const;

type HttpSourceConfig = ConfigValues<typeof configSchema>;

interface HttpSourceTask {
  context: SourceTaskContext<HttpSourceConfig>;
  partition: SourcePartition;
  headers: Record<string, string>;
  recordsPath: string[];
  /** Undefined without dedupe.key.path: every item is sent, with a null key. */
  keyPath: string[] | undefined;
  seenKeys: SeenKeys;
}

export const httpSource = defineSource({
  name: "http-source",
  description: "Polls a JSON endpoint and sends each item as a record, skipping items already sent.",
  configSchema,
  canSeek: false,
  maxTasks: () => 1,
  async start(context): Promise<HttpSourceTask> {
    const { config } = context;
    const partition = { url: config["http.url"] };
    const seenKeys = new SeenKeys(config["dedupe.cache.size"]);
    const keys = (await context.offset(partition))?.keys;
    seenKeys.restore(typeof keys === "string" ? keys : undefined);
    return {
      context,
      partition,
      headers: parseHeaders(config["http.headers"]),
      recordsPath: parsePath(config["records.path"]),
      keyPath: config["dedupe.key.path"] === undefined ? undefined : parsePath(config["dedupe.key.path"]),
      seenKeys,
    };
  },
  poll: pollUrl,
  stop() {},
});

/** Polls until the task's signal aborts: one GET, its new items, then poll.interval.ms of rest. */
async function* pollUrl(task: HttpSourceTask): AsyncGenerator<SourceRecord> {
  const { signal, config } = task.context;
  while (!signal.aborted) {
    const body = await fetchJson(task);
    if (body !== undefined) yield* newRecords(task, body);
    await sleep(config["poll.interval.ms"], signal);
  }
}

/** The parsed response, or undefined (logged) for a failed request, a non-2xx status or a body not JSON. */
async function fetchJson(task: HttpSourceTask): Promise<unknown> {
  const { config, logger, signal } = task.context;
  const url = config["http.url"];
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      headers: { accept: "application/json", ...task.headers },
      signal: requestSignal(signal, config["request.timeout.ms"]),
    });
    text = await readBody(response);
  } catch (error) {
    if (!signal.aborted)
      logger.warn({ url, error: describeError(error) }, "poll failed; trying again next poll");
    return undefined;
  }
  if (!response.ok) {
    logger.warn({ url, status: response.status }, "poll answered a non-2xx status; trying again next poll");
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    logger.warn({ url, error: describeError(error) }, "poll answered a body that is not JSON; skipped");
    return undefined;
  }
}

/** The items of a response not sent before, as records. */
function* newRecords(task: HttpSourceTask, body: unknown): Generator<SourceRecord> {
  for (const item of itemsOf(task, body)) {
    const key = task.keyPath === undefined ? null : keyOf(valueAt(item, task.keyPath));
    if (key !== null && task.seenKeys.seen(key)) continue;
    yield {
      sourcePartition: task.partition,
      sourceOffset: { keys: task.seenKeys.snapshot() },
      topic: task.context.config.topic,
      key,
      value: item,
    };
  }
}

/** The items at records.path: an array's elements, or anything else as one item; nothing if absent. */
function itemsOf(task: HttpSourceTask, body: unknown): unknown[] {
  const items = valueAt(body, task.recordsPath);
  if (Array.isArray(items)) return items;
  if (items !== undefined) return [items];
  const { logger, config } = task.context;
  logger.warn(
    { url: config["http.url"], path: config["records.path"] },
    "response has nothing at records.path",
  );
  return [];
}

/** An item's key as a string (a number or object as JSON), or null when the item has none. */
function keyOf(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}
