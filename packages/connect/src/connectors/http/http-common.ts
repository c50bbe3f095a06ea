// What the HTTP source and sink share: the `Name: value` header list, a request signal that ends with the
// task or the timeout, a response body read with a size limit, and dotted paths into JSON.

/** The largest response body read; a larger one is refused, not held. */
export const httpResponseBytesMax = 16 * 1024 * 1024;

/** Turns `http.headers` entries (`Name: value`) into a header map; a malformed entry is a config error. */
export function parseHeaders(entries: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    const name = entry.slice(0, colon).trim();
    if (colon <= 0 || name === "")
      throw new Error(`http.headers: "${entry}" is not of the form "Name: value"`);
    headers[name] = entry.slice(colon + 1).trim();
  }
  return headers;
}

/** Ends a request when the task stops or after timeoutMs, whichever comes first. */
export function requestSignal(taskSignal: AbortSignal, timeoutMs: number): AbortSignal {
  return AbortSignal.any([taskSignal, AbortSignal.timeout(timeoutMs)]);
}

/** The response body as text, refusing (and cancelling) one longer than bytesMax. */
export async function readBody(response: Response, bytesMax = httpResponseBytesMax): Promise<string> {
  if (response.body === null) return "";
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    if (bytes > bytesMax) {
      await response.body.cancel().catch(() => {});
      throw new Error(`response body is longer than ${bytesMax} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The start of a body for an error message: at most bytesMax bytes, the rest discarded. */
export async function bodyExcerpt(response: Response, bytesMax = 256): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const { value } = await reader.read().catch(() => ({ value: undefined }));
  await reader.cancel().catch(() => {});
  return value === undefined
    ? ""
    : Buffer.from(value).toString("utf8", 0, Math.min(value.byteLength, bytesMax));
}

/** Splits a dotted path (`data.items`) once, at config time; "" or undefined is the value itself. */
export function parsePath(path: string | undefined): string[] {
  return path === undefined || path === "" ? [] : path.split(".");
}

/** The value at a parsed path inside JSON, or undefined where the path leads nowhere. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/** A failed request's cause, for a log line: the message of the error under a fetch TypeError. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}
