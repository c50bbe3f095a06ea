// TLS material for a node's listeners (gRPC broker and controller ports, the
// Kafka listener, HTTP), reloaded when the files change so that certificates
// can be rotated (cert-manager, `mv`, a re-run of scripts/gen-tls.sh) without
// a restart. Every load is validated before use: a node refuses to start on
// bad files, and a bad replacement keeps the material it has and says why,
// instead of taking its listeners down.

import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import {
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
  type SecureContextOptions,
  type TLSSocket,
  type TlsOptions,
  type Server as TlsServer,
} from "node:tls";
import { BrookError } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";

export type ClientAuth = "none" | "requested" | "required";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** The CA that signs peers' certificates: needed to verify client certificates and to dial other nodes. */
  caFile?: string;
  /** Whether a server asks for a client certificate ("requested") or refuses connections without a valid one ("required"). */
  clientAuth: ClientAuth;
}

/** A TLS file that is missing, unreadable or does not fit the others; `file` names it. */
export class TlsFileError extends BrookError {
  readonly file: string;

  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super("INVALID_CONFIG", `TLS file ${file} ${detail}`, options);
    this.name = "TlsFileError";
    this.file = file;
  }
}

/** One validated load of the files. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  /** The node's own (leaf) certificate, for logs and metrics: serialNumber, subject, validTo. */
  readonly certificate: X509Certificate;
  readonly options: SecureContextOptions;
  readonly context: SecureContext;
}

export interface ReloadingTlsOptions {
  /** How often the files are checked for changes; 0 checks only when check() is called (e.g. on SIGHUP). */
  intervalMs?: number;
  /** A reload that failed (a TlsFileError; the old material stays in use). Defaults to a process warning. */
  onError?: (error: Error) => void;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readTlsFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const detail = code === "ENOENT" ? "does not exist" : `cannot be read (${errorMessage(error)})`;
    throw new TlsFileError(file, detail, { cause: error });
  }
}

function parseCertificate(file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new TlsFileError(file, `does not hold a PEM certificate (${errorMessage(error)})`, {
      cause: error,
    });
  }
}

function parsePrivateKey(file: string, pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new TlsFileError(file, `does not hold a PEM private key (${errorMessage(error)})`, {
      cause: error,
    });
  }
}

function checkKeyMatches(files: TlsFiles, certificate: X509Certificate, key: KeyObject): void {
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(key);
  } catch {
    // A key of another type than the certificate's can throw instead of answering false.
  }
  if (!matches)
    throw new TlsFileError(files.keyFile, `is not the private key of the certificate in ${files.certFile}`);
}

function requireCa(files: TlsFiles, clientAuth: ClientAuth): void {
  if (clientAuth !== "none" && files.caFile === undefined) {
    throw new BrookError("INVALID_CONFIG", `TLS client authentication "${clientAuth}" needs a CA file`);
  }
}

/** Reads and validates the files once: every file readable, the key the certificate's, the CA a certificate. */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = readTlsFile(files.certFile);
  const key = readTlsFile(files.keyFile);
  const ca = files.caFile === undefined ? undefined : readTlsFile(files.caFile);
  const certificate = parseCertificate(files.certFile, cert);
  checkKeyMatches(files, certificate, parsePrivateKey(files.keyFile, key));
  if (files.caFile !== undefined && ca !== undefined) parseCertificate(files.caFile, ca);
  const options: SecureContextOptions = { cert, key, ca };
  try {
    return { cert, key, ca, certificate, options, context: createSecureContext(options) };
  } catch (error) {
    throw new TlsFileError(files.certFile, `cannot be used for TLS (${errorMessage(error)})`, {
      cause: error,
    });
  }
}

/**
 * What the files look like on disk. Compared between checks instead of using fs.watch/watchFile
 * events: inode and times change when a file is replaced by rename (cert-manager, `mv`) or a
 * symlink is swapped (Kubernetes secret volumes), which a watch on the old inode would miss.
 */
function fileSignature(files: TlsFiles): string {
  const paths = [files.certFile, files.keyFile, files.caFile].filter((path) => path !== undefined);
  return paths
    .map((path) => {
      try {
        const { ino, size, mtimeMs, ctimeMs } = statSync(path);
        return `${path}:${ino}:${size}:${mtimeMs}:${ctimeMs}`;
      } catch (error) {
        return `${path}:${(error as NodeJS.ErrnoException).code}`;
      }
    })
    .join("|");
}

/**
 * The current TLS material of a node, reloaded when its files change. One instance can serve every
 * listener of the node (the helpers below take the client-auth policy per listener).
 */
export class ReloadingTls {
  readonly files: TlsFiles;
  #material: TlsMaterial;
  /** The signature of the files #material was loaded from. */
  #loaded: string;
  /** A new signature seen once: loaded when it is still the same at the next check, so that a
   * rotation writing the certificate and the key one after the other is read when both are done. */
  #pending: string | undefined;
  /** A signature that failed to load: reported once, not at every check. */
  #failed: string | undefined;
  #listeners = new Set<(material: TlsMaterial) => void>();
  #timer: NodeJS.Timeout | undefined;
  #onError: (error: Error) => void;

  /** Throws TlsFileError (or INVALID_CONFIG for a client-auth policy without a CA) if the files are not usable. */
  constructor(files: TlsFiles, options: ReloadingTlsOptions = {}) {
    requireCa(files, files.clientAuth);
    this.files = files;
    this.#onError = options.onError ?? ((error) => process.emitWarning(error));
    // The signature first: a change while the files are read shows as a change at the next check.
    this.#loaded = fileSignature(files);
    this.#material = loadTlsMaterial(files);
    const intervalMs = options.intervalMs ?? 1000;
    if (intervalMs > 0) {
      this.#timer = setInterval(() => this.check(), intervalMs);
      this.#timer.unref();
    }
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  get options(): SecureContextOptions {
    return this.#material.options;
  }

  get context(): SecureContext {
    return this.#material.context;
  }

  /** Calls listener with each newly loaded material; returns a function that stops it. */
  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Looks at the files once and reloads them if they changed and have settled. Returns whether it reloaded. */
  check(): boolean {
    const signature = fileSignature(this.files);
    if (signature === this.#loaded || signature === this.#failed) {
      this.#pending = undefined;
      return false;
    }
    if (signature !== this.#pending) {
      this.#pending = signature;
      return false;
    }
    this.#pending = undefined;
    try {
      this.#material = loadTlsMaterial(this.files);
    } catch (error) {
      this.#failed = signature;
      this.#onError(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    this.#loaded = signature;
    this.#failed = undefined;
    this.#notify();
    return true;
  }

  #notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener(this.#material);
      } catch (error) {
        this.#onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }
}

/**
 * Options for tls.createServer, https.createServer or http2.createSecureServer: the current material
 * and the client-certificate policy. Pair with followReloads so later connections get reloaded material.
 */
export function tlsServerOptions(
  tls: ReloadingTls,
  clientAuth: ClientAuth = tls.files.clientAuth,
): TlsOptions {
  requireCa(tls.files, clientAuth);
  return {
    ...tls.options,
    requestCert: clientAuth !== "none",
    rejectUnauthorized: clientAuth === "required",
  };
}

/**
 * Gives the server each reloaded material through setSecureContext, which new connections use
 * (open ones keep theirs). Not an SNICallback: clients that dial an IP address send no server name,
 * so the callback would not run for them. setSecureContext rebuilds the whole context from what it is
 * given, so context settings passed to createServer (minVersion, ciphers...) must be repeated in
 * contextOptions. Stops when the server closes; returns a function that stops.
 */
export function followReloads(
  server: TlsServer,
  tls: ReloadingTls,
  contextOptions: SecureContextOptions = {},
): () => void {
  const stop = tls.onChange((material) =>
    server.setSecureContext({ ...contextOptions, ...material.options }),
  );
  server.once("close", stop);
  return stop;
}

type Listener<U> = (update: U | null) => void;

/** Hands listeners the material now and after each reload: one kind of grpc-js certificate update. */
function updatesFor<U>(tls: ReloadingTls, toUpdate: (material: TlsMaterial) => U | null) {
  const subscriptions = new Map<Listener<U>, () => void>();
  return {
    add(listener: Listener<U>): void {
      subscriptions.set(
        listener,
        tls.onChange((material) => listener(toUpdate(material))),
      );
      // Later, not now: grpc-js's server registers the watcher that applies updates only after it
      // adds this listener, so an update delivered synchronously would be lost.
      process.nextTick(() => {
        if (subscriptions.has(listener)) listener(toUpdate(tls.material));
      });
    },
    remove(listener: Listener<U>): void {
      subscriptions.get(listener)?.();
      subscriptions.delete(listener);
    },
  };
}

/**
 * The material as a grpc-js certificate provider. grpc-js has its own FileWatcherCertificateProvider,
 * but it passes whatever it reads on: a key that does not match makes the server drop every new
 * connection until the files are fixed, and before its first (asynchronous) read the server drops
 * connections too. This one only ever hands over validated material, and has it from the start.
 */
export function grpcCertificateProvider(tls: ReloadingTls): grpc.experimental.CertificateProvider {
  const identity = updatesFor(tls, (material) => ({ certificate: material.cert, privateKey: material.key }));
  const ca = updatesFor(tls, (material) =>
    material.ca === undefined ? null : { caCertificate: material.ca },
  );
  return {
    addIdentityCertificateListener: identity.add,
    removeIdentityCertificateListener: identity.remove,
    addCaCertificateListener: ca.add,
    removeCaCertificateListener: ca.remove,
  };
}

/** Credentials for grpc.Server#bindAsync that follow reloads (the server calls setSecureContext itself). */
export function grpcServerCredentials(
  tls: ReloadingTls,
  clientAuth: ClientAuth = tls.files.clientAuth,
): grpc.ServerCredentials {
  requireCa(tls.files, clientAuth);
  const provider = grpcCertificateProvider(tls);
  // grpc-js 1.14 declares (caCertificateProvider, identityCertificateProvider, ...) but uses the first
  // as the identity provider and the second as the CA provider; a CA provider makes it request client
  // certificates, and requireClientCertificate makes it refuse connections without a valid one.
  return grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    clientAuth === "none" ? null : provider,
    clientAuth === "required",
  );
}

/**
 * Credentials for dialing other nodes: the cluster CA verifies the server, and the node's own
 * certificate is its client certificate; each new connection uses the latest material. (A one-off
 * client, e.g. a CLI, can use grpc.credentials.createSsl(ca, key, cert) instead.)
 *
 * The server name checked is the host in the target: "127.0.0.1:9092" is checked against the
 * certificate's IP SANs (Node warns once, DEP0123, that the name sent for SNI is an IP address), a host
 * name against its DNS SANs. The node certificates carry localhost, brook-<id>, brook-node-<id> and
 * 127.0.0.1; to dial some other name or address, set the channel option "grpc.ssl_target_name_override"
 * to one of those, or pass verify.checkServerIdentity (e.g. to require CN brook-node-<expected id>).
 */
export function grpcChannelCredentials(
  tls: ReloadingTls,
  verify?: grpc.VerifyOptions,
): grpc.ChannelCredentials {
  if (tls.files.caFile === undefined) {
    throw new BrookError("INVALID_CONFIG", "dialing other nodes over TLS needs a CA file");
  }
  const provider = grpcCertificateProvider(tls);
  return grpc.experimental.createCertificateProviderChannelCredentials(provider, provider, verify);
}

/** The subject CN, if the certificate has exactly one (several would make the name ambiguous). */
function commonName(certificate: PeerCertificate | undefined): string | undefined {
  const cn: unknown = certificate?.subject?.CN;
  return typeof cn === "string" && cn !== "" ? cn : undefined;
}

/** What grpc-js 1.14's server calls return from getAuthContext() (the type is not exported). */
export interface GrpcAuthContext {
  transportSecurityType?: string;
  sslPeerCertificate?: PeerCertificate;
}

/**
 * The CN of the client certificate a gRPC call came with, if the connection verified one against the
 * CA; otherwise undefined. grpc-js answers {} for a plaintext or unverified connection and
 * { transportSecurityType: "ssl", sslPeerCertificate } for a verified one.
 */
export function grpcPeerName(call: { getAuthContext(): GrpcAuthContext | null }): string | undefined {
  return commonName(call.getAuthContext()?.sslPeerCertificate);
}

/** The CN of a TLS socket's client certificate if it was verified against the CA; otherwise undefined. */
export function tlsPeerName(socket: TLSSocket): string | undefined {
  // "requested" accepts certificates it could not verify: those name no one.
  if (!socket.authorized) return undefined;
  return commonName(socket.getPeerCertificate());
}
