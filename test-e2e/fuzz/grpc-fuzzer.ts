// Random and mutated requests to every method of every gRPC service of a node (proto/*.proto, walked by
// reflection, so a method added later is fuzzed too): well-typed messages with values that mean
// something (values.ts), the same messages' bytes mutated, and random bytes; unary, client-streaming and
// bidirectional methods alike; as an anonymous client and as a node that holds the cluster secret but is
// no member of the cluster (node-only methods then run their handlers past the identity check).

import { type NodeIdentity, nodeTokenInterceptor } from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import { loadSync, type MessageTypeDefinition, type MethodDefinition } from "@grpc/proto-loader";
import { elementsMax, type Values } from "./values.js";

const protoFiles = ["broker.proto", "controller.proto", "raft.proto"];
/** The loader options of @brook/protocol's grpc.ts: the same field names and value forms. */
const loaderOptions = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };
/** How deep nested messages go: deeper ones are left out (their defaults). */
const depthMax = 5;
/** A call that has not finished by then is cancelled (long polls, streams the node keeps open). */
const callDeadlineMs = 2_000;

type MessageType = MessageTypeDefinition<object, object>;

interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}

export interface FuzzedMethod {
  /** The service's port on the node. */
  readonly port: "broker" | "controller";
  readonly path: string;
  readonly definition: MethodDefinition<unknown, unknown>;
}

/** What one call ended with: answered, a gRPC status (named), or cancelled at the deadline. */
export type Outcome = "answered" | `status ${string}` | "deadline";

export class GrpcFuzzer {
  private readonly definitions = loadSync(protoFiles, { ...loaderOptions, includeDirs: [protoDir()] });
  readonly methods: FuzzedMethod[];

  constructor(private readonly values: Values) {
    this.methods = [];
    for (const [name, service] of Object.entries(this.definitions)) {
      if ("format" in service) continue; // a message or enum, not a service
      const port = name.endsWith(".Broker") ? "broker" : "controller"; // Controller and Raft share a port
      for (const definition of Object.values(service)) {
        this.methods.push({
          port,
          path: definition.path,
          definition: definition as MethodDefinition<unknown, unknown>,
        });
      }
    }
  }

  /** One request to `method` on `client`: a typed random message, its bytes mutated, or random bytes. */
  call(client: grpc.Client, method: FuzzedMethod): Promise<Outcome> {
    const r = this.values.random;
    const messages = Array.from({ length: method.definition.requestStream ? r.int(1, 4) : 1 }, () =>
      this.requestBytes(method),
    );
    const metadata = new grpc.Metadata();
    const options = { deadline: Date.now() + callDeadlineMs };
    const identity = (bytes: Buffer) => bytes;
    return new Promise<Outcome>((resolve) => {
      const done = (error: grpc.ServiceError | null) => resolve(outcomeOf(error));
      const { requestStream, responseStream } = method.definition;
      if (!requestStream && !responseStream) {
        client.makeUnaryRequest(method.path, identity, identity, messages[0], metadata, options, done);
        return;
      }
      if (requestStream && !responseStream) {
        const stream = client.makeClientStreamRequest(
          method.path,
          identity,
          identity,
          metadata,
          options,
          done,
        );
        for (const message of messages) stream.write(message);
        stream.end();
        return;
      }
      const stream: grpc.ClientReadableStream<Buffer> = requestStream
        ? this.bidi(client, method.path, messages, metadata, options)
        : client.makeServerStreamRequest(method.path, identity, identity, messages[0], metadata, options);
      stream.on("data", () => undefined);
      stream.on("error", (error: grpc.ServiceError) => done(error));
      stream.on("end", () => done(null));
    });
  }

  /** A bidirectional stream with `messages` written, and its input ended (mostly) or left open. */
  private bidi(
    client: grpc.Client,
    path: string,
    messages: Buffer[],
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
  ): grpc.ClientDuplexStream<Buffer, Buffer> {
    const identity = (bytes: Buffer) => bytes;
    const stream = client.makeBidiStreamRequest(path, identity, identity, metadata, options);
    for (const message of messages) stream.write(message);
    if (this.values.random.chance(0.7)) stream.end();
    return stream;
  }

  private requestBytes(method: FuzzedMethod): Buffer {
    const r = this.values.random;
    if (r.chance(0.1)) return this.values.randomBytes(r.int(0, 256));
    const serialize = method.definition.requestSerialize;
    const typeName = method.path.split("/")[1].replace(/\.[^.]*$/, "");
    const message = this.message(method.definition.requestType as MessageType, typeName, 0);
    let bytes: Buffer;
    try {
      bytes = serialize(message);
    } catch {
      return this.values.randomBytes(r.int(0, 64)); // a value protobufjs would not encode (a huge int64)
    }
    return r.chance(0.15) ? this.values.mutate(bytes) : bytes;
  }

  /** A random message of `type` (package `pkg`, where its field types are looked up first). */
  private message(type: MessageType, pkg: string, depth: number): Record<string, unknown> {
    const fields = (type.type as { field: FieldDescriptor[] }).field;
    const message: Record<string, unknown> = {};
    for (const field of fields) {
      if (this.values.random.chance(0.15)) continue; // left at its default
      if (field.label === "LABEL_REPEATED") {
        const count = this.values.random.chance(0.05) ? elementsMax : this.values.random.int(0, 3);
        const items = Array.from({ length: count }, () => this.value(field, pkg, depth));
        message[field.name] = items.filter((item) => item !== undefined);
      } else {
        const value = this.value(field, pkg, depth);
        if (value !== undefined) message[field.name] = value;
      }
    }
    return message;
  }

  private value(field: FieldDescriptor, pkg: string, depth: number): unknown {
    const v = this.values;
    switch (field.type) {
      case "TYPE_INT32":
      case "TYPE_SINT32":
      case "TYPE_SFIXED32":
        return v.integer(field.name, 32);
      case "TYPE_UINT32":
      case "TYPE_FIXED32":
        return Math.abs(v.integer(field.name, 32));
      case "TYPE_INT64":
      case "TYPE_SINT64":
      case "TYPE_SFIXED64":
        return v.integer(field.name, 64);
      case "TYPE_UINT64":
      case "TYPE_FIXED64":
        return Math.abs(v.integer(field.name, 64));
      case "TYPE_BOOL":
        return v.random.chance(0.5);
      case "TYPE_STRING":
        return v.string(field.name);
      case "TYPE_BYTES":
        return v.bytes(field.name);
      case "TYPE_DOUBLE":
      case "TYPE_FLOAT":
        return v.random.next() * 1e6;
      case "TYPE_ENUM": {
        const values = (this.lookup(field.typeName, pkg).type as { value: { name: string }[] }).value;
        return v.random.pick(values).name;
      }
      case "TYPE_MESSAGE": {
        if (depth >= depthMax) return undefined;
        const nested = this.lookup(field.typeName, pkg) as MessageType;
        return this.message(nested, pkg, depth + 1);
      }
      default:
        throw new Error(`the fuzzer has no values for protobuf type ${field.type} (field ${field.name})`);
    }
  }

  private lookup(typeName: string, pkg: string) {
    const name = typeName.replace(/^\./, "");
    const found =
      this.definitions[`${pkg}.${name}`] ??
      Object.entries(this.definitions).find(([key]) => key.endsWith(`.${name}`) || key === name)?.[1];
    if (found === undefined || !("format" in found)) throw new Error(`no protobuf type ${typeName}`);
    return found;
  }
}

/** A gRPC status by name, with the Brook error code the node sent in its trailer (none: not a Brook answer). */
function outcomeOf(error: grpc.ServiceError | null): Outcome {
  if (error === null) return "answered";
  if (error.code === grpc.status.DEADLINE_EXCEEDED) return "deadline";
  const code = error.metadata?.get("brook-error-code")[0];
  return `status ${grpc.status[error.code]}${code === undefined ? "" : ` ${String(code)}`}`;
}

/** A client of one node's port: anonymous, or calling as `node` (holding the cluster secret). */
export function fuzzClient(address: string, node?: NodeIdentity): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), {
    ...(node === undefined ? {} : { interceptors: [nodeTokenInterceptor(node)] }),
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
}

function protoDir(): string {
  return new URL("../../proto/", import.meta.url).pathname;
}
