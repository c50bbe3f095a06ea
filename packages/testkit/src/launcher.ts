// Starts real `brook server` processes on 127.0.0.1 for end-to-end tests:
// `const cluster = await startCluster({ nodes: 1 })` ... `await cluster.stop()`.
// With `network: "namespaces"` each node has a network namespace and address of its own
// (network-lab.ts), and `cluster.network` cuts, thins and slows the links between them.
// Each node gets free ports and its own data directory; nodes can be killed
// (SIGKILL, like a crash), paused (SIGSTOP, like a long GC pause or a frozen
// VM) and restarted on the same data. Only the processes the launcher started
// are ever signalled, by their own PIDs.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ChannelSecurity, createBrokerClient } from "@brook/protocol";
import { clusterSecretKey, newClusterSecret, operatorNodeId } from "@brook/security";
import * as grpc from "@grpc/grpc-js";
import getPort from "get-port";
import { NetworkLab } from "./network-lab.js";

const brookBin = fileURLToPath(new URL("../../cli/bin/brook.js", import.meta.url));
const genTls = fileURLToPath(new URL("../../../scripts/gen-tls.sh", import.meta.url));
const readyTimeoutMs = 30_000;

export interface NodeHandle {
  readonly id: number;
  /** The address the node binds and advertises: 127.0.0.1, or its own in a network lab. */
  readonly host: string;
  readonly brokerPort: number;
  readonly controllerPort: number;
  /** /healthz, /readyz and /metrics. */
  readonly httpPort: number;
  /** The Kafka wire-protocol listener (BROOK_KAFKA_PORT), registered as 127.0.0.1:kafkaPort. */
  readonly kafkaPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** The exit status of the process once it has exited by itself (null while running, or killed by a signal). */
  readonly exitCode: number | null;
  /** Stopped by pause() and not resumed yet (still `running`: the process exists). */
  readonly paused: boolean;
  /** SIGKILL: the process gets no chance to flush or shut down cleanly. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: the process freezes with its sockets open; peers see timeouts, not refused connections. */
  pause(): void;
  /** SIGCONT: a paused process carries on where it stopped, unaware of the time it lost. */
  resume(): void;
}

export interface Cluster {
  readonly bootstrap: string;
  /** Kafka clients' bootstrap.servers: "127.0.0.1:p1,127.0.0.1:p2,..." (each node's Kafka port). */
  readonly kafkaBootstrap: string;
  readonly nodes: NodeHandle[];
  readonly rootDir: string;
  /** The cluster secret every node was given (BROOK_CLUSTER_SECRET_FILE): a test holding it can act as a node. */
  readonly clusterSecretFile: string;
  /** With `secure`: the CA that signed the nodes' certificates (and test users' certificates beside it). */
  readonly tlsDir?: string;
  /** With `network: "namespaces"`: the links between the nodes and to the clients, to cut and heal. */
  readonly network?: NetworkLab;
  /** Kills every node, removes the network lab, and (unless keepData) the data. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  nodes?: number;
  env?: Record<string, string>;
  /** Keep the data directories after stop (for debugging a failure). */
  keepData?: boolean;
  /**
   * A secured cluster, as `make up TLS=1` makes one: a local CA and node certificates (scripts/gen-tls.sh,
   * plus client certificates for these users), TLS on every port with client certificates requested,
   * SASL/SCRAM required, and User:admin a super user (create it as the operator: clusterSecretFile).
   */
  secure?: {
    readonly certificateUsers?: readonly string[];
    /** false: TLS alone, no SASL (clients known by their certificate's CN, or anonymous). Default true. */
    readonly sasl?: boolean;
  };
  /**
   * "loopback" (default): every node on 127.0.0.1. "namespaces": each node in a network namespace of its
   * own (needs root, ip and nft: networkLabUnavailable() says why not), so links can be cut.
   */
  network?: "loopback" | "namespaces";
  /**
   * Called once per node, before it first starts, with its (empty) data directory: to put it on a disk of
   * its own, say. What it returns is added to that node's environment.
   */
  prepareNode?: (node: { readonly id: number; readonly dataDir: string }) => Record<string, string>;
  /** Called once every node is dead, before the data is removed: to unmount what prepareNode mounted. */
  afterStop?: () => void;
}

/**
 * Starts `nodes` combined nodes that form one controller quorum: every node's
 * ports are chosen first, so each is told all the voters, then all start at
 * once (a quorum needs a majority up to elect) and each is ready when it
 * lists every broker as registered.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const rootDir = mkdtempSync(join(tmpdir(), "brook-e2e-"));
  const count = options.nodes ?? 1;
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const network = options.network === "namespaces" ? await NetworkLab.create(ids) : undefined;
  const ports: NodePorts[] = [];
  for (const id of ids) {
    ports.push({
      id,
      host: network?.hostOf(id) ?? "127.0.0.1",
      brokerPort: await getPort({ host: "127.0.0.1" }),
      controllerPort: await getPort({ host: "127.0.0.1" }),
      httpPort: await getPort({ host: "127.0.0.1" }),
      kafkaPort: await getPort({ host: "127.0.0.1" }),
    });
  }
  const voters = ports.map((p) => `${p.id}@${p.host}:${p.controllerPort}`).join(",");
  const clusterSecretFile = join(rootDir, "cluster.secret");
  writeFileSync(clusterSecretFile, newClusterSecret(), { mode: 0o600 });
  const env = {
    BROOK_CLUSTER_ID: randomUUID(),
    BROOK_CONTROLLER_QUORUM_VOTERS: voters,
    BROOK_CLUSTER_SECRET_FILE: clusterSecretFile,
    ...options.env,
  };
  const tlsDir = options.secure ? join(rootDir, "tls") : undefined;
  if (tlsDir !== undefined) {
    execFileSync("bash", [genTls, tlsDir, String(count), ...(options.secure?.certificateUsers ?? [])], {
      stdio: "ignore",
    });
  }
  const sasl = options.secure?.sasl ?? true;
  const nodeEnv = (id: number) => (tlsDir === undefined ? env : { ...secureEnv(tlsDir, id, sasl), ...env });
  const ready = readiness(tlsDir, clusterSecretFile);
  const prepared = (id: number) => {
    const dataDir = nodeDataDir(rootDir, id);
    mkdirSync(dataDir, { recursive: true });
    return { ...nodeEnv(id), ...options.prepareNode?.({ id, dataDir }) };
  };
  const nodes: NodeHandle[] = [];
  try {
    for (const p of ports) nodes.push(createNode(p, rootDir, prepared(p.id), count, ready, network));
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    await Promise.all(nodes.map((node) => node.kill()));
    await network?.close();
    options.afterStop?.();
    throw error;
  }
  return {
    bootstrap: nodes.map((n) => `${n.host}:${n.brokerPort}`).join(","),
    kafkaBootstrap: nodes.map((n) => `${n.host}:${n.kafkaPort}`).join(","),
    nodes,
    rootDir,
    clusterSecretFile,
    tlsDir,
    network,
    async stop() {
      await Promise.all(nodes.map((node) => node.kill()));
      await network?.close();
      options.afterStop?.();
      if (!options.keepData) rmSync(rootDir, { recursive: true, force: true });
    },
  };
}

const nodeDataDir = (rootDir: string, id: number) => join(rootDir, `node-${id}`, "data");

/** What a secured node is given besides the plain settings (as scripts/cluster.sh does for TLS=1). */
function secureEnv(tlsDir: string, id: number, sasl: boolean): Record<string, string> {
  return {
    BROOK_TLS_CERT_FILE: join(tlsDir, `node-${id}.crt`),
    BROOK_TLS_KEY_FILE: join(tlsDir, `node-${id}.key`),
    BROOK_TLS_CA_FILE: join(tlsDir, "ca.crt"),
    BROOK_TLS_CLIENT_AUTH: "requested",
    BROOK_SUPER_USERS: "User:admin",
    ...(sasl ? { BROOK_SASL_MECHANISMS: "SCRAM-SHA-256,SCRAM-SHA-512" } : {}),
  };
}

/** How the readiness check reaches a node: over TLS when secured, as the operator (past SASL and ACLs). */
function readiness(tlsDir: string | undefined, clusterSecretFile: string): ChannelSecurity {
  if (tlsDir === undefined) return {};
  return {
    credentials: grpc.credentials.createSsl(readFileSync(join(tlsDir, "ca.crt"))),
    node: { nodeId: operatorNodeId, key: clusterSecretKey(readFileSync(clusterSecretFile, "utf8")) },
  };
}

interface NodePorts {
  readonly host: string;
  readonly httpPort: number;
  readonly kafkaPort: number;
  readonly id: number;
  readonly brokerPort: number;
  readonly controllerPort: number;
}

function createNode(
  { id, host, brokerPort, controllerPort, httpPort, kafkaPort }: NodePorts,
  rootDir: string,
  env: Record<string, string>,
  brokersExpected: number,
  security: ChannelSecurity,
  network: NetworkLab | undefined,
): NodeHandle {
  const dataDir = nodeDataDir(rootDir, id);
  const logFile = join(rootDir, `node-${id}`, "node.log");
  mkdirSync(dataDir, { recursive: true });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let paused = false;

  const handle: NodeHandle = {
    id,
    host,
    brokerPort,
    controllerPort,
    httpPort,
    kafkaPort,
    dataDir,
    logFile,
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    get exitCode() {
      return child?.exitCode ?? null;
    },
    get paused() {
      return paused && handle.running;
    },
    async start() {
      if (handle.running) return;
      const log = createWriteStream(logFile, { flags: "a" });
      // As `make up` and the brook bin run nodes: V8's GC on the main thread (docs/decisions.md).
      const args = ["--single-threaded-gc", brookBin, "server"];
      const command = network?.wrap(id, process.execPath, args) ?? { file: process.execPath, args };
      child = spawn(command.file, command.args, {
        env: {
          ...process.env,
          BROOK_NODE_ID: String(id),
          BROOK_ROLES: "broker,controller",
          BROOK_DATA_DIR: dataDir,
          BROOK_HOST: host,
          BROOK_BROKER_PORT: String(brokerPort),
          BROOK_CONTROLLER_PORT: String(controllerPort),
          BROOK_HTTP_PORT: String(httpPort),
          BROOK_KAFKA_PORT: String(kafkaPort),
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      const current = child;
      paused = false;
      exited = new Promise((resolve) => current.once("exit", () => resolve()));
      await waitUntilReady(`${host}:${brokerPort}`, brokersExpected, () => handle.running, logFile, security);
    },
    async kill() {
      if (!handle.running) return;
      child?.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (!handle.running) return;
      // A stopped process would hold SIGTERM pending forever: let it run to take it.
      handle.resume();
      child?.kill("SIGTERM");
      await exited;
    },
    pause() {
      if (!handle.running || paused) return;
      child?.kill("SIGSTOP");
      paused = true;
    },
    resume() {
      if (!paused) return;
      paused = false;
      if (handle.running) child?.kill("SIGCONT");
    },
  };
  return handle;
}

/** Ready: the node answers Metadata listing (at least) every broker of the cluster. */
async function waitUntilReady(
  address: string,
  brokersExpected: number,
  alive: () => boolean,
  logFile: string,
  security: ChannelSecurity,
): Promise<void> {
  const client = createBrokerClient(address, security);
  const deadline = Date.now() + readyTimeoutMs;
  try {
    while (Date.now() < deadline) {
      if (!alive()) throw new Error(`brook server at ${address} exited during start-up; see ${logFile}`);
      const ok = await new Promise<boolean>((resolve) => {
        client.Metadata({ topics: [] }, { deadline: Date.now() + 1_000 }, (error, response) =>
          resolve(!error && (response?.brokers.length ?? 0) >= brokersExpected),
        );
      });
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`brook server at ${address} was not ready within ${readyTimeoutMs} ms; see ${logFile}`);
  } finally {
    client.close();
  }
}
