// Random and mutated frames to a node's Kafka listener: for every api key the listener supports, a
// request built from its message schema with random field values (values.ts), at any supported version
// and at versions it does not support; the same frames with bytes flipped or cut; size prefixes that lie
// (short, negative, huge); random api keys and plain random bytes. Each connection sends a few frames
// pipelined, reads what comes back, and closes.
import { Socket } from "node:net";
import {
  API_SCHEMAS,
  type ApiKeyNumber,
  elementType,
  encodeRequest,
  type FieldSchema,
  inRange,
  isArrayType,
  isStructType,
  supportedApiVersions,
} from "@brook/kafka";
import { elementsMax, type Values } from "./values.js";

/** How long one connection lives: answers that have not come by then are not waited for. */
const connectionMsMax = 1_500;
/** Frames one connection sends at most. */
const framesPerConnectionMax = 8;

/** What a connection ended with, counted per api key by the caller. */
export interface KafkaOutcome {
  readonly apiKeys: number[];
  readonly answers: number;
  readonly closedByNode: boolean;
}

export class KafkaFuzzer {
  readonly apis = supportedApiVersions();

  constructor(
    private readonly values: Values,
    private readonly port: number,
  ) {}

  /** One connection's worth of frames; resolves when the node closed it or its time is up. */
  async connection(): Promise<KafkaOutcome> {
    const r = this.values.random;
    const frames: Buffer[] = [];
    const apiKeys: number[] = [];
    for (let i = r.int(1, framesPerConnectionMax); i > 0; i--) {
      const { apiKey, frame } = this.frame();
      apiKeys.push(apiKey);
      frames.push(frame);
    }
    const socket = new Socket();
    socket.on("error", () => undefined);
    let answers = 0;
    let closedByNode = false;
    socket.on("data", () => answers++);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, connectionMsMax);
      socket.on("close", () => {
        closedByNode = true;
        clearTimeout(timer);
        resolve();
      });
      socket.connect(this.port, "127.0.0.1", () => {
        for (const frame of frames) socket.write(frame);
      });
    });
    return { apiKeys, answers, closedByNode };
  }

  private frame(): { apiKey: number; frame: Buffer } {
    const r = this.values.random;
    const api = r.pick(this.apis);
    const kind = r.int(0, 9);
    if (kind === 0) return { apiKey: -1, frame: this.values.randomBytes(r.int(0, 64)) };
    if (kind === 1) return { apiKey: -1, frame: lyingSizePrefix(this.values) };
    if (kind === 2) return { apiKey: r.int(-1, 100), frame: this.randomHeader(r.int(-1, 100)) };
    const outOfRange = kind === 3;
    const version = outOfRange
      ? r.pick([api.maxVersion + 1, api.minVersion - 1, 0x7fff, -1])
      : r.int(api.minVersion, api.maxVersion);
    const frame = this.request(api.apiKey as ApiKeyNumber, version);
    if (kind === 4) return { apiKey: api.apiKey, frame: withSize(this.values.mutate(frame.subarray(4))) };
    if (kind === 5) return { apiKey: api.apiKey, frame: this.values.mutate(frame) };
    return { apiKey: api.apiKey, frame };
  }

  /** A valid frame of `apiKey` at `version` (or, for a version the codec has no layout of, v0's header alone). */
  private request(apiKey: ApiKeyNumber, version: number): Buffer {
    const schema = API_SCHEMAS.find((candidate) => candidate.apiKey === apiKey);
    if (schema === undefined) throw new Error(`no schema for api key ${apiKey}`);
    const correlationId = this.values.random.int(0, 2 ** 31 - 1);
    if (!inRange(schema.versions, version)) return this.randomHeader(apiKey, version);
    const body = this.struct(schema.request, version, 0);
    try {
      return Buffer.concat(encodeRequest(apiKey, version, correlationId, "fuzz", body as never));
    } catch {
      return this.randomHeader(apiKey, version); // a value the encoder refuses: send the header alone
    }
  }

  /** A v1 request header (api key, version, correlation id, client id) and random bytes after it. */
  private randomHeader(apiKey: number, version = this.values.random.int(-1, 20)): Buffer {
    const header = Buffer.alloc(10);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(version, 2);
    header.writeInt32BE(this.values.random.int(0, 1000), 4);
    header.writeInt16BE(-1, 8); // null client id
    return withSize(Buffer.concat([header, this.values.randomBytes(this.values.random.int(0, 32))]));
  }

  private struct(fields: readonly FieldSchema[], version: number, depth: number): Record<string, unknown> {
    const body: Record<string, unknown> = {};
    for (const field of fields) {
      if (!inRange(field.versions, version) || this.values.random.chance(0.1)) continue;
      if (inRange(field.nullableVersions, version) && this.values.random.chance(0.1)) {
        body[field.name] = null;
        continue;
      }
      body[field.name] = this.value(field, field.type, version, depth);
    }
    return body;
  }

  private value(field: FieldSchema, type: string, version: number, depth: number): unknown {
    const v = this.values;
    const r = v.random;
    if (isArrayType(type)) {
      const count = depth >= 4 ? 0 : r.chance(0.05) ? elementsMax : r.int(0, 3);
      return Array.from({ length: count }, () => this.value(field, elementType(type), version, depth + 1));
    }
    if (isStructType(type)) return this.struct(field.fields ?? [], version, depth + 1);
    switch (type) {
      case "int8":
        return r.int(-128, 127);
      case "int16":
        return r.chance(0.5) ? r.int(-2, 10) : r.int(-32768, 32767);
      case "uint16":
        return r.int(0, 0xffff);
      case "int32":
      case "varint":
        return v.integer(field.name, 32);
      case "uint32":
        return r.int(0, 0xffff_ffff);
      case "int64":
      case "varlong":
        return BigInt(v.integer(field.name, 64) % 2 ** 53);
      case "float64":
        return r.next();
      case "bool":
        return r.chance(0.5);
      case "uuid":
        return r.chance(0.5)
          ? "00000000-0000-0000-0000-000000000000"
          : v
              .randomBytes(16)
              .toString("hex")
              .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
      case "string":
        return v.string(field.name);
      case "bytes":
      case "records":
        return v.bytes(type === "records" ? "records" : field.name);
      default:
        throw new Error(`the fuzzer has no values for Kafka type ${type} (field ${field.name})`);
    }
  }
}

function withSize(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** A size prefix that does not match what follows: negative, huge, or more than is sent. */
function lyingSizePrefix(values: Values): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(values.random.pick([-1, -(2 ** 31), 2 ** 31 - 1, 100 * 1024 * 1024, 64]));
  return Buffer.concat([size, values.randomBytes(values.random.int(0, 32))]);
}
