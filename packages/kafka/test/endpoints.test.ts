// Which brokers Kafka clients are told about, and which one they send "controller" requests to.
import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import { describe, expect, it } from "vitest";
import { controllerIdForClients, kafkaBrokers } from "../src/handlers/endpoints.js";

function imageOf(brokers: { id: number; kafka: boolean; fenced: boolean }[]): MetadataImage {
  const records: MetadataRecord[] = brokers.flatMap(({ id, kafka, fenced }): MetadataRecord[] => [
    {
      type: "broker-registration",
      brokerId: id,
      incarnationId: `i${id}`,
      host: "127.0.0.1",
      port: 9092 + id,
      ...(kafka && { kafkaEndpoint: { host: "127.0.0.1", port: 9094 + id } }),
    },
    ...(fenced ? [] : [{ type: "broker-unfence", brokerId: id, incarnationId: `i${id}` } as MetadataRecord]),
  ]);
  return applyRecords(MetadataImage.empty, records, 0);
}

describe("brokers for Kafka clients", () => {
  it("are the brokers in service that run a Kafka listener, by id", () => {
    const image = imageOf([
      { id: 3, kafka: true, fenced: false },
      { id: 1, kafka: true, fenced: false },
      { id: 2, kafka: true, fenced: true },
      { id: 4, kafka: false, fenced: false },
    ]);
    expect(kafkaBrokers(image).map(({ id, endpoint }) => [id, endpoint.port])).toEqual([
      [1, 9095],
      [3, 9097],
    ]);
  });

  it("name the active controller as the controller when it is one of them, else the lowest-id one", () => {
    const image = imageOf([
      { id: 1, kafka: true, fenced: true },
      { id: 2, kafka: true, fenced: false },
      { id: 3, kafka: true, fenced: false },
    ]);
    expect(controllerIdForClients(image, 3)).toBe(3);
    expect(controllerIdForClients(image, 1)).toBe(2); // fenced: clients could not reach it
    expect(controllerIdForClients(image, -1)).toBe(2); // mid-election: never -1 while a broker serves
    expect(controllerIdForClients(MetadataImage.empty, -1)).toBe(-1);
  });
});
