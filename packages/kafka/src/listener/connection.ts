// One Kafka client connection: cuts the byte stream into frames, decodes each request, hands it to the
// dispatcher, and writes the answers back in request order, as the protocol requires. Memory stays
// bounded whatever the client does: a frame over the size limit closes the connection before it is
// buffered, at most requestsInFlightMax requests are handled at once (reading pauses beyond that), and
// reading also pauses while the client does not read its answers (the socket's write buffer is full).

import type { Socket } from "node:net";
import { anonymousCaller, type Caller } from "@brook/protocol";
import type { Logger } from "pino";
import { isSupported, supportedApiVersions } from "../codec/apis.js";
import { KafkaDecodeError } from "../codec/errors.js";
import { FrameSplitter, KafkaFrameError } from "../codec/frame-splitter.js";
import { decodeRequestHeader, type RequestHeader } from "../codec/headers.js";
import { decodeRequest, encodeResponse } from "../codec/messages.js";
import { KafkaErrorCode } from "../error-codes.js";
import { ApiKey, type ApiKeyNumber } from "../generated/messages.js";

export interface ConnectionLimits {
  /** Kafka's socket.request.max.bytes: a bigger frame closes the connection unread. */
  readonly requestBytesMax: number;
  /** Requests of one connection handled at once; Kafka handles one (it mutes the channel). */
  readonly requestsInFlightMax: number;
}

/** The answer to a request, encoded; undefined when the request gets none (Produce with acks=0). */
export type Answer = Buffer[] | undefined;

interface PendingAnswer {
  done: boolean;
  chunks: Answer;
}

/** Handles one decoded request; `signal` aborts when the connection closes, `close` closes it. */
export type Dispatch = (
  request: ReturnType<typeof decodeRequest>,
  connection: { clientHost: string; caller: Caller; signal: AbortSignal; close: () => void },
) => Promise<Answer>;

export class KafkaConnection {
  private readonly splitter: FrameSplitter;
  /** Frames read but not yet handed to the dispatcher (reading pauses while requests are in flight). */
  private readonly backlog: Buffer[] = [];
  /** Requests in arrival order; each is written once it and every one before it are answered. */
  private readonly answers: PendingAnswer[] = [];
  private readonly closed = new AbortController();
  private pumping = false;
  readonly clientHost: string;
  /** Who the client is: anonymous until it authenticates (SASL, a TLS client certificate). */
  caller: Caller;

  constructor(
    private readonly socket: Socket,
    private readonly dispatch: Dispatch,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    caller: Caller = anonymousCaller(socket.remoteAddress ?? "unknown"),
  ) {
    this.caller = caller;
    this.splitter = new FrameSplitter(limits.requestBytesMax);
    this.clientHost = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.received(chunk));
    socket.on("drain", () => this.pump());
    socket.on("error", (error) =>
      this.logger.debug({ client: this.clientHost, error: error.message }, "socket error"),
    );
    socket.on("close", () => this.closed.abort());
  }

  get isClosed(): boolean {
    return this.closed.signal.aborted;
  }

  /** Ends the connection now; requests under way finish, their answers are dropped. */
  close(): void {
    this.closed.abort();
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    try {
      this.backlog.push(...this.splitter.push(chunk));
    } catch (error) {
      if (!(error instanceof KafkaFrameError)) throw error;
      this.drop(`a malformed frame: ${error.message}`);
      return;
    }
    this.pump();
  }

  /** Starts what the limits allow, writes what is answered, and reads again once there is room. */
  private pump(): void {
    if (this.pumping) return; // a request answered at once while starting: the loop below goes on
    this.pumping = true;
    while (
      this.backlog.length > 0 &&
      this.answers.length < this.limits.requestsInFlightMax &&
      !this.blocked()
    ) {
      this.start(this.backlog.shift()!);
    }
    this.pumping = false;
    if (this.isClosed) return;
    const full = this.answers.length >= this.limits.requestsInFlightMax || this.blocked();
    if (full) this.socket.pause();
    else this.socket.resume();
  }

  /** The client is not reading its answers: wait for the socket to drain before taking more requests. */
  private blocked(): boolean {
    return this.socket.writableNeedDrain;
  }

  private start(frame: Buffer): void {
    let header: RequestHeader;
    try {
      header = decodeRequestHeader(frame);
    } catch (error) {
      this.drop(`a request header that does not decode (${(error as Error).message})`);
      return;
    }
    if (!isSupported(header.apiKey, header.apiVersion)) {
      this.unsupported(header);
      return;
    }
    let request: ReturnType<typeof decodeRequest>;
    try {
      request = decodeRequest(header, frame.subarray(header.headerBytes));
    } catch (error) {
      if (!(error instanceof KafkaDecodeError)) throw error;
      this.drop(`a request that does not decode: ${error.message}`);
      return;
    }
    const pending: PendingAnswer = { done: false, chunks: undefined };
    this.answers.push(pending);
    const connection = {
      clientHost: this.clientHost,
      caller: this.caller,
      signal: this.closed.signal,
      close: () => this.close(),
    };
    this.dispatch(request, connection).then(
      (chunks) => {
        pending.done = true;
        pending.chunks = chunks;
        this.writeAnswered();
      },
      (error: unknown) => this.failed(request.apiKey, error),
    );
  }

  /**
   * KIP-511: an ApiVersions request of a version this broker does not know is answered in version 0's
   * layout with UNSUPPORTED_VERSION and the versions it does know, so the client can pick one. Any
   * other unknown api or version closes the connection, as Kafka does.
   */
  private unsupported(header: RequestHeader): void {
    if (header.apiKey !== ApiKey.ApiVersions) {
      this.drop(`api ${header.apiKey} version ${header.apiVersion}, which this broker does not serve`);
      return;
    }
    const body = { errorCode: KafkaErrorCode.UNSUPPORTED_VERSION, apiKeys: supportedApiVersions() };
    const chunks = encodeResponse(ApiKey.ApiVersions, 0, header.correlationId, body);
    this.answers.push({ done: true, chunks });
    this.writeAnswered();
  }

  /** Writes the answers at the head of the queue that are done; a later one waits for those before it. */
  private writeAnswered(): void {
    while (this.answers.length > 0 && this.answers[0].done && !this.isClosed) {
      const { chunks } = this.answers.shift()!;
      if (chunks !== undefined) this.write(chunks);
    }
    this.pump();
  }

  private write(chunks: Buffer[]): void {
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
  }

  /** A handler that throws is a bug: Kafka closes the connection, and so does Brook. */
  private failed(apiKey: ApiKeyNumber, error: unknown): void {
    if (this.isClosed) return;
    this.logger.error(
      { client: this.clientHost, apiKey, err: error },
      "kafka request failed; closing the connection",
    );
    this.close();
  }

  private drop(what: string): void {
    if (this.isClosed) return;
    this.logger.info({ client: this.clientHost }, `kafka client sent ${what}; closing the connection`);
    this.close();
  }
}
