// The PostgreSQL connectors: postgres-sink (upserts records into tables) and postgres-source (reads new
// rows of tables or a query), after Kafka Connect's JDBC connectors.

export { postgresSink } from "./postgres-sink.js";
export { postgresSource } from "./postgres-source.js";
