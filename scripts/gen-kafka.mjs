// Generates packages/kafka/src/generated from the Kafka message schemas in packages/kafka/schema/*.yaml
// (format: docs/kafka-protocol.md): schemas.ts, the checked and normalised schemas the codec compiles,
// and messages.ts, a TypeScript interface for every request and response body. Both are committed (the
// Docker build compiles them without running this script); `make build` and `make test-unit` regenerate
// them, and a unit test fails while they are stale. Run with tsx, which loads the schema checker:
//   node --import tsx scripts/gen-kafka.mjs           writes the files
//   node --import tsx scripts/gen-kafka.mjs --check   exits 1 if they differ from the schemas
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { elementType, isArrayType, parseApiSchema } from "../packages/kafka/src/codec/schema.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schemaDir = join(root, "packages/kafka/schema");
const outDir = join(root, "packages/kafka/src/generated");
const biome = join(root, "node_modules/.bin/biome");

const TS_TYPES = {
  int8: "number",
  int16: "number",
  int32: "number",
  int64: "bigint",
  uint16: "number",
  uint32: "number",
  varint: "number",
  varlong: "bigint",
  float64: "number",
  bool: "boolean",
  uuid: "string",
  string: "string",
  bytes: "Buffer",
  records: "Buffer",
};
const VERSION_MAX = 0x7fff;

function loadSchemas() {
  const files = readdirSync(schemaDir).filter((file) => file.endsWith(".yaml"));
  const schemas = files.map((file) =>
    parseApiSchema(parse(readFileSync(join(schemaDir, file), "utf8")), file),
  );
  const keys = new Set();
  for (const schema of schemas) {
    if (keys.has(schema.apiKey)) throw new Error(`api key ${schema.apiKey} is described twice`);
    keys.add(schema.apiKey);
  }
  return schemas.sort((a, b) => a.apiKey - b.apiKey);
}

function rangeText({ min, max }) {
  if (min === max) return `v${min}`;
  return max === VERSION_MAX ? `v${min}+` : `v${min}-${max}`;
}

function covers(inner, outer) {
  return inner !== null && inner.min <= outer.min && inner.max >= outer.max;
}

function fieldDoc(field, messageVersions) {
  const notes = [];
  if (field.about) notes.push(field.about.endsWith(".") ? field.about.slice(0, -1) : field.about);
  if (!covers(field.versions, messageVersions)) notes.push(`only ${rangeText(field.versions)}`);
  if (field.nullableVersions && !covers(field.nullableVersions, field.versions)) {
    notes.push(`null allowed ${rangeText(field.nullableVersions)}`);
  }
  if (field.tag !== null) notes.push(`tagged field ${field.tag}`);
  if (field.default !== undefined) notes.push(`default ${JSON.stringify(field.default)}`);
  return notes.length === 0 ? "" : `  /** ${notes.join("; ")}. */\n`;
}

/** In an input (what a caller encodes), a field may be left out when the codec can fill it in. */
function isOptionalInput(field, messageVersions) {
  return (
    field.default !== undefined ||
    field.tag !== null ||
    covers(field.nullableVersions, field.versions) ||
    !covers(field.versions, messageVersions)
  );
}

function fieldType(field, prefix, input) {
  const base = isArrayType(field.type) ? elementType(field.type) : field.type;
  let type = field.fields ? `${prefix}${base}${input ? "Input" : ""}` : TS_TYPES[base];
  if (isArrayType(field.type)) type = input ? `readonly ${type}[]` : `${type}[]`;
  return field.nullableVersions ? `${type} | null` : type;
}

function renderInterface(name, fields, context, input) {
  const lines = fields.map((field) => {
    const optional = input && isOptionalInput(field, context.versions) ? "?" : "";
    return `${fieldDoc(field, context.versions)}  ${field.name}${optional}: ${fieldType(field, context.prefix, input)};\n`;
  });
  if (context.flexible) lines.push("  unknownTaggedFields?: TaggedField[];\n");
  return `export interface ${name}${input ? "Input" : ""} {\n${lines.join("")}}\n`;
}

function renderStructs(name, fields, context) {
  const nested = fields
    .filter((field) => field.fields)
    .flatMap((field) => {
      const structName = isArrayType(field.type) ? elementType(field.type) : field.type;
      return renderStructs(`${context.prefix}${structName}`, field.fields, context);
    });
  return [
    renderInterface(name, fields, context, false),
    renderInterface(name, fields, context, true),
    ...nested,
  ];
}

function renderMessage(schema, direction) {
  const name = `${schema.name}${direction === "request" ? "Request" : "Response"}`;
  const context = { prefix: name, versions: schema.versions, flexible: schema.flexibleVersions !== null };
  const header = `// ${schema.name} ${direction} (api key ${schema.apiKey}), ${rangeText(schema.versions)}.\n`;
  return header + renderStructs(name, schema[direction], context).join("\n");
}

function renderMap(name, schemas, suffix) {
  const entries = schemas.map((schema) => `  ${schema.apiKey}: ${schema.name}${suffix};\n`);
  return `export interface ${name} {\n${entries.join("")}}\n`;
}

const GENERATED_NOTE =
  "// Generated by scripts/gen-kafka.mjs from packages/kafka/schema/*.yaml; edit those, then make build.\n";

function renderMessages(schemas) {
  const apiKeys = schemas.map((schema) => `  ${schema.name}: ${schema.apiKey},\n`).join("");
  return [
    `${GENERATED_NOTE}// The body of every Kafka request and response; *Input types are what an encoder accepts.\n\n`,
    'import type { TaggedField } from "../codec/compile.js";\n\n',
    `export const ApiKey = {\n${apiKeys}} as const;\n`,
    "export type ApiKeyNumber = (typeof ApiKey)[keyof typeof ApiKey];\n\n",
    renderMap("RequestBodies", schemas, "Request"),
    renderMap("RequestInputs", schemas, "RequestInput"),
    renderMap("ResponseBodies", schemas, "Response"),
    renderMap("ResponseInputs", schemas, "ResponseInput"),
    ...schemas.flatMap((schema) => [
      "\n",
      renderMessage(schema, "request"),
      "\n",
      renderMessage(schema, "response"),
    ]),
  ].join("");
}

function renderSchemas(schemas) {
  return [
    `${GENERATED_NOTE}// The checked, normalised schemas the codec compiles (open version ranges end at ${VERSION_MAX}).\n\n`,
    'import type { ApiSchema } from "../codec/schema.js";\n\n',
    `export const API_SCHEMAS: readonly ApiSchema[] = ${JSON.stringify(schemas)};\n`,
  ].join("");
}

function formatted(path, source) {
  return execFileSync(biome, ["format", `--stdin-file-path=${relative(root, path)}`], {
    cwd: root,
    input: source,
    encoding: "utf8",
  });
}

const schemas = loadSchemas();
const outputs = [
  [join(outDir, "schemas.ts"), renderSchemas(schemas)],
  [join(outDir, "messages.ts"), renderMessages(schemas)],
];
const check = process.argv.includes("--check");
let stale = false;
for (const [path, source] of outputs) {
  const text = formatted(path, source);
  let current = null;
  try {
    current = readFileSync(path, "utf8");
  } catch {}
  if (current === text) continue;
  if (check) {
    console.error(
      `${relative(root, path)} is stale: run make build (node --import tsx scripts/gen-kafka.mjs)`,
    );
    stale = true;
  } else {
    writeFileSync(path, text);
  }
}
if (stale) process.exit(1);
