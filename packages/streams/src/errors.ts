// Errors a streams application can meet: a topology that cannot run as built, and bytes a serde refuses.

/** The topology or its configuration cannot run: a missing serde, an unknown store or topic, a bad window. */
export class TopologyError extends Error {
  override readonly name = "TopologyError";
}

/** A serde could not turn bytes into a value (or a value into bytes). */
export class SerializationError extends Error {
  override readonly name = "SerializationError";
}
