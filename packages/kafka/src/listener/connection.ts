// One Kafka client connection: cuts the byte stream into frames, decodes each request, hands it to the
// dispatcher, and writes the answers back in request order, as the protocol requires. Memory stays
// bounded whatever the client does: a frame over the size limit closes the connection before it is
// buffered, at most requestsInFlightMax requests are handled at once (reading pauses beyond that), and
// reading also pauses while the client does not read its answers (the socket's write buffer is full).
//
// On a SASL listener a connection starts unauthenticated, and until it authenticates its requests go to
// its SaslSession (sasl.ts), never to the dispatcher, so such a client cannot make the broker do any
// work. Like Kafka, which mutes the channel while it authenticates, it then handles one request at a
// time, in order: a request pipelined behind the last SaslAuthenticate is handled as the user that
// SaslAuthenticate authenticated, and one pipelined behind a failed step is never handled. Its frames are
// held to Kafka's sasl.server.max.receive.size, and it is closed if it has not authenticated in time.

import type { Socket } from "node:net";
import { anonymousCaller, BrookError, type Caller, isAssertionError, stopOnAssertion } from "@brook/protocol";
import type { Logger } from "pino";
import { isSupported, supportedApiVersions } from "../codec/apis.js";
import { KafkaDecodeError } from "../codec/errors.js";
import { type FrameLimit, FrameSplitter, KafkaFrameError } from "../codec/frame-splitter.js";
import { decodeRequestHeader, type RequestHeader } from "../codec/headers.js";
import { decodeRequest, encodeResponse, type KafkaRequest } from "../codec/messages.js";
import { KafkaErrorCode } from "../error-codes.js";
import { ApiKey, type ApiKeyNumber } from "../generated/messages.js";
import {
  type KafkaSaslOptions,
  SASL_AUTHENTICATION_TIMEOUT_MS_DEFAULT,
  SASL_REQUEST_BYTES_MAX,
  SaslSession,
  type SaslStep,
} from "./sasl.js";

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
  connection: {
    clientHost: string;
    caller: Caller;
    signal: AbortSignal;
    close: () => void;
    /** Stops reading the client's requests for this long (a throttled client, as Kafka mutes its channel). */
    mute: (ms: number) => void;
  },
) => Promise<Answer>;

/**
 * Whether the client must still authenticate:
 * - open: the listener has no SASL, or the client authenticated; requests go to the dispatcher;
 * - pending: requests go to `session`; `deadline` closes the connection if it takes too long.
 */
type Authentication =
  | { readonly state: "open" }
  | { readonly state: "pending"; readonly session: SaslSession; readonly deadline: NodeJS.Timeout };

/** How long a connection refused during SASL waits for the client to close, once its answer is written. */
const REFUSED_LINGER_MS = 2_000;

export class KafkaConnection {
  /** Bytes read and not yet handed on, split into frames only as requests are started. */
  private readonly splitter: FrameSplitter;
  /** Requests in arrival order; each is written once it and every one before it are answered. */
  private readonly answers: PendingAnswer[] = [];
  private readonly closed = new AbortController();
  private pumping = false;
  /** Set while the client is throttled: no request is taken until it fires. */
  private muteTimer: NodeJS.Timeout | undefined;
  private mutedUntil = 0;
  private authentication: Authentication;
  private readonly frameLimits: { readonly open: FrameLimit; readonly authenticating: FrameLimit };
  readonly clientHost: string;
  /** Who the client is: anonymous until it authenticates (SASL, a TLS client certificate). */
  caller: Caller;

  constructor(
    private readonly socket: Socket,
    private readonly dispatch: Dispatch,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    caller: Caller = anonymousCaller(socket.remoteAddress ?? "unknown"),
    sasl?: KafkaSaslOptions,
  ) {
    this.caller = caller;
    this.splitter = new FrameSplitter(limits.requestBytesMax);
    this.frameLimits = {
      open: { bytesMax: limits.requestBytesMax },
      authenticating: {
        bytesMax: Math.min(limits.requestBytesMax, SASL_REQUEST_BYTES_MAX),
        name: "sasl.server.max.receive.size, before the client authenticates",
      },
    };
    this.clientHost = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    this.authentication = sasl === undefined ? { state: "open" } : this.pendingAuthentication(sasl);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.received(chunk));
    socket.on("drain", () => this.pump());
    socket.on("error", (error) =>
      this.logger.debug({ client: this.clientHost, error: error.message }, "socket error"),
    );
    socket.on("close", () => {
      this.closed.abort();
      if (this.authentication.state === "pending") clearTimeout(this.authentication.deadline);
    });
  }

  get isClosed(): boolean {
    return this.closed.signal.aborted;
  }

  /** Ends the connection now; requests under way finish, their answers are dropped. */
  close(): void {
    this.closed.abort();
    this.socket.destroy();
  }

  private pendingAuthentication(sasl: KafkaSaslOptions): Authentication {
    const timeoutMs = sasl.authenticationTimeoutMs ?? SASL_AUTHENTICATION_TIMEOUT_MS_DEFAULT;
    const deadline = setTimeout(() => this.authenticationTimedOut(timeoutMs), timeoutMs);
    deadline.unref(); // a connection's timer must not keep a stopping process alive
    return { state: "pending", session: new SaslSession(sasl), deadline };
  }

  private authenticationTimedOut(timeoutMs: number): void {
    if (this.isClosed || this.authentication.state !== "pending") return;
    this.logger.info(
      { client: this.clientHost, timeoutMs },
      "kafka client did not authenticate in time; closing the connection",
    );
    this.close();
  }

  private received(chunk: Buffer): void {
    if (this.isClosed) return; // refused, waiting for the client to close: what it sends is ignored
    this.splitter.append(chunk);
    this.pump();
  }

  /** Starts what the limits allow, writes what is answered, and reads again once there is room. */
  private pump(): void {
    if (this.pumping) return; // a request answered at once while starting: the loop below goes on
    this.pumping = true;
    while (!this.isClosed && this.answers.length < this.inFlightMax() && !this.blocked()) {
      const frame = this.nextFrame();
      if (frame === undefined) break;
      this.start(frame);
    }
    this.pumping = false;
    if (this.isClosed) return;
    const full = this.answers.length >= this.inFlightMax() || this.blocked();
    if (full) this.socket.pause();
    else this.socket.resume();
  }

  /** The next complete frame; undefined when there is none yet, or it was too large (then closed). */
  private nextFrame(): Buffer | undefined {
    try {
      return this.splitter.next(this.frameLimit());
    } catch (error) {
      if (!(error instanceof KafkaFrameError)) throw error;
      this.drop(`a malformed frame: ${error.message}`);
      return undefined;
    }
  }

  /** Kafka mutes an authenticating channel: one request at a time until the client has authenticated. */
  private inFlightMax(): number {
    return this.authentication.state === "pending" ? 1 : this.limits.requestsInFlightMax;
  }

  /** An unauthenticated client may not make the broker buffer a frame of socket.request.max.bytes. */
  private frameLimit(): FrameLimit {
    return this.authentication.state === "open" ? this.frameLimits.open : this.frameLimits.authenticating;
  }

  /**
   * The client is not reading its answers (wait for the socket to drain before taking more requests), or
   * it is throttled (muted until its throttle time has passed).
   */
  private blocked(): boolean {
    return this.socket.writableNeedDrain || this.muteTimer !== undefined;
  }

  /** Takes no new request for `ms`; a later, longer throttle extends it. */
  private mute(ms: number): void {
    if (ms <= 0 || this.isClosed) return;
    const until = Date.now() + ms;
    if (this.muteTimer !== undefined && until <= this.mutedUntil) return;
    clearTimeout(this.muteTimer);
    this.mutedUntil = until;
    this.muteTimer = setTimeout(() => {
      this.muteTimer = undefined;
      this.pump();
    }, ms);
    this.closed.signal.addEventListener("abort", () => clearTimeout(this.muteTimer), { once: true });
    this.pump();
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
    if (this.authentication.state === "pending") {
      this.authenticate(request, this.authentication.session);
      return;
    }
    const pending: PendingAnswer = { done: false, chunks: undefined };
    this.answers.push(pending);
    const connection = {
      clientHost: this.clientHost,
      caller: this.caller,
      signal: this.closed.signal,
      close: () => this.close(),
      mute: (ms: number) => this.mute(ms),
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

  /** A request of a client that has not authenticated: its SASL session answers, synchronously. */
  private authenticate(request: KafkaRequest, session: SaslSession): void {
    let step: SaslStep;
    try {
      step = session.handle(request);
    } catch (error) {
      this.failed(request.apiKey, error);
      return;
    }
    switch (step.outcome) {
      case "continue":
        this.answer(step.answer);
        return;
      case "authenticated":
        this.authenticated(step.principal);
        this.answer(step.answer);
        return;
      case "refused":
        if (step.answer !== undefined) this.answer(step.answer);
        this.refused(step.reason);
        return;
      default:
        unreachable(step);
    }
  }

  /**
   * From now on the client is `principal`, whatever a TLS client certificate said (Kafka's SASL_SSL: the
   * SASL identity is the principal); the host stays the one the connection came from.
   */
  private authenticated(principal: string): void {
    if (this.authentication.state === "pending") clearTimeout(this.authentication.deadline);
    this.authentication = { state: "open" };
    this.caller = { principal, host: this.caller.host };
    this.logger.debug({ client: this.clientHost, principal }, "kafka client authenticated");
  }

  /** Ends the connection once the answers already written have gone out, so the client reads why. */
  private refused(reason: string): void {
    if (this.isClosed) return;
    this.logger.info({ client: this.clientHost }, `kafka SASL: ${reason}; closing the connection`);
    if (this.authentication.state === "pending") clearTimeout(this.authentication.deadline);
    this.closed.abort();
    this.socket.end();
    // Keep reading (and ignoring) so the client's own close is seen; one that never closes is cut off.
    this.socket.resume();
    const linger = setTimeout(() => this.socket.destroy(), REFUSED_LINGER_MS);
    linger.unref();
    this.socket.once("close", () => clearTimeout(linger));
  }

  /** Queues an answer that is already encoded, and writes it if every answer before it is written. */
  private answer(chunks: Buffer[]): void {
    this.answers.push({ done: true, chunks });
    this.writeAnswered();
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
    this.answer(encodeResponse(ApiKey.ApiVersions, 0, header.correlationId, body));
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

  /**
   * A handler that throws: Kafka closes the connection, and so does Brook. A typed error is a request
   * refused as a whole (a field no answer can carry an error for, such as an unknown isolation level):
   * the client's doing, logged as such, so a client cannot fill the log with errors. Anything else is a
   * bug, logged as an error; a failed assertion stops the node instead (the state it left may be wrong).
   */
  private failed(apiKey: ApiKeyNumber, error: unknown): void {
    if (isAssertionError(error)) stopOnAssertion(error);
    if (this.isClosed) return;
    if (error instanceof BrookError) {
      this.logger.info(
        { client: this.clientHost, apiKey, err: error.message },
        "kafka request refused; closing the connection",
      );
    } else {
      this.logger.error(
        { client: this.clientHost, apiKey, err: error },
        "kafka request failed; closing the connection",
      );
    }
    this.close();
  }

  private drop(what: string): void {
    if (this.isClosed) return;
    this.logger.info({ client: this.clientHost }, `kafka client sent ${what}; closing the connection`);
    this.close();
  }
}

function unreachable(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}
