// SQL text the Postgres connectors build: quoted identifiers and table names. Values never go into SQL
// text; they are always parameters ($1, $2, ...).

/** SQL text and the values of its $1, $2, ... parameters. */
export interface Statement {
  text: string;
  values: unknown[];
  /** The column each parameter goes to, repeating per row ($1 → [0], $n+1 → [0] again), for error messages. */
  columns?: string[];
}

/** Postgres cuts identifiers at 63 bytes (NAMEDATALEN - 1). */
const identifierBytesMax = 63;

/** An identifier in double quotes, any embedded quote doubled: safe for any name, case kept. */
export function quoteIdentifier(name: string): string {
  if (name === "" || name.includes("\0"))
    throw new Error(`not a valid SQL identifier: ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** A table name as configured, "table" or "schema.table", quoted part by part. */
export function quoteTableName(name: string): string {
  return splitTableName(name).map(quoteIdentifier).join(".");
}

/** "schema.table" → ["schema", "table"]; "table" → ["table"]. */
export function splitTableName(name: string): string[] {
  const dot = name.indexOf(".");
  return dot < 0 ? [name] : [name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * A name made safe as an identifier: characters other than letters, digits and _ become _, a leading
 * digit gets a _ before it, and it is cut to 63 bytes (what Postgres would keep anyway).
 */
export function sanitizeIdentifier(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_]/g, "_").slice(0, identifierBytesMax);
  const prefixed = /^[0-9]/.test(safe) ? `_${safe}`.slice(0, identifierBytesMax) : safe;
  return prefixed === "" ? "_" : prefixed;
}

/** What a sink's `table` config says for the record's topic. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Kafka Connect's placeholder, not a template.
export const topicPlaceholder = "${topic}";

/**
 * The table a sink record goes to: the `table` config with ${topic} replaced by the record's topic, each
 * part ("schema.table" has two) sanitized. A dot inside the topic name does not start a schema.
 */
export function tableNameFor(template: string, topic: string): string {
  return splitTableName(template)
    .map((part) => sanitizeIdentifier(part.replaceAll(topicPlaceholder, topic)))
    .join(".");
}
