// The few REST calls the mirror tests make of a Connect worker (started with @brook/testkit's
// startConnectWorker): create a connector, read its status and the worker's Prometheus metrics.

export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

/** A call to a worker's REST API; a non-2xx answer fails with Kafka Connect's error body. */
export async function rest<T>(
  base: string,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (path === "/metrics" || text === "" ? text : JSON.parse(text)) as T;
}

/** The samples of one metric in a Prometheus text page, as label sets and values. */
export function samples(page: string, metric: string): { labels: Record<string, string>; value: number }[] {
  const found: { labels: Record<string, string>; value: number }[] = [];
  for (const line of page.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== metric) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name] = value;
    }
    found.push({ labels, value: Number(match[3]) });
  }
  return found;
}
