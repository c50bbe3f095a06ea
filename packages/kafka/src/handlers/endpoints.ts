// Where Kafka clients reach each broker: the Kafka host and port it registered (Kafka's
// advertised.listeners), not its gRPC address.

import type { MetadataImage } from "@brook/metadata";

export interface KafkaEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * The broker a Kafka client sends its "controller" requests to (admin calls, InitProducerId): the active
 * controller when it is a broker in service, else the lowest-id broker in service, as KRaft-mode Kafka
 * names a live broker rather than a controller clients cannot reach. -1 only when no broker is.
 */
export function controllerIdForClients(image: MetadataImage, activeControllerId: number): number {
  const brokers = kafkaBrokers(image);
  if (brokers.some(({ id }) => id === activeControllerId)) return activeControllerId;
  return brokers[0]?.id ?? -1;
}

/** The brokers a Kafka client may use: in service (not fenced) and listening for Kafka, by id. */
export function kafkaBrokers(
  image: MetadataImage,
): { id: number; endpoint: KafkaEndpoint; rack: string | null }[] {
  const brokers = [];
  for (const broker of [...image.brokers.values()].sort((a, b) => a.brokerId - b.brokerId)) {
    const endpoint = broker.kafkaEndpoint; // absent when its Kafka listener is off
    if (broker.fenced || endpoint === undefined) continue;
    brokers.push({ id: broker.brokerId, endpoint, rack: broker.rack ?? null });
  }
  return brokers;
}
