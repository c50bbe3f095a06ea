// http-sink: POSTs records to a URL as JSON arrays, batch.size records a request. put buffers (bounded:
// past the limit it sends full batches at once); flush sends everything buffered. A 5xx or a lost
// connection is retried with exponential backoff up to retry.max times, then flush throws RetriableError
// (the runtime retries it later); any other non-2xx is permanent and fails with the status and URL.

import { defineSink, RetriableError, type SinkRecord, type SinkTaskContext } from "../../api.js";
import type { ConfigValues } from "../../config/config-def.js";
import { sleep } from "../../sleep.js";
import { bodyExcerpt, describeError, parseHeaders, requestSignal } from "./http-common.js";

/** Buffered batches past which put sends without waiting for flush. */
export const httpSinkBufferBatchesMax = 10;
/** Buffered JSON bytes past which put sends without waiting for flush. */
export const httpSinkBufferBytesMax = 8 * 1024 * 1024;
/** The longest wait between two attempts, however many failed. */
export const httpSinkBackoffMsMax = 30_000;

const configSchema = {
  "http.url": { type: "string", doc: "The URL the batches are POSTed to.", importance: "high" },
  "http.headers": { type: "list", default: [], doc: "Request headers, each `Name: value`." },
  "http.body.format": {
    type: "string",
    default: "values",
    choices: ["values", "envelope"],
    doc: "values: a JSON array of the records' values; envelope: of {key, value, topic, partition, offset}.",
  },
  "batch.size": { type: "int", default: 100, min: 1, doc: "The most records in one request." },
  "request.timeout.ms": { type: "int", default: 30000, min: 1, doc: "How long one POST may take." },
  "retry.max": {
    type: "int",
    default: 5,
    min: 0,
    doc: "Retries of a failed POST (5xx, network) within a flush.",
  },
  "retry.backoff.ms": {
    type: "int",
    default: 100,
    min: 1,
    doc: "The wait before the first retry; it doubles.",
  },
} as const;

type HttpSinkConfig = ConfigValues<typeof configSchema>;

interface HttpSinkTask {
  context: SinkTaskContext<HttpSinkConfig>;
  headers: Record<string, string>;
  /** Each record put and not yet sent, as its JSON text in the request body. */
  buffered: string[];
  bufferedBytes: number;
}

/** How one attempt ended: sent, worth another try, or refused for good. */
type Attempt = { outcome: "sent" } | { outcome: "retry" | "refused"; reason: string };

export const httpSink = defineSink({
  name: "http-sink",
  description: "POSTs records to an HTTP endpoint as JSON arrays, retrying server errors with backoff.",
  configSchema,
  start(context): HttpSinkTask {
    return { context, headers: parseHeaders(context.config["http.headers"]), buffered: [], bufferedBytes: 0 };
  },
  async put(task, records) {
    for (const record of records) {
      const json = toJson(task.context.config["http.body.format"], record);
      task.buffered.push(json);
      task.bufferedBytes += Buffer.byteLength(json);
      if (bufferFull(task)) await sendBuffered(task);
    }
  },
  async flush(task) {
    await sendBuffered(task);
  },
  stop(task) {
    // What was put but not flushed is dropped: its offsets were not committed, so it is delivered again.
    clearBuffer(task);
  },
});

/** A record as its element of a request's JSON array; a Buffer key or value is sent as UTF-8 text. */
export function toJson(format: string, record: SinkRecord): string {
  const value = jsonable(record.value);
  if (format === "values") return JSON.stringify(value) ?? "null";
  const { topic, partition, offset } = record;
  return JSON.stringify({
    key: jsonable(record.key) ?? null,
    value: value ?? null,
    topic,
    partition,
    offset,
  });
}

function jsonable(data: unknown): unknown {
  return Buffer.isBuffer(data) ? data.toString("utf8") : data;
}

function bufferFull(task: HttpSinkTask): boolean {
  const batchesMax = task.context.config["batch.size"] * httpSinkBufferBatchesMax;
  return task.buffered.length >= batchesMax || task.bufferedBytes >= httpSinkBufferBytesMax;
}

/**
 * Sends the buffer batch by batch; a batch leaves the buffer once sent, so a flush retried after a
 * RetriableError resumes where it stopped. A permanent refusal empties the buffer: the runtime then
 * delivers the unsent records again (one by one to the dead-letter topic, or after a restart).
 */
async function sendBuffered(task: HttpSinkTask): Promise<void> {
  const batchSize = task.context.config["batch.size"];
  while (task.buffered.length > 0) {
    const batch = task.buffered.slice(0, batchSize);
    try {
      await sendWithRetries(task, `[${batch.join(",")}]`);
    } catch (error) {
      if (!(error instanceof RetriableError)) clearBuffer(task);
      throw error;
    }
    task.buffered = task.buffered.slice(batch.length);
    task.bufferedBytes -= batch.reduce((bytes, json) => bytes + Buffer.byteLength(json), 0);
  }
}

function clearBuffer(task: HttpSinkTask): void {
  task.buffered = [];
  task.bufferedBytes = 0;
}

/** POSTs one body, retrying with exponential backoff; throws RetriableError once retry.max is spent. */
async function sendWithRetries(task: HttpSinkTask, body: string): Promise<void> {
  const { config, logger, signal } = task.context;
  const url = config["http.url"];
  for (let retry = 0; ; retry++) {
    const attempt = await post(task, body);
    if (attempt.outcome === "sent") return;
    if (attempt.outcome === "refused") throw new Error(`POST ${url} refused: ${attempt.reason}`);
    if (retry >= config["retry.max"] || signal.aborted) {
      throw new RetriableError(`POST ${url} failed after ${retry + 1} attempts: ${attempt.reason}`);
    }
    const backoffMs = Math.min(config["retry.backoff.ms"] * 2 ** retry, httpSinkBackoffMsMax);
    logger.info({ url, reason: attempt.reason, retry: retry + 1, backoffMs }, "POST failed; retrying");
    await sleep(backoffMs, signal);
  }
}

/** One POST. 408 and 429 are retried with the 5xx: they ask the client to come back later. */
async function post(task: HttpSinkTask, body: string): Promise<Attempt> {
  const { config, signal } = task.context;
  let response: Response;
  try {
    response = await fetch(config["http.url"], {
      method: "POST",
      headers: { "content-type": "application/json", ...task.headers },
      body,
      signal: requestSignal(signal, config["request.timeout.ms"]),
    });
  } catch (error) {
    return { outcome: "retry", reason: describeError(error) };
  }
  const excerpt = await bodyExcerpt(response);
  if (response.ok) return { outcome: "sent" };
  const reason = `status ${response.status}${excerpt === "" ? "" : `: ${excerpt}`}`;
  const retriable = response.status >= 500 || response.status === 408 || response.status === 429;
  return { outcome: retriable ? "retry" : "refused", reason };
}
