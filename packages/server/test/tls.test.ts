// Rule: scripts/gen-tls.sh issues a CA, node and user certificates; ReloadingTls refuses unusable
// files naming the file; gRPC, tls and https servers built from it authenticate clients by CA-signed
// certificate (the CN is the peer's name) and serve a replaced certificate to new connections without
// a restart, while a bad replacement keeps the old one and is reported through onError.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFileSync, cpSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import {
  createServer as createHttpsServer,
  type Server as HttpsServer,
  request as httpsRequest,
} from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from "node:tls";
import { fileURLToPath } from "node:url";
import { BrookError } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  followReloads,
  grpcChannelCredentials,
  grpcPeerName,
  grpcServerCredentials,
  ReloadingTls,
  TlsFileError,
  type TlsFiles,
  type TlsMaterial,
  tlsPeerName,
  tlsServerOptions,
} from "../src/tls.js";

const script = fileURLToPath(new URL("../../../scripts/gen-tls.sh", import.meta.url));
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

const cleanups: (() => unknown)[] = [];
let issued: string;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "brook-tls-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function genTls(dir: string, ...args: string[]): string {
  return execFileSync("bash", [script, dir, ...args], { encoding: "utf8" });
}

beforeAll(() => {
  issued = mkdtempSync(join(tmpdir(), "brook-tls-issued-"));
  genTls(issued, "2", "admin");
});

afterAll(() => rmSync(issued, { recursive: true, force: true }));

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const read = (name: string, dir = issued): Buffer => readFileSync(join(dir, name));
const certificate = (name: string, dir = issued) => new X509Certificate(read(`${name}.crt`, dir));

/** A copy of the issued material in a directory of its own, so a test can replace files in it. */
function servedDir(): string {
  const dir = tempDir();
  cpSync(issued, dir, { recursive: true });
  return dir;
}

function nodeFiles(dir: string, clientAuth: TlsFiles["clientAuth"] = "required", id = 1): TlsFiles {
  return {
    certFile: join(dir, `node-${id}.crt`),
    keyFile: join(dir, `node-${id}.key`),
    caFile: join(dir, "ca.crt"),
    clientAuth,
  };
}

function reloading(files: TlsFiles, onError: (error: Error) => void = () => undefined): ReloadingTls {
  const tls = new ReloadingTls(files, { intervalMs: 10, onError });
  cleanups.push(() => tls.close());
  return tls;
}

function nextReload(tls: ReloadingTls): Promise<TlsMaterial> {
  return new Promise((resolve) => {
    const stop = tls.onChange((material) => {
      stop();
      resolve(material);
    });
  });
}

/** Issues node 1 a new key and certificate from the same CA and moves them over the served ones, as `mv` and cert-manager do. */
function rotateNode1(served: string): X509Certificate {
  const scratch = tempDir();
  cpSync(issued, scratch, { recursive: true });
  rmSync(join(scratch, "node-1.crt"));
  rmSync(join(scratch, "node-1.key"));
  genTls(scratch, "1");
  for (const name of ["node-1.key", "node-1.crt"]) {
    copyFileSync(join(scratch, name), join(served, `${name}.new`));
    renameSync(join(served, `${name}.new`), join(served, name));
  }
  return certificate("node-1", scratch);
}

/** The serial number of the certificate a TLS server at port presents to a new connection (as the admin user). */
function servedSerial(port: number, alpn?: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: "127.0.0.1",
        port,
        ca: read("ca.crt"),
        key: read("admin.key"),
        cert: read("admin.crt"),
        ALPNProtocols: alpn,
      },
      () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.end();
      },
    );
    socket.on("error", reject);
  });
}

describe("gen-tls.sh", () => {
  it("issues a CA, node certificates for every name a node is dialed by, and user client certificates", () => {
    const ca = certificate("ca");
    expect(ca.ca).toBe(true);
    for (const id of [1, 2]) {
      const node = certificate(`node-${id}`);
      expect(node.subject).toBe(`CN=brook-node-${id}`);
      expect(node.subjectAltName).toBe(
        `DNS:localhost, DNS:brook-${id}, DNS:brook-node-${id}, DNS:node-${id}, IP Address:127.0.0.1`,
      );
      expect(node.keyUsage).toEqual([SERVER_AUTH, CLIENT_AUTH]);
      expect(node.verify(ca.publicKey)).toBe(true);
    }
    const admin = certificate("admin");
    expect(admin.subject).toBe("CN=admin");
    expect(admin.keyUsage).toEqual([CLIENT_AUTH]);
    expect(admin.verify(ca.publicKey)).toBe(true);
    for (const key of ["ca.key", "node-1.key", "node-2.key", "admin.key"]) {
      expect(statSync(join(issued, key)).mode & 0o777).toBe(0o600);
    }
  });

  it("keeps what exists and makes only what is missing", () => {
    const dir = servedDir();
    expect(genTls(dir, "2", "admin")).toBe("");
    expect(genTls(dir, "3", "admin", "bob")).toBe(
      [
        `made ${dir}/node-3.key`,
        `made ${dir}/node-3.crt`,
        `made ${dir}/bob.key`,
        `made ${dir}/bob.crt`,
        "",
      ].join("\n"),
    );
    expect(read("ca.crt", dir)).toEqual(read("ca.crt"));
    expect(certificate("node-3", dir).verify(certificate("ca").publicKey)).toBe(true);
  });
});

describe("ReloadingTls", () => {
  it("refuses files that are missing, not PEM, or a key that is not the certificate's, naming the file", () => {
    const dir = servedDir();
    const files = nodeFiles(dir);
    const failure = (broken: TlsFiles) => {
      try {
        new ReloadingTls(broken, { intervalMs: 0 }).close();
      } catch (error) {
        return error;
      }
      throw new Error("expected the files to be refused");
    };
    const missing = failure({ ...files, caFile: join(dir, "nope.crt") });
    expect(missing).toBeInstanceOf(TlsFileError);
    expect(missing).toMatchObject({ code: "INVALID_CONFIG", file: join(dir, "nope.crt") });
    expect(failure({ ...files, certFile: join(dir, "node-1.key") })).toMatchObject({
      file: files.certFile.replace(".crt", ".key"),
    });
    const mismatch = failure({ ...files, keyFile: join(dir, "node-2.key") });
    expect(mismatch).toMatchObject({ file: join(dir, "node-2.key") });
    expect((mismatch as Error).message).toContain("is not the private key of the certificate");
    const noCa = failure({ ...files, caFile: undefined });
    expect(noCa).toBeInstanceOf(BrookError);
    expect(noCa).toMatchObject({ code: "INVALID_CONFIG" });
  });

  it("waits for a change to settle, reloads it once, and reports a bad one once", () => {
    const dir = servedDir();
    const errors: Error[] = [];
    const tls = new ReloadingTls(nodeFiles(dir), { intervalMs: 0, onError: (error) => errors.push(error) });
    cleanups.push(() => tls.close());
    const first = tls.material.certificate.serialNumber;
    expect(tls.check()).toBe(false);
    const rotated = rotateNode1(dir);
    expect(tls.check()).toBe(false); // seen, not yet trusted to be complete
    expect(tls.check()).toBe(true);
    expect(tls.material.certificate.serialNumber).toBe(rotated.serialNumber);
    expect(rotated.serialNumber).not.toBe(first);
    copyFileSync(join(dir, "node-2.crt"), join(dir, "node-1.crt"));
    for (let i = 0; i < 5; i++) expect(tls.check()).toBe(false);
    expect(errors).toHaveLength(1);
    expect(tls.material.certificate.serialNumber).toBe(rotated.serialNumber);
  });
});

// A service with one method that answers with the caller's name as the server sees it.
const whoAmI: grpc.MethodDefinition<Buffer, Buffer> = {
  path: "/brook.test.Tls/WhoAmI",
  requestStream: false,
  responseStream: false,
  requestSerialize: (value) => value,
  requestDeserialize: (bytes) => bytes,
  responseSerialize: (value) => value,
  responseDeserialize: (bytes) => bytes,
};

async function grpcServer(credentials: grpc.ServerCredentials): Promise<number> {
  const server = new grpc.Server();
  server.addService(
    { WhoAmI: whoAmI },
    {
      WhoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback(null, Buffer.from(grpcPeerName(call) ?? "(nobody)")),
    },
  );
  cleanups.push(() => server.forceShutdown());
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (error, port) => (error ? reject(error) : resolve(port))),
  );
}

/** Calls WhoAmI on a new channel: the name the server saw, or the call's status code. */
function callWhoAmI(port: number, credentials: grpc.ChannelCredentials): Promise<string | grpc.status> {
  const client = new grpc.Client(`127.0.0.1:${port}`, credentials);
  return new Promise<string | grpc.status>((resolve) =>
    client.makeUnaryRequest(
      whoAmI.path,
      whoAmI.requestSerialize,
      whoAmI.responseDeserialize,
      Buffer.alloc(0),
      { deadline: Date.now() + 5000 },
      (error, response) => resolve(error ? error.code : String(response)),
    ),
  ).finally(() => client.close());
}

const adminCredentials = () =>
  grpc.credentials.createSsl(read("ca.crt"), read("admin.key"), read("admin.crt"));

describe("gRPC over TLS", () => {
  it("with required client certificates, names a CA-signed client by its CN and refuses one without a certificate", async () => {
    const port = await grpcServer(grpcServerCredentials(reloading(nodeFiles(servedDir()))));
    expect(await callWhoAmI(port, adminCredentials())).toBe("admin");
    const node2 = reloading(nodeFiles(servedDir(), "required", 2));
    expect(await callWhoAmI(port, grpcChannelCredentials(node2))).toBe("brook-node-2");
    expect(await callWhoAmI(port, grpc.credentials.createSsl(read("ca.crt")))).toBe(grpc.status.UNAVAILABLE);
  });

  it("with requested client certificates, accepts a client without one, naming no one", async () => {
    const port = await grpcServer(grpcServerCredentials(reloading(nodeFiles(servedDir(), "requested"))));
    expect(await callWhoAmI(port, adminCredentials())).toBe("admin");
    expect(await callWhoAmI(port, grpc.credentials.createSsl(read("ca.crt")))).toBe("(nobody)");
  });

  it("without client authentication, serves the node certificate and names no one", async () => {
    const port = await grpcServer(grpcServerCredentials(reloading(nodeFiles(servedDir(), "none"))));
    expect(await callWhoAmI(port, grpc.credentials.createSsl(read("ca.crt")))).toBe("(nobody)");
    expect(await callWhoAmI(port, adminCredentials())).toBe("(nobody)");
  });

  it("serves a replaced certificate to new connections, and keeps it when the replacement is bad", async () => {
    const dir = servedDir();
    const errors: Error[] = [];
    const tls = reloading(nodeFiles(dir), (error) => errors.push(error));
    const port = await grpcServer(grpcServerCredentials(tls));
    expect(await servedSerial(port, ["h2"])).toBe(certificate("node-1").serialNumber);

    const reloaded = nextReload(tls);
    const rotated = rotateNode1(dir);
    await reloaded;
    expect(await servedSerial(port, ["h2"])).toBe(rotated.serialNumber);
    expect(await callWhoAmI(port, adminCredentials())).toBe("admin");

    copyFileSync(join(dir, "node-2.crt"), join(dir, "node-1.crt"));
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toMatchObject({ name: "TlsFileError", file: join(dir, "node-1.key") });
    expect(await servedSerial(port, ["h2"])).toBe(rotated.serialNumber);
    expect(await callWhoAmI(port, adminCredentials())).toBe("admin");
  });
});

async function listen(server: TlsServer | HttpsServer): Promise<number> {
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

describe("tls and https servers", () => {
  it("a tls.Server names its client and serves a replaced certificate to new connections", async () => {
    const dir = servedDir();
    const errors: Error[] = [];
    const tls = reloading(nodeFiles(dir), (error) => errors.push(error));
    const server = createTlsServer(tlsServerOptions(tls), (socket: TLSSocket) => {
      socket.write(`${tlsPeerName(socket)}:`);
      socket.pipe(socket);
    });
    followReloads(server, tls);
    const port = await listen(server);

    const echo = await new Promise<string>((resolve, reject) => {
      const socket = connect({
        host: "127.0.0.1",
        port,
        ca: read("ca.crt"),
        key: read("admin.key"),
        cert: read("admin.crt"),
      });
      let received = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        received += chunk;
        if (received.endsWith("ping")) {
          resolve(received);
          socket.end();
        }
      });
      socket.on("error", reject);
      socket.write("ping");
    });
    expect(echo).toBe("admin:ping");

    const reloaded = nextReload(tls);
    const rotated = rotateNode1(dir);
    await reloaded;
    expect(await servedSerial(port)).toBe(rotated.serialNumber);

    copyFileSync(join(dir, "node-2.crt"), join(dir, "node-1.crt"));
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(await servedSerial(port)).toBe(rotated.serialNumber);
  });

  it("an https server without client authentication serves a replaced certificate to new connections", async () => {
    const dir = servedDir();
    const tls = reloading(nodeFiles(dir, "required"));
    // One ReloadingTls serves every listener; the policy is per listener (HTTP probes carry no certificate).
    const server = createHttpsServer(tlsServerOptions(tls, "none"), (_request, response) =>
      response.end("ok"),
    );
    followReloads(server, tls);
    const port = await listen(server);
    const get = () =>
      new Promise<{ body: string; serial: string }>((resolve, reject) => {
        const request = httpsRequest(
          { host: "127.0.0.1", port, path: "/healthz", ca: read("ca.crt"), agent: false },
          (response) => {
            const serial = (response.socket as TLSSocket).getPeerCertificate().serialNumber;
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              body += chunk;
            });
            response.on("end", () => resolve({ body, serial }));
          },
        );
        request.on("error", reject);
        request.end();
      });

    expect(await get()).toEqual({ body: "ok", serial: certificate("node-1").serialNumber });
    const reloaded = nextReload(tls);
    const rotated = rotateNode1(dir);
    await reloaded;
    expect(await get()).toEqual({ body: "ok", serial: rotated.serialNumber });
  });
});
