// Raft messages over gRPC (proto/raft.proto): a server that hands incoming
// batches to the driver, and one sender per peer with a bounded queue that
// drops rather than blocks when the peer is slow or gone (Raft resends).

import {
  asBrookError,
  BrookError,
  type ChannelSecurity,
  createRaftClient,
  grpcChannelOptions,
  grpcServerOptions,
  type RaftClient,
  RaftService,
  type RaftStepBatch,
  type SurfaceCall,
  toServiceError,
} from "@brook/protocol";
import * as grpc from "@grpc/grpc-js";
import type { Message, NodeId } from "../types.js";
import {
  MessageDecoder,
  snapshotBytesMax,
  toWireMessages,
  type WireMessage,
  type WireStepBatch,
  wireMessageBytes,
} from "./codec.js";
import type { DeliveryFailure, FailureHandler, MessageHandler, RaftTransport } from "./transport.js";

// ---- limits ------------------------------------------------------------------

/** Messages waiting for one peer; beyond this, new messages to it are dropped. */
export const peerQueueMessagesMax = 10_000;
/** Bytes waiting for one peer. Snapshots are not queued: one is sent at a time, chunk by chunk. */
export const peerQueueBytesMax = 64 * 1024 * 1024;
/**
 * One StepBatch carries queued messages up to about this size. With grpc-js's
 * 16-message stream buffer this bounds what gRPC holds for a peer to ~32 MiB.
 */
export const stepBatchBytesMax = 2 * 1024 * 1024;
/** A unary Step call that takes longer is abandoned (its messages count as dropped). */
export const stepCallTimeoutMs = 5_000;

// ---- the transport -----------------------------------------------------------

export type StepMode = "stream" | "unary";

export interface GrpcTransportOptions {
  readonly id: NodeId;
  /** "host:port" to listen on; port 0 picks a free port (read it back from `address`). */
  readonly listen: string;
  /** Peer id → "host:port". May be set later with setPeers (e.g. once every test node has its port). */
  readonly peers?: ReadonlyMap<NodeId, string>;
  /** "stream" (default): one long-lived client stream per peer. "unary": one Step call in flight per peer. */
  readonly mode?: StepMode;
  readonly snapshotBytesLimit?: number;
  /**
   * Other gRPC services to serve on the same server and port (added before it
   * binds), e.g. a controller's own service, so one port carries both.
   */
  readonly extraServices?: readonly ExtraGrpcService[];
  /** TLS for the server (default: plaintext). */
  readonly serverCredentials?: grpc.ServerCredentials;
  /** How senders secure their channels to peers: TLS, and node identity (a node token on every call). */
  readonly peerSecurity?: ChannelSecurity;
  /**
   * Which node a call comes from, by its node token (NodeAuthenticator.callerNode). When set, a call
   * without one is refused, and a message is accepted only from a peer (a voter) and only when its
   * `from` is the node that sent it: nobody else can vote, campaign or append.
   */
  readonly callerNode?: (call: SurfaceCall) => NodeId | undefined;
}

/** A gRPC service the transport's server hosts besides Raft's own. */
export interface ExtraGrpcService {
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export interface TransportStats {
  readonly messagesSent: number;
  readonly messagesDropped: number;
  readonly batchesSent: number;
  readonly batchesReceived: number;
  readonly batchesRefused: number;
  /** Messages dropped because their `from` was not the authenticated sender, or the sender is not a voter. */
  readonly messagesIgnored: number;
}

export class GrpcTransport implements RaftTransport {
  private handler: MessageHandler | undefined;
  private failureHandler: FailureHandler | undefined;
  private readonly senders = new Map<NodeId, PeerSender>();
  private readonly decoder: MessageDecoder;
  private closed = false;
  private boundAddress = "";
  private readonly counters = {
    messagesSent: 0,
    messagesDropped: 0,
    batchesSent: 0,
    batchesReceived: 0,
    batchesRefused: 0,
    messagesIgnored: 0,
  };

  private constructor(
    readonly id: NodeId,
    private readonly server: grpc.Server,
    private readonly mode: StepMode,
    snapshotBytesLimit: number,
    private readonly peerSecurity: ChannelSecurity,
    private readonly callerNode: ((call: SurfaceCall) => NodeId | undefined) | undefined,
  ) {
    this.decoder = new MessageDecoder(snapshotBytesLimit);
    server.addService(RaftService, {
      Step: this.handleStep,
      StepStream: this.handleStepStream,
    });
  }

  /** Starts serving on `options.listen` (the service is in place before the port opens). */
  static async listen(options: GrpcTransportOptions): Promise<GrpcTransport> {
    const server = new grpc.Server(grpcServerOptions);
    const snapshotBytesLimit = options.snapshotBytesLimit ?? snapshotBytesMax;
    const transport = new GrpcTransport(
      options.id,
      server,
      options.mode ?? "stream",
      snapshotBytesLimit,
      options.peerSecurity ?? {},
      options.callerNode,
    );
    for (const service of options.extraServices ?? [])
      server.addService(service.definition, service.implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        options.listen,
        options.serverCredentials ?? grpc.ServerCredentials.createInsecure(),
        (error, boundPort) => (error ? reject(error) : resolve(boundPort)),
      ),
    );
    transport.boundAddress = `${options.listen.slice(0, options.listen.lastIndexOf(":"))}:${port}`;
    if (options.peers) transport.setPeers(options.peers);
    return transport;
  }

  /** The address peers reach this node at: "host:port", with the port actually bound. */
  get address(): string {
    return this.boundAddress;
  }

  /** Replaces the peer table; senders to peers whose address is unchanged keep their connection. */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    for (const [id, sender] of this.senders) {
      if (peers.get(id) !== sender.address) {
        sender.close();
        this.senders.delete(id);
      }
    }
    for (const [id, address] of peers) {
      if (id === this.id || this.senders.has(id)) continue;
      const reportFailure = (failure: DeliveryFailure) => this.failureHandler?.(id, failure);
      this.senders.set(
        id,
        new PeerSender(address, this.mode, this.counters, reportFailure, this.peerSecurity),
      );
    }
  }

  onMessages(handler: MessageHandler): void {
    this.handler = handler;
  }

  onFailure(handler: FailureHandler): void {
    this.failureHandler = handler;
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const message of messages) {
      const sender = this.senders.get(message.to);
      if (sender === undefined) this.counters.messagesDropped++;
      else sender.enqueue(toWireMessages(message));
    }
    for (const sender of this.senders.values()) sender.flush();
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sender of this.senders.values()) sender.close();
    this.senders.clear();
    this.server.forceShutdown();
  }

  private readonly handleStep: grpc.handleUnaryCall<WireStepBatch, object> = (call, callback) => {
    try {
      this.receive(call.request, this.sender(call));
      callback(null, {});
    } catch (error) {
      callback(toServiceError(error));
    }
  };

  private readonly handleStepStream: grpc.handleClientStreamingCall<WireStepBatch, object> = (
    call,
    callback,
  ) => {
    let failed = false;
    let sender: NodeId | undefined;
    try {
      sender = this.sender(call);
    } catch (error) {
      failed = true;
      callback(toServiceError(error));
    }
    call.on("data", (batch: WireStepBatch) => {
      if (failed) return;
      try {
        this.receive(batch, sender);
      } catch (error) {
        failed = true;
        callback(toServiceError(error));
      }
    });
    call.on("end", () => {
      if (!failed) callback(null, {});
    });
    call.on("error", () => {
      failed = true; // the sender went away; it opens a new stream when it has something to say
    });
  };

  /** The authenticated node a call comes from; undefined when calls are not authenticated. */
  private sender(call: SurfaceCall): NodeId | undefined {
    if (this.callerNode === undefined) return undefined;
    let node: NodeId | undefined;
    try {
      node = this.callerNode(call);
    } catch (error) {
      this.counters.batchesRefused++; // a token the cluster secret did not sign, or one used before
      throw error;
    }
    if (node === undefined) {
      this.counters.batchesRefused++;
      throw new BrookError(
        "CLUSTER_AUTHORIZATION_FAILED",
        "Raft messages are for the controller quorum's voters; the caller is not a node",
      );
    }
    return node;
  }

  private receive(batch: WireStepBatch, sender: NodeId | undefined): void {
    if (this.closed) return;
    this.counters.batchesReceived++;
    let messages: Message[];
    try {
      messages = this.decoder.decode(batch).filter((message) => message.to === this.id);
    } catch (error) {
      this.counters.batchesRefused++;
      throw asBrookError(error);
    }
    if (sender !== undefined) messages = this.fromSender(messages, sender);
    if (messages.length > 0) this.handler?.(messages);
  }

  /** Only what the authenticated sender says as itself, and only from a voter (a peer of this transport). */
  private fromSender(messages: Message[], sender: NodeId): Message[] {
    const honest = messages.filter((message) => message.from === sender && this.senders.has(sender));
    if (honest.length < messages.length) this.counters.messagesIgnored += messages.length - honest.length;
    return honest;
  }
}

// ---- one peer ----------------------------------------------------------------

interface QueuedMessage {
  readonly message: WireMessage;
  readonly bytes: number;
}

type Counters = { messagesSent: number; messagesDropped: number; batchesSent: number };
type PeerFailureHandler = (failure: DeliveryFailure) => void;

/**
 * Sends to one peer in batches, in order. A broken stream or failed call
 * drops what was queued and reports the peer unreachable: Raft resends what
 * matters (entries after the follower's match index, heartbeats, votes), and
 * stale messages would only be refused as old.
 *
 * Snapshots go apart, chunk by chunk in unary calls, one snapshot at a time:
 * each chunk is acknowledged, so a lost snapshot is reported at once instead
 * of leaving the leader waiting for a follower that never got it.
 */
class PeerSender {
  private readonly client: RaftClient;
  private stream: grpc.ClientWritableStream<RaftStepBatch> | undefined;
  private readonly queue: QueuedMessage[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  /** A unary call is in flight, or the stream's buffer is full and we wait for "drain". */
  private blocked = false;
  private sendingSnapshot = false;
  private closed = false;

  constructor(
    readonly address: string,
    private readonly mode: StepMode,
    private readonly counters: Counters,
    private readonly reportFailure: PeerFailureHandler,
    security: ChannelSecurity,
  ) {
    this.client = createRaftClient(address, grpcChannelOptions, security);
  }

  /** Queues the wire form of one core message (several for a chunked snapshot), or drops it. */
  enqueue(wireMessages: WireMessage[]): void {
    if (wireMessages[0].snapshot !== null) {
      this.sendSnapshot(wireMessages);
      return;
    }
    const message = wireMessages[0];
    const bytes = wireMessageBytes(message);
    const queued = this.queue.length - this.queueHead;
    if (queued >= peerQueueMessagesMax || this.queuedBytes + bytes > peerQueueBytesMax) {
      this.counters.messagesDropped++;
      return;
    }
    this.queue.push({ message, bytes });
    this.queuedBytes += bytes;
  }

  /** Sends what is queued, as far as the stream's buffer or the one unary call in flight allows. */
  flush(): void {
    while (!this.blocked && !this.closed && this.queueHead < this.queue.length) {
      const batch = this.takeBatch();
      if (this.mode === "unary") this.call(batch);
      else this.write(batch);
    }
    if (this.queueHead > 1024 || this.queueHead === this.queue.length) {
      this.queue.splice(0, this.queueHead); // forget what was sent, so the array stays bounded
      this.queueHead = 0;
    }
  }

  close(): void {
    this.closed = true;
    this.dropQueue();
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
  }

  private takeBatch(): WireStepBatch {
    const messages: WireMessage[] = [];
    let bytes = 0;
    while (this.queueHead < this.queue.length && (messages.length === 0 || bytes < stepBatchBytesMax)) {
      const queued = this.queue[this.queueHead++];
      messages.push(queued.message);
      bytes += queued.bytes;
    }
    this.queuedBytes -= bytes;
    this.counters.batchesSent++;
    this.counters.messagesSent += messages.length;
    return { messages };
  }

  private write(batch: WireStepBatch): void {
    const stream = this.stream ?? this.openStream();
    if (!stream.write(batch)) {
      this.blocked = true;
      stream.once("drain", () => {
        if (this.stream !== stream) return;
        this.blocked = false;
        this.flush();
      });
    }
  }

  private openStream(): grpc.ClientWritableStream<RaftStepBatch> {
    const stream = this.client.stepStream((error) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.blocked = false;
      if (error) this.fail();
    });
    stream.on("error", () => undefined); // reported through the callback above
    this.stream = stream;
    return stream;
  }

  private call(batch: WireStepBatch): void {
    this.blocked = true;
    this.client.step(batch, { deadline: Date.now() + stepCallTimeoutMs }, (error) => {
      this.blocked = false;
      if (error) {
        this.counters.messagesDropped += batch.messages.length;
        this.fail();
      }
      this.flush();
    });
  }

  private sendSnapshot(chunks: WireMessage[]): void {
    if (this.sendingSnapshot || this.closed) {
      this.counters.messagesDropped++; // the one on its way says the same or is newer than needed
      return;
    }
    this.sendingSnapshot = true;
    const next = (i: number) => {
      this.counters.batchesSent++;
      this.client.step({ messages: [chunks[i]] }, { deadline: Date.now() + stepCallTimeoutMs }, (error) => {
        if (error || this.closed) {
          this.sendingSnapshot = false;
          this.counters.messagesDropped++;
          if (!this.closed) this.reportFailure("snapshot");
        } else if (i + 1 < chunks.length) {
          next(i + 1);
        } else {
          this.sendingSnapshot = false;
          this.counters.messagesSent++;
        }
      });
    };
    next(0);
  }

  private fail(): void {
    this.dropQueue();
    if (!this.closed) this.reportFailure("unreachable");
  }

  private dropQueue(): void {
    this.counters.messagesDropped += this.queue.length - this.queueHead;
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedBytes = 0;
  }
}
