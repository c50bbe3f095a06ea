// Raw gRPC calls for end-to-end tests that must send what the SDK never would.
import { readFileSync } from "node:fs";
import {
  type ChannelSecurity,
  createBrokerClient,
  createControllerClient,
  fromServiceError,
  type MetadataResponse__Output,
} from "@brook/protocol";
import { clusterSecretKey } from "@brook/security";

export type Call = <Res>(method: string, request: unknown) => Promise<Res>;

interface Closable {
  close(): void;
}

function raw(client: Closable): { call: Call; close(): void } {
  const call: Call = (method, request) =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method].bind(client);
      fn(
        request,
        { deadline: Date.now() + 10_000 },
        (error: Parameters<typeof fromServiceError>[0] | null, response: unknown) =>
          error ? reject(fromServiceError(error)) : resolve(response as never),
      );
    });
  return { call, close: () => client.close() };
}

/** Who a raw client calls as: nobody (a client), or node `nodeId` holding the cluster secret. */
export interface AsNode {
  readonly nodeId: number;
  readonly clusterSecretFile: string;
}

/** As a node (holding the cluster secret), or with a channel's security as given (TLS, interceptors). */
export type Who = AsNode | ChannelSecurity;

function securityOf(who: Who | undefined): ChannelSecurity {
  if (who === undefined) return {};
  if (!("clusterSecretFile" in who)) return who;
  return {
    node: { nodeId: who.nodeId, key: clusterSecretKey(readFileSync(who.clusterSecretFile, "utf8")) },
  };
}

export function rawBroker(address: string, who?: Who): { call: Call; close(): void } {
  return raw(createBrokerClient(address, securityOf(who)));
}

/** The Controller service, on a node's controller port. */
export function rawController(address: string, who?: Who): { call: Call; close(): void } {
  return raw(createControllerClient(address, securityOf(who)));
}

/** One Broker call on a node; undefined when it fails (the node may be dead or electing). */
export async function tryBrokerCall<Res>(
  node: { brokerPort: number; host?: string },
  method: string,
  request: unknown,
  who?: Who,
): Promise<Res | undefined> {
  const broker = rawBroker(`${node.host ?? "127.0.0.1"}:${node.brokerPort}`, who);
  try {
    return await broker.call<Res>(method, request);
  } catch {
    return undefined;
  } finally {
    broker.close();
  }
}

/** A node's Metadata for every topic; undefined when it does not answer. */
export function tryMetadata(node: {
  brokerPort: number;
  host?: string;
}): Promise<MetadataResponse__Output | undefined> {
  return tryMetadataAs(node, undefined);
}

/** The same, as `who` (a secured cluster needs its caller to log in). */
export function tryMetadataAs(
  node: { brokerPort: number; host?: string },
  who: Who | undefined,
): Promise<MetadataResponse__Output | undefined> {
  return tryBrokerCall<MetadataResponse__Output>(node, "Metadata", { topics: [] }, who);
}
