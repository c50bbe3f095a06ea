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

function securityOf(asNode: AsNode | undefined): ChannelSecurity {
  if (asNode === undefined) return {};
  return {
    node: { nodeId: asNode.nodeId, key: clusterSecretKey(readFileSync(asNode.clusterSecretFile, "utf8")) },
  };
}

export function rawBroker(address: string, asNode?: AsNode): { call: Call; close(): void } {
  return raw(createBrokerClient(address, securityOf(asNode)));
}

/** The Controller service, on a node's controller port. */
export function rawController(address: string, asNode?: AsNode): { call: Call; close(): void } {
  return raw(createControllerClient(address, securityOf(asNode)));
}

/** One Broker call on a node; undefined when it fails (the node may be dead or electing). */
export async function tryBrokerCall<Res>(
  node: { brokerPort: number },
  method: string,
  request: unknown,
): Promise<Res | undefined> {
  const broker = rawBroker(`127.0.0.1:${node.brokerPort}`);
  try {
    return await broker.call<Res>(method, request);
  } catch {
    return undefined;
  } finally {
    broker.close();
  }
}

/** A node's Metadata for every topic; undefined when it does not answer. */
export function tryMetadata(node: { brokerPort: number }): Promise<MetadataResponse__Output | undefined> {
  return tryBrokerCall<MetadataResponse__Output>(node, "Metadata", { topics: [] });
}
