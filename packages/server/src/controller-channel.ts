// How a combined node's broker reaches the active controller: its own
// Controller first, and on NOT_CONTROLLER the active one over gRPC, named by
// the error and looked up in the voters map. While the quorum has no active
// controller (an election), it retries with a bounded backoff.

import type { ControllerChannel } from "@brook/broker";
import {
  activeControllerIdOf,
  allocateProducerIds,
  alterPartition,
  alterUserScramCredentials,
  brokerHeartbeat,
  type Controller,
  createAcls,
  createPartitions,
  createTopics,
  deleteAcls,
  deleteTopics,
  describeQuorum,
  NotActiveControllerError,
  type RaftMetadataLog,
  registerBroker,
} from "@brook/controller";
import {
  type AllocateProducerIdsResponse,
  type AlterPartitionRequest__Output,
  type AlterPartitionResponse,
  asBrookError,
  type BrokerHeartbeatRequest__Output,
  type BrokerHeartbeatResponse,
  BrookError,
  type ChannelSecurity,
  type ControllerClient,
  type ControllerStatus,
  createControllerClient,
  type DescribeControllerResponse,
  type DescribeQuorumResponse,
  fromServiceError,
  type RegisterBrokerRequest__Output,
  type RegisterBrokerResponse,
} from "@brook/protocol";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";

/** A forwarded write gives up after this long (several elections' worth). */
export const forwardTimeoutMs = 15_000;
/** How long cluster status waits for a voter's own term and commit index; past it they show as unknown. */
const describeControllerTimeoutMs = 1_000;
/** Attempts per write, local and forwarded together. */
export const forwardAttemptsMax = 60;
/** Backoff while no active controller is known or it cannot be reached: doubles up to the max. */
export const forwardBackoffMsMin = 50;
export const forwardBackoffMsMax = 500;
/** One forwarded call's deadline. */
export const forwardCallTimeoutMs = 5_000;
/**
 * How often a one-shot controller call (a heartbeat), forwarded or local,
 * checks whether this node has learned of another active controller, to go
 * there instead of waiting out the deadline on one that lost the quorum.
 */
const leaderChangeCheckMs = 20;
/** Attempts to catch the local image up after a forwarded write (a read index needs a leader). */
const syncAttemptsMax = 20;

type Method =
  | "CreateTopics"
  | "DeleteTopics"
  | "CreatePartitions"
  | "RegisterBroker"
  | "BrokerHeartbeat"
  | "AlterPartition"
  | "AllocateProducerIds"
  | "DescribeQuorum"
  | "DescribeController"
  | "AlterUserScramCredentials"
  | "CreateAcls"
  | "DeleteAcls";

export class ForwardingControllerChannel implements ControllerChannel {
  private readonly clients = new Map<number, ControllerClient>();

  constructor(
    private readonly nodeId: number,
    private readonly controller: Controller,
    private readonly log: RaftMetadataLog,
    private readonly voters: ReadonlyMap<number, string>,
    private readonly logger: Logger,
    /** TLS and node identity for the calls to other controllers. */
    private readonly security: ChannelSecurity,
  ) {}

  createTopics: ControllerChannel["createTopics"] = (request) =>
    this.write("CreateTopics", request, () => createTopics(this.controller, request));

  deleteTopics: ControllerChannel["deleteTopics"] = (request) =>
    this.write("DeleteTopics", request, () => deleteTopics(this.controller, request));

  createPartitions: ControllerChannel["createPartitions"] = (request) =>
    this.write("CreatePartitions", request, () => createPartitions(this.controller, request));

  alterUserScramCredentials: ControllerChannel["alterUserScramCredentials"] = (request) =>
    this.write("AlterUserScramCredentials", request, () =>
      alterUserScramCredentials(this.controller, request),
    );

  createAcls: ControllerChannel["createAcls"] = (request) =>
    this.write("CreateAcls", request, () => createAcls(this.controller, request));

  deleteAcls: ControllerChannel["deleteAcls"] = (request) =>
    this.write("DeleteAcls", request, () => deleteAcls(this.controller, request));

  registerBroker(request: RegisterBrokerRequest__Output): Promise<RegisterBrokerResponse> {
    return this.write("RegisterBroker", request, () => registerBroker(this.controller, request));
  }

  alterPartition: ControllerChannel["alterPartition"] = (request: AlterPartitionRequest__Output) =>
    this.write<AlterPartitionResponse>("AlterPartition", request, () =>
      alterPartition(this.controller, request),
    );

  allocateProducerIds: ControllerChannel["allocateProducerIds"] = async (brokerId) => {
    const request = { brokerId };
    const response = await this.write<AllocateProducerIdsResponse>("AllocateProducerIds", request, () =>
      allocateProducerIds(this.controller, request),
    );
    return { firstProducerId: Number(response.firstProducerId), count: response.count ?? 0 };
  };

  /**
   * One heartbeat, to the active controller as this node knows it, without
   * the retries of a write: the next heartbeat is the retry. Told of another
   * active controller, it goes there at once, once.
   */
  heartbeat(request: BrokerHeartbeatRequest__Output, timeoutMs: number): Promise<BrokerHeartbeatResponse> {
    return this.once("BrokerHeartbeat", request, timeoutMs, () => brokerHeartbeat(this.controller, request));
  }

  /**
   * Every voter with its own term and commit index (asked of each; -1 for
   * one that does not answer) and the active controller's view of its
   * progress (match index, lag; -1 when the active controller cannot be asked).
   */
  async quorumStatus(): Promise<ControllerStatus[]> {
    const members = await this.quorumProgress();
    const selves = await Promise.all(members.map((member) => this.describeController(member.id ?? -1)));
    return members.map((member, index) => {
      const self = selves[index];
      if (self === undefined) return member;
      return { ...member, term: Number(self.term), commitIndex: Number(self.commitIndex) };
    });
  }

  private async describeController(id: number): Promise<DescribeControllerResponse | undefined> {
    if (id === this.nodeId) return this.controller.describeSelf();
    try {
      return await this.forward<DescribeControllerResponse>(
        id,
        "DescribeController",
        {},
        describeControllerTimeoutMs,
      );
    } catch (error) {
      this.logger.debug({ voter: id, error: asBrookError(error).message }, "describe controller: no answer");
      return undefined;
    }
  }

  /** The active controller's view of each voter's progress; what this node knows alone when it cannot be asked. */
  private async quorumProgress(): Promise<ControllerStatus[]> {
    try {
      const quorum = await this.once<DescribeQuorumResponse>(
        "DescribeQuorum",
        {},
        forwardCallTimeoutMs,
        async () => describeQuorum(this.controller),
      );
      return (quorum.voters ?? []).map((voter) => ({
        id: voter.id,
        leader: voter.leader,
        term: voter.leader ? Number(quorum.term) : -1,
        commitIndex: voter.leader ? Number(quorum.commitIndex) : -1,
        matchIndex: Number(voter.matchIndex),
        lag: Number(voter.lag),
      }));
    } catch (error) {
      this.logger.debug({ error: asBrookError(error).message }, "describe quorum: using the local view");
    }
    const members = this.controller.quorumStatus();
    const ownTerm = members.find((member) => member.id === this.nodeId)?.term;
    return members.map((member) => ({
      id: member.id,
      leader: member.leader,
      term: member.term ?? (member.leader ? ownTerm : undefined) ?? -1,
      commitIndex: member.commitIndex ?? -1,
      matchIndex: -1,
      lag: -1,
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

  /**
   * One call on the active controller: local when this node is it, else
   * forwarded (once more if redirected). Either is abandoned as soon as this
   * node's Raft names another active controller: a heartbeat stuck on a
   * controller cut off from the quorum (its own, waiting for a quorum to
   * confirm it still leads, or another) would otherwise miss the new
   * controller's first session and get a live broker fenced.
   */
  private async once<Res>(
    method: Method,
    request: object,
    timeoutMs: number,
    local: () => Promise<Res>,
  ): Promise<Res> {
    let target = this.controller.activeControllerId() ?? this.nodeId;
    for (let attempt = 1; ; attempt++) {
      try {
        return target === this.nodeId
          ? await unlessAbandoned(withinMs(local(), timeoutMs, method), this.movedFrom(target))
          : await this.forward<Res>(target, method, request, timeoutMs, this.movedFrom(target));
      } catch (error) {
        const named = activeControllerIdOf(error);
        if (attempt > 1 || named === undefined || named === target || !this.voters.has(named)) throw error;
        target = named;
      }
    }
  }

  /** For once(): a NOT_CONTROLLER naming the new one when this node's Raft names another active controller than `target`. */
  private movedFrom(target: number): () => Error | undefined {
    return () => {
      const active = this.controller.activeControllerId();
      return active !== undefined && active !== target
        ? new NotActiveControllerError(target, active)
        : undefined;
    };
  }

  /** A call on another controller; `abandon` (checked every leaderChangeCheckMs) cancels it with its error. */
  private forward<Res>(
    target: number | undefined,
    method: Method,
    request: object,
    timeoutMs = forwardCallTimeoutMs,
    abandon?: () => Error | undefined,
  ): Promise<Res> {
    const client = this.clientFor(target);
    // biome-ignore lint/suspicious/noExplicitAny: one call site for three typed unary methods
    const call = (client as any)[method].bind(client) as (
      request: object,
      options: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, response?: Res) => void,
    ) => grpc.ClientUnaryCall;
    let unary: grpc.ClientUnaryCall | undefined;
    const answer = new Promise<Res>((resolve, reject) => {
      unary = call(request, { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(fromServiceError(error)) : resolve(response as Res),
      );
    });
    return abandon === undefined ? answer : unlessAbandoned(answer, abandon, () => unary?.cancel());
  }

  private clientFor(target: number | undefined): ControllerClient {
    const address = target === undefined ? undefined : this.voters.get(target);
    if (target === undefined || address === undefined) {
      throw new BrookError("NOT_CONTROLLER", "no active controller is known yet; retry shortly");
    }
    let client = this.clients.get(target);
    if (client === undefined) {
      client = createControllerClient(address, this.security);
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

/**
 * The same deadline for the local controller as a forwarded call has: a
 * proposal waits for its commit, which never comes while the quorum is lost.
 * The proposal may still commit later; a caller of once() retries anyway.
 */
function withinMs<T>(work: Promise<T>, timeoutMs: number, method: Method): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BrookError("REQUEST_TIMED_OUT", `${method} was not answered within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `work`, unless `abandon` (checked every leaderChangeCheckMs until `work`
 * settles) returns an error first: then that error, after `onAbandon`.
 */
function unlessAbandoned<T>(
  work: Promise<T>,
  abandon: () => Error | undefined,
  onAbandon?: () => void,
): Promise<T> {
  let watch: NodeJS.Timeout | undefined;
  const abandoned = new Promise<never>((_, reject) => {
    watch = setInterval(() => {
      const reason = abandon();
      if (reason === undefined) return;
      onAbandon?.();
      reject(reason);
    }, leaderChangeCheckMs);
  });
  return Promise.race([work, abandoned]).finally(() => clearInterval(watch));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
