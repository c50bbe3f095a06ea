// deploy/docker-compose.yml, run without Docker: the three brook services are started exactly as the
// file describes them (its command, its environment) as local processes, and a client then creates a
// topic, produces and consumes through them. This keeps the compose file honest in CI, where there is
// no Docker engine: a misspelt BROOK_* variable, voters that do not match the nodes, or an advertised
// address that the published ports do not serve fail here. The healthcheck is run as written too.
//
// What has to change to run three containers' worth of nodes on one host, and nothing else:
// - host names: each service's name (node-1, ...) is what the nodes and the clients dial; here it is
//   127.0.0.1. BROOK_HOST=0.0.0.0 (all of the container's own interfaces) becomes 127.0.0.1 too, so
//   the test listens on no outside interface.
// - ports: in the file every node's controller listens on 9093 and its HTTP on 9644 (each container
//   has its own network namespace), and brokers use 9092/9192/9292 (Kafka: 9094/9194/9294), which a
//   `make up` cluster on this host also uses. So every port of every service is remapped to a free one, consistently: a
//   node's BROOK_*_PORT and every "node-N:port" that points at it (the quorum voters) get the same
//   new port.
// - BROOK_DATA_DIR (a volume in the file) is a temporary directory.
// `brook` (the image's PATH entry, packages/cli/bin/brook.js) runs with this Node.
//
// @brook/testkit's launcher chooses each node's configuration itself (startCluster), so the processes
// are spawned here, the same way: by PID, stopped with SIGTERM (Docker's stop signal, STOPSIGNAL in
// deploy/Dockerfile) and killed with SIGKILL only if that fails.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Brook } from "@brook/client";
import { newClusterSecret } from "@brook/security";
import { CONFIG_SCHEMA } from "@brook/server";
import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { onPath } from "./on-path.js";
import { readAll } from "./read-all.js";
import { waitFor } from "./wait.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const composeFile = join(repoRoot, "deploy/docker-compose.yml");
const secureFile = join(repoRoot, "deploy/docker-compose.secure.yml");
const brookBin = join(repoRoot, "packages/cli/bin/brook.js");
const local = "127.0.0.1";

interface Service {
  container_name?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  profiles?: string[];
}

/**
 * Compose's variable substitution, as in a shell where none of the variables is set: `${NAME:-default}`
 * and `${NAME-default}` give the default, `$$` is a literal `$`. A `${NAME}` without a default would
 * come out empty (compose only warns), so it is refused here.
 */
function interpolate(value: unknown): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (match, name, fallback) => {
      if (match === "$$") return "$";
      if (fallback === undefined) throw new Error(`${composeFile}: \${${name}} has no default`);
      return fallback;
    });
  }
  if (Array.isArray(value)) return value.map(interpolate);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, interpolate(v)]));
  }
  return value;
}

const compose = interpolate(parse(readFileSync(composeFile, "utf8"), { merge: true })) as {
  services: Record<string, Service>;
  secrets?: Record<string, { file: string }>;
};
/** The Brook nodes: services that run `brook server` (not the optional prometheus). */
const nodes = Object.entries(compose.services)
  .filter(([, service]) => service.command?.join(" ") === "brook server")
  .map(([name, service]) => ({ name, service, env: stringEnv(service.environment ?? {}) }));
const serviceNames = new Set(nodes.map((n) => n.name));
const knownVariables = new Set(Object.values(CONFIG_SCHEMA).map((key) => key.env));

function stringEnv(environment: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, String(v)]));
}

/** Host port published for `containerPort` ("[address:]host:container[/proto]"). */
function publishedPort(service: Service, containerPort: number): number | undefined {
  for (const spec of service.ports ?? []) {
    const parts = spec.replace(/\/tcp$/, "").split(":");
    if (Number(parts.at(-1)) === containerPort && parts.length >= 2) return Number(parts.at(-2));
  }
  return undefined;
}

const dockerCompose = onPath("docker-compose");

describe("deploy/docker-compose.yml", () => {
  it("describes three combined nodes that agree on the quorum, and are reachable from the host as advertised", () => {
    expect(nodes.map((n) => n.name)).toEqual(["node-1", "node-2", "node-3"]);
    const voters = new Set<string>();
    for (const { name, service, env } of nodes) {
      const id = env.BROOK_NODE_ID;
      expect(service.container_name).toBe(`brook-node-${id}`);
      // Every variable is one `brook server` knows (a misspelt one would be silently ignored).
      expect(Object.keys(env).filter((key) => !knownVariables.has(key))).toEqual([]);
      expect(env.BROOK_ROLES).toBe("broker,controller");
      voters.add(env.BROOK_CONTROLLER_QUORUM_VOTERS);
      // Its own voter entry is its service name and controller port.
      expect(env.BROOK_CONTROLLER_QUORUM_VOTERS.split(",")).toContain(
        `${id}@${name}:${env.BROOK_CONTROLLER_PORT}`,
      );
      // Followers and clients dial the advertised address: the service name inside the network, and
      // on the host the same name (/etc/hosts) on the same port, so it must be published 1:1.
      expect(env.BROOK_ADVERTISED_HOST).toBe(name);
      const brokerPort = Number(env.BROOK_BROKER_PORT);
      expect(publishedPort(service, brokerPort)).toBe(brokerPort);
      // Kafka clients likewise: the advertised Kafka address is the service name (by default the
      // advertised host) and the bound port, published 1:1.
      expect(env.BROOK_KAFKA_ADVERTISED_HOST ?? env.BROOK_ADVERTISED_HOST).toBe(name);
      expect(env.BROOK_KAFKA_ADVERTISED_PORT).toBeUndefined();
      const kafkaPort = Number(env.BROOK_KAFKA_PORT);
      expect(publishedPort(service, kafkaPort)).toBe(kafkaPort);
      expect(publishedPort(service, Number(env.BROOK_HTTP_PORT))).toBeDefined();
      expect(service.volumes?.some((v) => v.split(":")[1] === env.BROOK_DATA_DIR)).toBe(true);
    }
    expect(voters.size).toBe(1);
    expect(new Set(nodes.map((n) => n.env.BROOK_CLUSTER_ID)).size).toBe(1);
    expect(new Set(nodes.map((n) => n.env.BROOK_BROKER_PORT)).size).toBe(nodes.length);
    expect(new Set(nodes.map((n) => n.env.BROOK_KAFKA_PORT)).size).toBe(nodes.length);
  });

  it.skipIf(!dockerCompose)(
    `passes \`docker-compose config -q\`${dockerCompose ? "" : " (skipped: docker-compose is not on the PATH; apt-get install docker-compose)"}`,
    async () => {
      const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(
          "docker-compose",
          ["-f", composeFile, "config", "-q"],
          { timeout: 20_000 },
          (error, _o, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
        );
      });
      expect(result.code, result.stderr).toBe(0);
    },
  );
  if (!dockerCompose) {
    console.warn("compose.test: docker-compose is not on the PATH; `docker-compose config -q` was not run");
  }

  it("deploy/docker-compose.secure.yml secures every node of it with settings brook server knows", () => {
    const secure = parse(readFileSync(secureFile, "utf8"), { merge: true }) as {
      services: Record<string, Service>;
    };
    expect(Object.keys(secure.services)).toEqual(nodes.map((n) => n.name));
    for (const [name, service] of Object.entries(secure.services)) {
      const env = stringEnv(service.environment ?? {});
      expect(Object.keys(env).filter((key) => !knownVariables.has(key))).toEqual([]);
      // Its own certificate (scripts/gen-tls.sh puts node-<id> in node <id>'s), the CA, and SASL.
      expect(env.BROOK_TLS_CERT_FILE).toBe(`/etc/brook/tls/${name}.crt`);
      expect(env.BROOK_TLS_KEY_FILE).toBe(`/etc/brook/tls/${name}.key`);
      expect(env.BROOK_TLS_CA_FILE).toBe("/etc/brook/tls/ca.crt");
      expect(env.BROOK_SASL_MECHANISMS).toContain("SCRAM-SHA-256");
      expect(service.volumes).toContain("./tls:/etc/brook/tls:ro");
    }
  });

  it.skipIf(!dockerCompose)("the two files together pass `docker-compose config -q`", async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        "docker-compose",
        ["-f", composeFile, "-f", secureFile, "config", "-q"],
        { timeout: 20_000 },
        (error, _o, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
    });
    expect(result.code, result.stderr).toBe(0);
  });
});

describe("the compose cluster, run as local processes", () => {
  let rootDir = "";
  const running: { name: string; child: ChildProcess; exited: Promise<number | null>; log: string }[] = [];
  /** "service:containerPort" → the free port used here instead. */
  const portMap = new Map<string, number>();
  const envs = new Map<string, Record<string, string>>();
  let brook: Brook;

  const mapped = (service: string, port: string | number): number => {
    const found = portMap.get(`${service}:${port}`);
    if (found === undefined) throw new Error(`${service} does not listen on port ${port} in ${composeFile}`);
    return found;
  };

  /** One service's environment for a local process: host names and ports as explained at the top. */
  function localEnv(name: string, env: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(env)) {
      if (key === "BROOK_HOST") out[key] = local;
      else if (key === "BROOK_DATA_DIR") out[key] = join(rootDir, name, "data");
      // Docker mounts a secret at /run/secrets/<name>; here it is a file of the same name in rootDir.
      else if (value.startsWith("/run/secrets/")) out[key] = join(rootDir, "secrets", value.slice(13));
      else if (/^BROOK_[A-Z]+_PORT$/.test(key)) out[key] = String(mapped(name, value));
      else if (serviceNames.has(value)) out[key] = local;
      else {
        // host:port of a service anywhere in the value (the quorum voters).
        out[key] = value.replace(/([A-Za-z0-9_.-]+):(\d+)/g, (match, host: string, port: string) =>
          serviceNames.has(host) ? `${local}:${mapped(host, port)}` : match,
        );
      }
    }
    return out;
  }

  /** The service's healthcheck, run as Docker would run it inside the container. */
  function healthy(name: string): Promise<boolean> {
    const test = nodes.find((n) => n.name === name)?.service.healthcheck?.test ?? [];
    const env = { ...process.env, ...envs.get(name) };
    const [kind, ...rest] = test;
    const [file, args] = kind === "CMD-SHELL" ? ["sh", ["-c", rest.join(" ")]] : [rest[0], rest.slice(1)];
    // `node` in the image is this Node here.
    const executable = file === "node" ? process.execPath : file;
    return new Promise((resolve) => {
      execFile(executable, args, { env, timeout: 5_000 }, (error) => resolve(!error));
    });
  }

  beforeAll(async () => {
    rootDir = mkdtempSync(join(tmpdir(), "brook-compose-"));
    // What `npx brook cluster secret > deploy/cluster.secret` makes before the first `up`.
    mkdirSync(join(rootDir, "secrets"));
    for (const secret of Object.keys(compose.secrets ?? {})) {
      writeFileSync(join(rootDir, "secrets", secret), newClusterSecret(), { mode: 0o600 });
    }
    for (const { name, env } of nodes) {
      for (const key of [
        "BROOK_BROKER_PORT",
        "BROOK_CONTROLLER_PORT",
        "BROOK_KAFKA_PORT",
        "BROOK_HTTP_PORT",
      ]) {
        portMap.set(`${name}:${env[key]}`, await getPort({ host: local }));
      }
    }
    // Inherit PATH and the like, but no BROOK_* from the caller: the file is the whole configuration.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("BROOK_")),
    );
    for (const { name, service, env } of nodes) {
      const localized = localEnv(name, env);
      envs.set(name, localized);
      mkdirSync(localized.BROOK_DATA_DIR, { recursive: true });
      const log = join(rootDir, name, "node.log");
      const out = createWriteStream(log);
      const [command, ...args] = service.command ?? [];
      expect(command).toBe("brook");
      const child = spawn(process.execPath, [brookBin, ...args], {
        env: { ...inherited, ...localized },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      running.push({ name, child, exited, log });
    }
    // Ready as the compose healthcheck says (/readyz), on every node.
    await waitFor(
      "every compose service's healthcheck to pass",
      25_000,
      async () => {
        const dead = running.filter((r) => r.child.exitCode !== null);
        if (dead.length > 0) {
          throw new Error(
            `${dead.map((r) => r.name).join(", ")} exited during start-up:\n${dead.map((r) => readFileSync(r.log, "utf8").slice(-2_000)).join("\n")}`,
          );
        }
        const checks = await Promise.all(nodes.map(({ name }) => healthy(name)));
        return checks.every(Boolean) ? true : undefined;
      },
      200,
    );
    brook = new Brook({
      brokers: nodes.map(({ name, env }) => `${local}:${mapped(name, env.BROOK_BROKER_PORT)}`),
    });
  }, 30_000);

  afterAll(async () => {
    for (const { child } of running)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(running.map((r) => r.exited));
    if (rootDir !== "") rmSync(rootDir, { recursive: true, force: true });
  });

  it("serves a client: every broker in service at its advertised addresses, a topic produced to and read back", async () => {
    const admin = brook.admin();
    const status = await admin.describeCluster();
    expect(
      status.brokers.map((b) => [b.id, `${b.host}:${b.port}`, `${b.kafkaHost}:${b.kafkaPort}`, b.state]),
    ).toEqual(
      nodes.map(({ name, env }) => [
        Number(env.BROOK_NODE_ID),
        `${local}:${mapped(name, env.BROOK_BROKER_PORT)}`,
        `${local}:${mapped(name, env.BROOK_KAFKA_PORT)}`,
        "alive",
      ]),
    );
    expect(status.controllers.filter((c) => c.leader)).toHaveLength(1);
    expect(status.clusterId).toBe(nodes[0].env.BROOK_CLUSTER_ID);

    await admin.createTopics({ topics: [{ topic: "compose", numPartitions: 3, replicationFactor: 3 }] });
    const producer = brook.producer();
    await producer.send({ topic: "compose", messages: [{ key: "k", value: "hello from compose" }] });
    await producer.close();
    const [message] = await readAll(brook, "compose", 1);
    expect(message?.value?.toString()).toBe("hello from compose");
    await admin.close();
  });

  it("stops every node cleanly on SIGTERM (the image's STOPSIGNAL), by PID", async () => {
    for (const { child } of running) process.kill(child.pid as number, "SIGTERM");
    // Within compose's stop_grace_period, and well within this test's time.
    const codes = await Promise.race([
      Promise.all(running.map((r) => r.exited)),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("a node did not exit within 15 s of SIGTERM")), 15_000),
      ),
    ]);
    expect(codes).toEqual(running.map(() => 0));
  });
});
