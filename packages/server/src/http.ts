// The node's HTTP listener: /healthz (the process is alive and serving),
// /readyz (it can take traffic: registered, caught up with the metadata log,
// and serving every partition the metadata says it leads) and /metrics
// (Prometheus text format). Orchestrators use the first two: restart when
// /healthz fails, route and roll on when /readyz passes.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TlsOptions, Server as TlsServer } from "node:tls";
import type { Registry } from "prom-client";

export interface Readiness {
  ready: boolean;
  /** Why not, in words an operator can act on. */
  reasons: string[];
}

export interface HttpEndpoints {
  readiness(): Readiness;
  registry: Registry;
}

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

/** HTTPS instead of HTTP: the server's options, and a hook that keeps its certificate current. */
export interface HttpTls {
  readonly options: TlsOptions;
  follow(server: TlsServer): void;
}

export function startHttp(
  host: string,
  port: number,
  endpoints: HttpEndpoints,
  tls?: HttpTls,
): Promise<HttpListener> {
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      response.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const readiness = endpoints.readiness();
      response
        .writeHead(readiness.ready ? 200 : 503, { "content-type": "application/json" })
        .end(`${JSON.stringify(readiness)}\n`);
    } else if (path === "/metrics") {
      endpoints.registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": endpoints.registry.contentType }).end(text),
        (error: unknown) =>
          response.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
      );
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("try /healthz, /readyz or /metrics\n");
    }
  };
  const server: Server = tls ? createHttpsServer(tls.options, handle) : createServer(handle);
  if (tls) tls.follow(server as unknown as TlsServer);
  return new Promise((resolve, reject) => {
    server.once("error", (error) =>
      reject(new Error(`cannot listen on ${host}:${port} (HTTP): ${error.message}`)),
    );
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address !== null ? address.port : port,
        close: () => closeServer(server),
      });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
