// The Kafka listener: a TCP server beside the broker's gRPC one, over the same broker (Broker.api), so
// Kafka clients and Brook's own clients read and write the same partitions under the same rules.

import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TlsOptions, type Server as TlsServer } from "node:tls";
import type { BrokerApi } from "@brook/broker";
import { anonymousCaller, type Caller } from "@brook/protocol";
import type { Logger } from "pino";
import { REQUEST_BYTES_MAX_DEFAULT } from "../codec/frame-splitter.js";
import { dispatcher } from "../handlers/dispatch.js";
import { type ConnectionLimits, KafkaConnection } from "./connection.js";
import { checkSaslOptions, type KafkaSaslOptions } from "./sasl.js";

export interface KafkaListenerLimits extends ConnectionLimits {
  /** Open client connections at once; more are refused (closed at once). */
  readonly connectionsMax: number;
}

export const defaultKafkaListenerLimits: KafkaListenerLimits = {
  requestBytesMax: REQUEST_BYTES_MAX_DEFAULT,
  // Enough for an idempotent producer's five batches in flight plus a metadata refresh; more wait in the
  // socket's buffers (TCP backpressure), never in the broker's memory.
  requestsInFlightMax: 8,
  connectionsMax: 10_000,
};

export interface KafkaListenerOptions {
  readonly host: string;
  /** 0: a free port (tests). */
  readonly port: number;
  readonly broker: BrokerApi;
  /** Kafka's auto.create.topics.enable: Metadata for an unknown topic creates it with the cluster defaults. */
  readonly autoCreateTopics: boolean;
  readonly logger: Logger;
  readonly limits?: Partial<KafkaListenerLimits>;
  /** TLS (Kafka's SSL listener): the server's options, and a hook that keeps its certificate current. */
  readonly tls?: { readonly options: TlsOptions; follow(server: TlsServer): void };
  /** Who a new connection is before it authenticates (e.g. by its TLS client certificate); default anonymous. */
  readonly callerOf?: (socket: Socket) => Caller;
  /**
   * SASL/SCRAM (Kafka's SASL_PLAINTEXT, or SASL_SSL with `tls`): every connection must authenticate
   * before anything but ApiVersions is served, and is then User:<username>, whatever callerOf said.
   * Unset: no SASL; SaslHandshake is answered ILLEGAL_SASL_STATE, as on Kafka's PLAINTEXT listener.
   */
  readonly sasl?: KafkaSaslOptions;
}

export interface KafkaListener {
  readonly port: number;
  /** Stops accepting, closes every connection, and resolves once the server is closed. */
  close(): Promise<void>;
}

export async function startKafkaListener(options: KafkaListenerOptions): Promise<KafkaListener> {
  const limits = { ...defaultKafkaListenerLimits, ...options.limits };
  if (options.sasl !== undefined) checkSaslOptions(options.sasl);
  const logger = options.logger.child({ component: "kafka" });
  const connections = new Set<KafkaConnection>();
  const dispatch = dispatcher({
    broker: options.broker,
    autoCreateTopics: options.autoCreateTopics,
    logger,
  });
  const callerOf =
    options.callerOf ?? ((socket: Socket) => anonymousCaller(socket.remoteAddress ?? "unknown"));
  const accept = (socket: Socket) => {
    if (connections.size >= limits.connectionsMax) {
      logger.warn({ connectionsMax: limits.connectionsMax }, "kafka connection refused: too many open");
      socket.destroy();
      return;
    }
    const connection = new KafkaConnection(socket, dispatch, limits, logger, callerOf(socket), options.sasl);
    connections.add(connection);
    socket.on("close", () => connections.delete(connection));
  };
  const server = options.tls ? createTlsServer(options.tls.options, accept) : createServer(accept);
  if (options.tls) {
    options.tls.follow(server as TlsServer);
    // A failed handshake (plaintext on the TLS port, an unknown CA) costs the client its connection, nothing more.
    server.on("tlsClientError", (error: Error, socket: Socket) =>
      logger.debug({ client: socket.remoteAddress, error: error.message }, "kafka TLS handshake failed"),
    );
  }
  const port = await listen(server, options.host, options.port);
  const sasl = options.sasl?.mechanisms ?? [];
  logger.info({ port, tls: options.tls !== undefined, sasl }, "kafka listening");
  return {
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.close();
      await closed;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}
