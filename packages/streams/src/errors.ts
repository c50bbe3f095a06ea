// Errors a streams application can meet: a topology that cannot run as built, and bytes a serde refuses.

/** The topology or its configuration cannot run: a missing serde, an unknown store or topic, a bad window. */
export class TopologyError extends Error {
  override readonly name = "TopologyError";
}

/** A serde could not turn bytes into a value (or a value into bytes). */
export class SerializationError extends Error {
  override readonly name = "SerializationError";
}

/**
 * A store cannot answer a query here now: a task of it on this instance is still restoring (or the
 * instance is not running). Kafka's InvalidStateStoreException; ask again shortly.
 */
export class InvalidStateStoreError extends Error {
  override readonly name = "InvalidStateStoreError";
}
