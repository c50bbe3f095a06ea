// Raw gRPC calls for end-to-end tests that must send what the SDK never would.
import { type BrokerClient, createBrokerClient, fromServiceError } from "@brook/protocol";

export type Call = <Res>(method: string, request: unknown) => Promise<Res>;

export function rawBroker(address: string): { call: Call; close(): void } {
  const client: BrokerClient = createBrokerClient(address);
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
