// Public API of @brook/kafka: the Kafka wire-protocol listener that serves Kafka clients from a broker.

export {};
