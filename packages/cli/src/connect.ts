// Options every client command shares, and the SDK connection they make: where the brokers are, how long
// a command may wait for them, and how the SDK's logs reach the person at the terminal.

import { readFileSync } from "node:fs";
import { type Admin, Brook, type BrookConfig, checkBrokerAddresses, defaultRetryPolicy } from "@brook/client";
import { BrookError } from "@brook/protocol";
import { cliLogger } from "./logging.js";

/**
 * The three brokers `make up` starts, first one first: with a node of a
 * local cluster down (a drill, a crash), commands still find the others.
 */
export const defaultBootstrap = "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292";

export const timeoutDefaults = {
  /**
   * A request-and-answer command (topic, group, cluster) fails after this long without finishing: a few
   * seconds, so a cluster that is down is reported at once, yet long enough to ride out a leader or
   * controller failover (about 1.5 s).
   */
  adminMs: 5_000,
  /**
   * A long-running command (consume, produce, bench, drill) stops after this long without an answer from
   * any broker: longer than a node's restart, shorter than anyone waits in silence.
   */
  unreachableMs: 15_000,
} as const;

/** How much later than --timeout a command is cut off if the SDK has not given up by itself. */
const deadlineGraceMs = 2_000;
/** An admin command retries quickly: its --timeout, not a backoff, bounds how long it waits. */
const adminRetryTimeMsMax = 1_000;

export interface GlobalOptions {
  bootstrap?: string;
  timeout?: number;
  verbose?: true;
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  saslUser?: string;
  saslPasswordFile?: string;
  saslMechanism?: string;
  clusterSecretFile?: string;
}

/**
 * TLS and SASL for the SDK from the global options, else their BROOK_* variables (the same names the
 * nodes use for the CA and a certificate): --tls-ca-file turns TLS on; --sasl-user turns SASL on, with the
 * password from --sasl-password-file, BROOK_PASSWORD_FILE or BROOK_PASSWORD.
 */
export function securityConfig(options: GlobalOptions): Pick<BrookConfig, "ssl" | "sasl" | "clusterSecret"> {
  const env = process.env;
  const secretFile = options.clusterSecretFile ?? env.BROOK_CLUSTER_SECRET_FILE;
  const clusterSecret = secretFile === undefined ? undefined : readText(secretFile, "--cluster-secret-file");
  const ca = options.tlsCaFile ?? env.BROOK_TLS_CA_FILE;
  const cert = options.tlsCertFile ?? env.BROOK_TLS_CERT_FILE;
  const key = options.tlsKeyFile ?? env.BROOK_TLS_KEY_FILE;
  const user = options.saslUser ?? env.BROOK_USER;
  const ssl =
    ca === undefined ? undefined : { ca: readText(ca, "--tls-ca-file"), ...clientCertificate(cert, key) };
  if (user === undefined) return { ssl, clusterSecret };
  const mechanism = (options.saslMechanism ?? env.BROOK_SASL_MECHANISM ?? "scram-sha-256").toLowerCase();
  if (mechanism !== "scram-sha-256" && mechanism !== "scram-sha-512") {
    throw new BrookError(
      "INVALID_CONFIG",
      `--sasl-mechanism ${mechanism}: use scram-sha-256 or scram-sha-512`,
    );
  }
  return { ssl, clusterSecret, sasl: { mechanism, username: user, password: password(options) } };
}

function clientCertificate(
  cert: string | undefined,
  key: string | undefined,
): { cert?: string; key?: string } {
  if (cert === undefined && key === undefined) return {};
  if (cert === undefined || key === undefined) {
    throw new BrookError(
      "INVALID_CONFIG",
      "a client certificate needs both --tls-cert-file and --tls-key-file",
    );
  }
  return { cert: readText(cert, "--tls-cert-file"), key: readText(key, "--tls-key-file") };
}

function password(options: GlobalOptions): string {
  const file = options.saslPasswordFile ?? process.env.BROOK_PASSWORD_FILE;
  if (file !== undefined) return readText(file, "--sasl-password-file").replace(/\r?\n$/, "");
  const value = process.env.BROOK_PASSWORD;
  if (value !== undefined) return value;
  throw new BrookError(
    "INVALID_CONFIG",
    "--user needs a password: --password-file, BROOK_PASSWORD_FILE or BROOK_PASSWORD",
  );
}

function readText(path: string, option: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new BrookError("INVALID_CONFIG", `${option} ${path}: ${(error as Error).message}`);
  }
}

/** Bootstrap servers from --bootstrap, else BROOK_BOOTSTRAP, else the local cluster's three brokers. */
export function bootstrapServers(options: GlobalOptions): string[] {
  const value = options.bootstrap ?? process.env.BROOK_BOOTSTRAP ?? defaultBootstrap;
  const source =
    options.bootstrap !== undefined ? "--bootstrap" : process.env.BROOK_BOOTSTRAP ? "BROOK_BOOTSTRAP" : "";
  return serverList(value, source);
}

/**
 * A comma-separated host:port list, checked as the SDK checks bootstrap addresses so that a typo is
 * refused before anything else happens; the error names where the list came from (`source`).
 */
export function serverList(value: string, source: string): string[] {
  const servers = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  try {
    checkBrokerAddresses(servers);
  } catch (error) {
    if (error instanceof BrookError && source !== "") {
      throw new BrookError(error.code, `${source}: ${error.detail}`);
    }
    throw error;
  }
  return servers;
}

/** What commands need of a commander sub-command, whatever its arguments and options. */
export interface AnyCommand {
  optsWithGlobals(): object;
}

export function globalOptions(command: AnyCommand): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/** SDK settings for a command: its brokers, logger, and when it stops waiting for a cluster that is gone. */
export function clientConfig(command: AnyCommand, kind: "admin" | "long-running"): BrookConfig {
  const options = globalOptions(command);
  const base = {
    brokers: bootstrapServers(options),
    clientId: "brook-cli",
    logger: cliLogger(options),
    ...securityConfig(options),
  };
  if (kind === "long-running") {
    const unreachableTimeoutMs = options.timeout ?? timeoutDefaults.unreachableMs;
    // Enough retries to outlast --timeout, so that it (not a retry count) decides when to give up.
    const retries = Math.ceil(unreachableTimeoutMs / defaultRetryPolicy.maxRetryTimeMs) + 5;
    return {
      ...base,
      unreachableTimeoutMs,
      retry: { retries: Math.max(defaultRetryPolicy.retries, retries) },
    };
  }
  const timeoutMs = options.timeout ?? timeoutDefaults.adminMs;
  return {
    ...base,
    unreachableTimeoutMs: timeoutMs,
    requestTimeoutMs: timeoutMs,
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTimeMs: adminRetryTimeMsMax },
  };
}

/** A client for a long-running command (consume, produce, bench): it stops once no broker answers. */
export function connect(command: AnyCommand): Brook {
  return new Brook(clientConfig(command, "long-running"));
}

/**
 * Runs `action` with an admin client and always closes it. The whole command has --timeout: the SDK
 * gives up when no broker answered for that long, and a command still unfinished a little later (a
 * cluster that answers but cannot complete it) fails with REQUEST_TIMED_OUT.
 */
export async function withAdmin<T>(command: AnyCommand, action: (admin: Admin) => Promise<T>): Promise<T> {
  const config = clientConfig(command, "admin");
  const admin = new Brook(config).admin();
  const timeoutMs = config.requestTimeoutMs ?? timeoutDefaults.adminMs;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BrookError(
            "REQUEST_TIMED_OUT",
            `the command did not finish within ${timeoutMs} ms (--timeout); the cluster at ${config.brokers.join(",")} answers but did not complete it`,
          ),
        ),
      timeoutMs + deadlineGraceMs,
    );
  });
  try {
    return await Promise.race([action(admin), deadline]);
  } finally {
    clearTimeout(timer);
    await admin.close();
  }
}

export function parseInteger(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new Error(`${name} must be a whole number ≥ ${min}, got '${value}'`);
    }
    return n;
  };
}
