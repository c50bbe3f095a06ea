// How a combined node's broker reaches the active controller: its own
// Controller first, and on NOT_CONTROLLER the active one over gRPC, named by
// the error and looked up in the voters map. While the quorum has no active
// controller (an election), it retries with a bounded backoff.

import type { ControllerChannel } from "@brook/broker";
import {
  activeControllerIdOf,
  type Controller,
  createTopics,
  deleteTopics,
  type RaftMetadataLog,
} from "@brook/controller";
import {
  asBrookError,
  BrookError,
  type ControllerClient,
  type ControllerStatus,
  createControllerClient,
  fromServiceError,
} from "@brook/protocol";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

/** A forwarded write gives up after this long (several elections' worth). */
export const forwardTimeoutMs = 15_000;
/** Attempts per write, local and forwarded together. */
export const forwardAttemptsMax = 60;
/** Backoff while no active controller is known or it cannot be reached: doubles up to the max. */
export const forwardBackoffMsMin = 50;
export const forwardBackoffMsMax = 500;
/** One forwarded call's deadline. */
export const forwardCallTimeoutMs = 5_000;
/** Attempts to catch the local image up after a forwarded write (a read index needs a leader). */
const syncAttemptsMax = 20;

export interface BrokerRegistration {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly host: string;
  readonly port: number;
}

type Method = "CreateTopics" | "DeleteTopics" | "RegisterBroker";

export class ForwardingControllerChannel implements ControllerChannel {
  private readonly clients = new Map<number, ControllerClient>();

  constructor(
    private readonly nodeId: number,
    private readonly controller: Controller,
    private readonly log: RaftMetadataLog,
    private readonly voters: ReadonlyMap<number, string>,
    private readonly logger: Logger,
  ) {}

  createTopics: ControllerChannel["createTopics"] = (request) =>
    this.write("CreateTopics", request, () => createTopics(this.controller, request));

  deleteTopics: ControllerChannel["deleteTopics"] = (request) =>
    this.write("DeleteTopics", request, () => deleteTopics(this.controller, request));

  async registerBroker(registration: BrokerRegistration): Promise<void> {
    await this.write("RegisterBroker", registration, async () => {
      await this.controller.registerBroker(registration);
      return {};
    });
  }

  /**
   * Every voter. This node knows its own term and commit index, and the
   * leader's term (a node knows a leader only in its own current term); the
   * rest is -1 until RaftNode exposes the leader's per-peer progress.
   */
  async quorumStatus(): Promise<ControllerStatus[]> {
    const members = this.controller.quorumStatus();
    const ownTerm = members.find((member) => member.id === this.nodeId)?.term;
    return members.map((member) => ({
      id: member.id,
      leader: member.leader,
      term: member.term ?? (member.leader ? ownTerm : undefined) ?? -1,
      commitIndex: member.commitIndex ?? -1,
    }));
  }

  activeControllerId(): number {
    return this.controller.activeControllerId() ?? -1;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  /**
   * Runs a write on the active controller, wherever it is, then waits until
   * this node has applied everything committed so far, so the local image
   * (which the broker follows) shows the write before the caller hears of it.
   */
  private async write<Res>(method: Method, request: object, local: () => Promise<Res>): Promise<Res> {
    const deadline = Date.now() + forwardTimeoutMs;
    let backoffMs = forwardBackoffMsMin;
    let target: number | undefined = this.nodeId;
    for (let attempt = 1; ; attempt++) {
      try {
        if (target === this.nodeId) return await local();
        const response = await this.forward<Res>(target, method, request);
        await this.syncLocalImage();
        return response;
      } catch (error) {
        const brook = asBrookError(error);
        if (!brook.retriable || attempt >= forwardAttemptsMax || Date.now() >= deadline) {
          throw attempt > 1 && brook.retriable ? giveUp(method, attempt, brook) : brook;
        }
        const named = activeControllerIdOf(brook);
        if (named !== undefined && named !== target && this.voters.has(named)) {
          target = named; // told where to go: go at once
          continue;
        }
        this.logger.debug({ method, attempt, target, error: brook.message }, "controller write: retrying");
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, forwardBackoffMsMax);
        target = this.controller.activeControllerId() ?? this.nodeId;
      }
    }
  }

  private forward<Res>(target: number | undefined, method: Method, request: object): Promise<Res> {
    const client = this.clientFor(target);
    return new Promise((resolve, reject) => {
      // biome-ignore lint/suspicious/noExplicitAny: one call site for three typed unary methods
      const call = (client as any)[method].bind(client) as (
        request: object,
        options: grpc.CallOptions,
        callback: (error: grpc.ServiceError | null, response?: Res) => void,
      ) => void;
      call(request, { deadline: Date.now() + forwardCallTimeoutMs }, (error, response) =>
        error ? reject(fromServiceError(error)) : resolve(response as Res),
      );
    });
  }

  private clientFor(target: number | undefined): ControllerClient {
    const address = target === undefined ? undefined : this.voters.get(target);
    if (target === undefined || address === undefined) {
      throw new BrookError("NOT_CONTROLLER", "no active controller is known yet; retry shortly");
    }
    let client = this.clients.get(target);
    if (client === undefined) {
      client = createControllerClient(address);
      this.clients.set(target, client);
    }
    return client;
  }

  /** Bounded: a read index fails while there is no leader; then it tries again shortly. */
  private async syncLocalImage(): Promise<void> {
    for (let attempt = 1; attempt <= syncAttemptsMax; attempt++) {
      try {
        await this.log.sync();
        return;
      } catch (error) {
        this.logger.debug({ attempt, error: asBrookError(error).message }, "local metadata sync: retrying");
        await sleep(forwardBackoffMsMin * attempt);
      }
    }
    throw new BrookError(
      "REQUEST_TIMED_OUT",
      `the write committed, but node ${this.nodeId} could not catch its metadata up after ${syncAttemptsMax} tries; retry to see its effect`,
    );
  }
}

function giveUp(method: Method, attempts: number, last: Error): BrookError {
  return new BrookError(
    "NOT_CONTROLLER",
    `${method} found no reachable active controller after ${attempts} attempts: ${last.message}`,
    { cause: last },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
