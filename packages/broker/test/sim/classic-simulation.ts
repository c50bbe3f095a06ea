// A deterministic simulation of one classic consumer group: Kafka-like clients (eager, range assignor,
// some static) join, sync, heartbeat, commit, leave, crash, stall, restart and change subscription,
// while the coordinator fails over (losing writes that were not yet replicated). It drives the
// production rules (ClassicGroup) through the production driver (ClassicCoordinator) with a simulated
// clock and a simulated __consumer_offsets partition whose records use the production format
// (records.ts), and a new coordinator loads the group from the last durable record, as on a real
// failover. After every event it checks the broker's invariants (checkInvariants); after the fault
// phase, that the group settles with every running client (liveness).

import { BrookError, type Record as LogRecord } from "@brook/protocol";
import { EventQueue, Random } from "@brook/testkit";
import { pino } from "pino";
import { ClassicCoordinator, type ClassicGroupStore } from "../../src/groups/classic-coordinator.js";
import {
  ClassicGroup,
  type ClassicGroupConfig,
  type ClassicGroupSnapshot,
  type ClassicJoinResult,
  type MemberIdRequiredError,
} from "../../src/groups/classic-group.js";
import { groupRecord, parseGroupRecord } from "../../src/groups/records.js";

const groupId = "sim-group";
const partitionCount = 6;
const heartbeatIntervalMs = 500;
const tickIntervalMs = 100;
const retryBackoffMs = 200;
const livenessMs = 60_000;
const clientsMax = 6;
const config: ClassicGroupConfig = { initialRebalanceDelayMs: 300, membersMax: 50, protocolsPerMemberMax: 4 };

export interface ClassicSimulationOptions {
  /** Events in the fault phase; about one in fifty is a fault. */
  readonly faultSteps: number;
  /** Lines of trace kept for a failure report. */
  readonly traceLines?: number;
}

export interface ClassicSimulationReport {
  seed: number;
  steps: number;
  simulatedMs: number;
  generations: number;
  failovers: number;
  lostWrites: number;
  crashes: number;
  staticRestarts: number;
  commitsAccepted: number;
  commitsRefused: number;
  traceHash: string;
}

export class ClassicSimulationError extends Error {}

/** One incarnation of the coordinator: the group as this broker has it, and its driver. */
interface Incarnation {
  readonly epoch: number;
  alive: boolean;
  group: ClassicGroup | undefined;
  readonly driver: ClassicCoordinator<Incarnation>;
}

interface PendingWrite {
  readonly value: ClassicGroupSnapshot | null;
  readonly done: { resolve: () => void; reject: (error: unknown) => void }[];
}

type Phase = "down" | "joining" | "syncing" | "stable" | "fenced";

class Client {
  phase: Phase = "down";
  memberId = "";
  generation = -1;
  owned: number[] = [];
  /** Bumped on every start and crash: answers to an earlier incarnation's requests are ignored. */
  life = 0;
  stalledUntilMs = 0;
  subscriptionVersion = 0;
  longPoll: AbortController | undefined;

  constructor(
    readonly clientId: string,
    readonly instanceId: string | null,
    /** Some members' rebalance timeout is shorter than their session: a join phase may end without them. */
    readonly sessionTimeoutMs: number,
    readonly rebalanceTimeoutMs: number,
  ) {}

  get running(): boolean {
    return this.phase !== "down" && this.phase !== "fenced";
  }
}

export class ClassicGroupSimulation {
  private readonly random: Random;
  private readonly queue = new EventQueue<{ name: string; run: () => void }>();
  private nowMs = 0;
  private steps = 0;
  private incarnation: Incarnation | undefined;
  private epochs = 0;
  private nextMemberId = 0;
  private readonly clients: Client[] = [];
  /** The last durable group record (what a new coordinator loads), and what waits to be replicated. */
  private durable: ClassicGroupSnapshot | null = null;
  private pending: PendingWrite[] = [];
  private replicationScheduled = false;
  /** The assignment of each generation that became durable as Stable, as a sorted multiset. */
  private readonly stableAssignments = new Map<number, string>();
  private durableGenerationMax = 0;
  private deliveredGenerationMax = 0;
  private readonly trace: string[] = [];
  /** The first invariant broken, also when found in a promise continuation. */
  private violation: ClassicSimulationError | undefined;
  private traceHash = 0;
  private readonly report: Omit<ClassicSimulationReport, "seed" | "steps" | "simulatedMs" | "traceHash"> = {
    generations: 0,
    failovers: 0,
    lostWrites: 0,
    crashes: 0,
    staticRestarts: 0,
    commitsAccepted: 0,
    commitsRefused: 0,
  };

  constructor(
    readonly seed: number,
    private readonly options: ClassicSimulationOptions,
  ) {
    this.random = new Random(seed);
  }

  async run(): Promise<ClassicSimulationReport> {
    try {
      this.startCoordinator();
      const clientCount = this.random.int(2, clientsMax);
      for (let i = 0; i < clientCount; i++) {
        const client = this.newClient(`c${i}`, this.random.chance(0.3) ? `static-${i}` : null);
        this.at(this.random.int(0, 400), `start ${client.clientId}`, () => this.start(client));
      }
      this.at(tickIntervalMs, "tick", () => this.tick());
      for (let step = 0; step < this.options.faultSteps; step++) {
        if (this.random.chance(0.02)) this.at(0, "fault", () => this.fault());
        await this.step();
      }
      await this.settle();
    } catch (error) {
      if (error instanceof ClassicSimulationError) throw error;
      throw this.failure(`unexpected error: ${error instanceof Error ? error.stack : String(error)}`);
    }
    return {
      seed: this.seed,
      steps: this.steps,
      simulatedMs: this.nowMs,
      ...this.report,
      traceHash: this.traceHash.toString(16),
    };
  }

  // ---- the event loop ----

  private at(delayMs: number, name: string, run: () => void): void {
    this.queue.push(this.nowMs + delayMs, { name, run });
  }

  private async step(): Promise<void> {
    const next = this.queue.pop();
    if (next === undefined) throw this.failure("the event queue ran dry");
    this.nowMs = next.time;
    this.steps++;
    this.log(next.event.name);
    next.event.run();
    // Let every promise continuation run (answers delivered, clients' handlers) before the next event.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.violation !== undefined) throw this.violation;
    this.checkInvariants();
  }

  private tick(): void {
    const incarnation = this.incarnation;
    if (incarnation?.alive && incarnation.group !== undefined) {
      incarnation.driver.tick(incarnation, incarnation.group, this.nowMs);
    }
    this.at(tickIntervalMs, "tick", () => this.tick());
  }

  // ---- faults ----

  private fault(): void {
    const client = this.random.pick(this.clients);
    const choice = this.random.int(0, 9);
    if (choice === 0) {
      this.failover();
    } else if (choice <= 2 && client.running) {
      this.report.crashes++;
      this.crash(client);
      if (this.random.chance(0.7)) {
        if (client.instanceId !== null) this.report.staticRestarts++;
        const downMs = this.random.int(100, client.sessionTimeoutMs * 2);
        this.at(downMs, `restart ${client.clientId}`, () => this.start(client));
      }
    } else if (choice === 3 && client.running) {
      this.leave(client);
    } else if (choice === 4 && !client.running) {
      this.at(0, `start ${client.clientId}`, () => this.start(client));
    } else if (choice === 5 && client.running) {
      // A long pause (GC, a slow handler): no heartbeats, sometimes past the session timeout.
      client.stalledUntilMs = this.nowMs + this.random.int(500, client.sessionTimeoutMs * 2);
      this.log(`${client.clientId} stalls until ${client.stalledUntilMs}`);
    } else if (choice === 6 && client.phase === "stable") {
      // New subscription metadata (or cooperative-sticky's second rebalance): the client rejoins.
      client.subscriptionVersion++;
      this.join(client);
    } else if (choice === 7 && client.running && client.instanceId !== null) {
      // A second process with the same instance id: the old one must end up fenced.
      const twin = this.newClient(`${client.clientId}'`, client.instanceId);
      this.at(0, `start ${twin.clientId}`, () => this.start(twin));
    } else if (choice === 8 && client.longPoll !== undefined) {
      this.log(`${client.clientId}'s connection closes`);
      client.longPoll.abort();
    }
  }

  /** The coordinator's broker dies: unreplicated writes may be lost; a new one loads what is durable. */
  private failover(): void {
    const old = this.incarnation;
    if (old === undefined || !old.alive) return;
    this.report.failovers++;
    old.alive = false;
    const kept = this.random.int(0, this.pending.length);
    for (const write of this.pending.slice(0, kept)) this.makeDurable(write.value);
    this.report.lostWrites += this.pending.length - kept;
    const moved = new BrookError("NOT_COORDINATOR", "the coordinator moved");
    for (const write of this.pending) for (const { reject } of write.done) reject(moved);
    this.pending = [];
    if (old.group !== undefined) old.driver.abandon(old.group, moved);
    this.log(
      `failover: ${kept} pending write(s) kept; durable generation ${this.durable?.generationId ?? "-"}`,
    );
    this.at(this.random.int(50, 1_500), "new coordinator", () => this.startCoordinator());
  }

  private startCoordinator(): void {
    const incarnation: Incarnation = {
      epoch: ++this.epochs,
      alive: true,
      group: undefined,
      driver: new ClassicCoordinator(this.store()),
    };
    const stored = this.replay();
    if (stored !== null) {
      incarnation.group = ClassicGroup.fromSnapshot(stored, this.nowMs, config, () => this.memberIdSuffix());
      this.keepOffsets(incarnation.group);
      if (incarnation.group.generationId < this.deliveredGenerationMax) {
        throw this.failure(
          `loaded generation ${incarnation.group.generationId} is behind generation ${this.deliveredGenerationMax} already answered`,
        );
      }
    }
    this.incarnation = incarnation;
    this.log(
      `coordinator ${incarnation.epoch} loaded ${stored === null ? "nothing" : describe(incarnation.group!)}`,
    );
  }

  /** The durable record read back through the production record format, as a new coordinator replays it. */
  private replay(): ClassicGroupSnapshot | null {
    const input = groupRecord(groupId, this.durable);
    const record: LogRecord = {
      offset: 0,
      timestamp: 0,
      key: Buffer.from(input.key as string),
      value: input.value === null || input.value === undefined ? null : Buffer.from(input.value as string),
      headers: [],
    } as unknown as LogRecord;
    const parsed = parseGroupRecord(record);
    if (parsed.kind !== "group") throw this.failure("a group record read back as an offset record");
    return parsed.value as ClassicGroupSnapshot | null;
  }

  // ---- the simulated __consumer_offsets partition ----

  private store(): ClassicGroupStore<Incarnation> {
    return {
      nowMs: () => this.nowMs,
      logger: pino({ level: "silent" }),
      persist: (incarnation, group) =>
        this.write(incarnation, group.isEmpty ? null : structuredClone(group.snapshot())),
      committed: (incarnation) => this.write(incarnation, undefined),
    };
  }

  /** Appends a record (undefined: only waits for what is appended); resolves once it is replicated. */
  private write(incarnation: Incarnation, value: ClassicGroupSnapshot | null | undefined): Promise<void> {
    if (!incarnation.alive) return Promise.reject(new BrookError("NOT_COORDINATOR", "the coordinator moved"));
    return new Promise((resolve, reject) => {
      if (value !== undefined) this.pending.push({ value, done: [] });
      const last = this.pending.at(-1);
      if (last === undefined) {
        resolve();
        return;
      }
      last.done.push({ resolve, reject });
      if (!this.replicationScheduled) {
        this.replicationScheduled = true;
        this.at(this.random.int(1, 150), "replicate", () => this.replicate());
      }
    });
  }

  private replicate(): void {
    this.replicationScheduled = false;
    const writes = this.pending;
    this.pending = [];
    for (const write of writes) this.makeDurable(write.value);
    for (const write of writes) for (const { resolve } of write.done) resolve();
  }

  private makeDurable(value: ClassicGroupSnapshot | null): void {
    this.durable = value;
    if (value === null) return;
    if (value.generationId < this.durableGenerationMax) {
      throw this.failure(
        `durable generation went back from ${this.durableGenerationMax} to ${value.generationId}`,
      );
    }
    if (value.generationId > this.durableGenerationMax) this.report.generations++;
    this.durableGenerationMax = value.generationId;
    if (value.state !== "Stable") return;
    // Within a Stable generation members may only change ids (a static member's restart), never partitions.
    const assignments = value.members
      .map((member) => member.assignment)
      .sort()
      .join("|");
    const first = this.stableAssignments.get(value.generationId);
    if (first === undefined) this.stableAssignments.set(value.generationId, assignments);
    else if (first !== assignments) {
      throw this.failure(
        `generation ${value.generationId} became Stable with two assignments: ${first} / ${assignments}`,
      );
    }
  }

  /** The group has committed offsets (an admin committed once): it is never deleted for being empty. */
  private keepOffsets(group: ClassicGroup): void {
    group.setOffset({ topic: "orders", partition: 0 }, { offset: 0, metadata: "", commitTimestampMs: 0 });
  }

  // ---- clients (Kafka consumers: eager rebalancing, range assignor) ----

  private newClient(clientId: string, instanceId: string | null): Client {
    const client = new Client(
      clientId,
      instanceId,
      this.random.int(2_000, 6_000),
      this.random.int(1_000, 6_000),
    );
    this.clients.push(client);
    return client;
  }

  private start(client: Client): void {
    if (client.running) return;
    client.life++;
    client.memberId = "";
    client.generation = -1;
    client.owned = [];
    client.phase = "joining";
    this.join(client);
    const life = client.life;
    this.at(heartbeatIntervalMs, `${client.clientId} heartbeats`, () => this.heartbeatLoop(client, life));
  }

  private crash(client: Client): void {
    this.log(`${client.clientId} crashes`);
    client.life++;
    client.phase = "down";
    client.owned = [];
    // Sometimes the broker sees the connection close; sometimes the socket just hangs.
    if (client.longPoll !== undefined && this.random.chance(0.5)) client.longPoll.abort();
    client.longPoll = undefined;
  }

  private leave(client: Client): void {
    const { memberId } = client;
    this.crash(client);
    if (memberId === "") return;
    this.request(client, "leave", (incarnation, group) =>
      incarnation.driver.leave(incarnation, group, [{ memberId, groupInstanceId: client.instanceId }]),
    );
  }

  private join(client: Client): void {
    client.phase = "joining";
    client.owned = [];
    const life = client.life;
    const signal = this.newLongPoll(client);
    const group = this.groupFor(client.memberId === "");
    const incarnation = this.incarnation!;
    const answer =
      group === undefined
        ? Promise.reject(this.unavailableOrUnknown())
        : incarnation.driver.join(
            incarnation,
            group,
            {
              memberId: client.memberId,
              groupInstanceId: client.instanceId,
              clientId: client.clientId,
              clientHost: "/sim",
              sessionTimeoutMs: client.sessionTimeoutMs,
              rebalanceTimeoutMs: client.rebalanceTimeoutMs,
              protocolType: "consumer",
              protocols: [{ name: "range", metadata: Buffer.from(`v${client.subscriptionVersion}`) }],
              requireKnownMemberId: true,
              supportsSkipAssignment: false,
            },
            signal,
          );
    this.handle(
      answer,
      (result) => this.onJoined(client, life, result),
      (error) => this.onError(client, life, "join", error),
    );
  }

  private onJoined(client: Client, life: number, result: ClassicJoinResult): void {
    if (client.life !== life) return;
    client.longPoll = undefined;
    this.checkDelivered(result.generationId, `join answer to ${result.memberId}`);
    client.memberId = result.memberId;
    client.generation = result.generationId;
    client.phase = "syncing";
    // A client that commits what it still holds before its SyncGroup (as a cooperative one may): refused.
    if (this.random.chance(0.2)) this.commit(client);
    const isLeader = result.leaderId === result.memberId && result.members.length > 0;
    const assignments = isLeader ? rangeAssign(result.members.map((m) => m.memberId)) : [];
    this.at(this.random.int(0, 30), `${client.clientId} syncs generation ${client.generation}`, () =>
      this.sync(client, life, assignments),
    );
  }

  private sync(client: Client, life: number, assignments: { memberId: string; assignment: Buffer }[]): void {
    if (client.life !== life || client.phase !== "syncing") return;
    const signal = this.newLongPoll(client);
    const generation = client.generation;
    this.request(
      client,
      "sync",
      (incarnation, group) =>
        incarnation.driver.sync(
          incarnation,
          group,
          {
            memberId: client.memberId,
            groupInstanceId: client.instanceId,
            generationId: generation,
            protocolType: "consumer",
            protocolName: "range",
            assignments,
          },
          signal,
        ),
      (result) => {
        client.longPoll = undefined;
        this.checkDelivered(generation, `sync answer to ${client.memberId}`);
        client.owned = parsePartitions(result.assignment);
        client.phase = "stable";
        this.log(
          `${client.clientId} (${client.memberId}) owns [${client.owned}] in generation ${generation}`,
        );
      },
    );
  }

  /**
   * The client's heartbeat thread (as Java's): every interval while it runs, also while it joins and
   * syncs, with the generation it knows, which the group may have left behind. A stall stops it.
   */
  private heartbeatLoop(client: Client, life: number): void {
    if (client.life !== life || !client.running) return;
    if (this.nowMs < client.stalledUntilMs) {
      this.at(client.stalledUntilMs - this.nowMs, `${client.clientId} wakes`, () => {
        if (client.life !== life) return;
        // It finished its batch: it commits first, with the generation it had, maybe a stale one.
        if (client.phase === "stable") this.commit(client);
        this.heartbeatLoop(client, life);
      });
      return;
    }
    if (client.memberId !== "" && client.generation >= 0) this.heartbeat(client);
    this.at(heartbeatIntervalMs, `${client.clientId} heartbeats`, () => this.heartbeatLoop(client, life));
  }

  private heartbeat(client: Client): void {
    const { memberId, generation, phase } = client;
    const before = this.membership(memberId, generation);
    this.request(
      client,
      "heartbeat",
      (incarnation, group) =>
        incarnation.driver.heartbeat(incarnation, group, {
          memberId,
          groupInstanceId: client.instanceId,
          generationId: generation,
        }),
      () => {
        if (!before.current) {
          throw this.failure(`heartbeat of ${memberId} at generation ${generation} succeeded: ${before.why}`);
        }
        if (client.phase === "stable" && this.random.chance(0.3)) this.commit(client);
      },
      // While it joins or syncs, the answer to that request decides what it does next.
      () => phase === "stable" && client.phase === "stable" && client.generation === generation,
    );
  }

  /** A commit of what the client owns, checked by the group's rules (the coordinator's validation). */
  private commit(client: Client): void {
    const group = this.incarnation?.alive ? this.incarnation.group : undefined;
    this.log(`${client.clientId} commits at generation ${client.generation}`);
    if (group === undefined) return;
    const member = group.memberViews().some((m) => m.memberId === client.memberId);
    const current =
      member && group.generationId === client.generation && group.state !== "CompletingRebalance";
    try {
      group.validateCommit({
        memberId: client.memberId,
        groupInstanceId: client.instanceId,
        generationId: client.generation,
      });
    } catch (error) {
      if (!(error instanceof BrookError)) throw error;
      this.report.commitsRefused++;
      return;
    }
    if (!current) {
      throw this.failure(
        `commit of ${client.memberId} at generation ${client.generation} accepted by ${describe(group)}`,
      );
    }
    this.report.commitsAccepted++;
  }

  /** Sends a request to the coordinator now; on success runs `then`, on failure the client's error rules. */
  private request<T>(
    client: Client,
    what: "sync" | "heartbeat" | "leave",
    send: (incarnation: Incarnation, group: ClassicGroup) => Promise<T>,
    then: (result: T) => void = () => undefined,
    /** Whether a failure still matters to the client (default: it does). */
    actsOnError: () => boolean = () => true,
  ): void {
    const life = client.life;
    const incarnation = this.incarnation!;
    const group = this.groupFor(false);
    const answer =
      group === undefined ? Promise.reject(this.unavailableOrUnknown()) : send(incarnation, group);
    this.handle(
      answer,
      (result) => {
        if (client.life === life) then(result);
      },
      (error) => {
        const fenced = error instanceof BrookError && error.code === "FENCED_INSTANCE_ID";
        if (what !== "leave" && (fenced || actsOnError())) this.onError(client, life, what, error);
      },
    );
  }

  /** A Kafka client's reaction to an error: rejoin, start over, retry later, or stop (fenced). */
  private onError(client: Client, life: number, what: string, error: unknown): void {
    if (client.life !== life) return;
    if (!(error instanceof BrookError)) throw this.failure(`${what} failed with ${String(error)}`);
    this.log(`${client.clientId} ${what}: ${error.code}`);
    switch (error.code) {
      case "MEMBER_ID_REQUIRED":
        client.memberId = (error as MemberIdRequiredError).memberId;
        this.at(0, `${client.clientId} joins with its id`, () => this.joinIfAlive(client, life));
        return;
      case "UNKNOWN_MEMBER_ID":
        client.memberId = "";
        this.at(0, `${client.clientId} joins anew`, () => this.joinIfAlive(client, life));
        return;
      case "REBALANCE_IN_PROGRESS":
      case "ILLEGAL_GENERATION":
        this.at(0, `${client.clientId} rejoins`, () => this.joinIfAlive(client, life));
        return;
      case "NOT_COORDINATOR":
      case "COORDINATOR_NOT_AVAILABLE":
        // A heartbeat is simply sent again on the next beat; a rebalance request starts over.
        if (what !== "heartbeat") {
          this.at(retryBackoffMs, `${client.clientId} rejoins after a coordinator change`, () =>
            this.joinIfAlive(client, life),
          );
        }
        return;
      case "REQUEST_TIMED_OUT": // its own connection closed: a new one, a new JoinGroup
        this.at(retryBackoffMs, `${client.clientId} reconnects`, () => this.joinIfAlive(client, life));
        return;
      case "FENCED_INSTANCE_ID":
        if (client.instanceId === null) throw this.failure(`dynamic member ${client.memberId} was fenced`);
        client.phase = "fenced";
        client.life++;
        client.owned = [];
        return;
      default:
        throw this.failure(`${client.clientId}'s ${what} failed with ${error.code}: ${error.message}`);
    }
  }

  /** Runs a client's reaction to an answer; a broken invariant found there fails the next step. */
  private handle<T>(answer: Promise<T>, ok: (result: T) => void, failed: (error: unknown) => void): void {
    answer.then(ok, failed).catch((error: unknown) => {
      this.violation ??=
        error instanceof ClassicSimulationError
          ? error
          : this.failure(`a client's handler threw: ${String(error)}`);
    });
  }

  private joinIfAlive(client: Client, life: number): void {
    if (client.life === life && client.running) this.join(client);
  }

  private newLongPoll(client: Client): AbortSignal {
    client.longPoll = new AbortController();
    return client.longPoll.signal;
  }

  /** The live coordinator's group; a JoinGroup without member id creates it (the coordinator's lookup). */
  private groupFor(create: boolean): ClassicGroup | undefined {
    const incarnation = this.incarnation;
    if (incarnation === undefined || !incarnation.alive) return undefined;
    if (incarnation.group === undefined && create) {
      incarnation.group = new ClassicGroup(groupId, config, () => this.memberIdSuffix());
      this.keepOffsets(incarnation.group);
    }
    return incarnation.group;
  }

  private unavailableOrUnknown(): BrookError {
    return this.incarnation?.alive
      ? new BrookError("UNKNOWN_MEMBER_ID", "no such group")
      : new BrookError("NOT_COORDINATOR", "the coordinator is moving");
  }

  private memberIdSuffix(): string {
    return String(++this.nextMemberId);
  }

  // ---- invariants ----

  /** Whether (member, generation) is current in the live group right now, and why not. */
  private membership(memberId: string, generation: number): { current: boolean; why: string } {
    const group = this.incarnation?.alive ? this.incarnation.group : undefined;
    if (group === undefined) return { current: false, why: "no live coordinator" };
    if (!group.memberViews().some((member) => member.memberId === memberId)) {
      return { current: false, why: `${memberId} is not a member` };
    }
    if (group.generationId !== generation) {
      return { current: false, why: `the group is at generation ${group.generationId}` };
    }
    if (group.state === "PreparingRebalance") return { current: false, why: "a rebalance is in progress" };
    return { current: true, why: "" };
  }

  /** An answer is delivered only once the group's record carrying its generation is durable. */
  private checkDelivered(generation: number, what: string): void {
    if (generation > this.durableGenerationMax) {
      throw this.failure(
        `${what} carries generation ${generation}; only ${this.durableGenerationMax} is durable`,
      );
    }
    this.deliveredGenerationMax = Math.max(this.deliveredGenerationMax, generation);
  }

  private checkInvariants(): void {
    const group = this.incarnation?.alive ? this.incarnation.group : undefined;
    if (group !== undefined && group.state === "Stable") {
      // Every member of a Stable group holds this generation's assignment, none of it twice.
      const assignments = group.memberViews().map((member) => member.assignment.toString("base64"));
      const durable = this.stableAssignments.get(group.generationId);
      if (durable !== undefined && durable !== [...assignments].sort().join("|")) {
        throw this.failure(
          `Stable generation ${group.generationId} holds another assignment than the one stored`,
        );
      }
      const partitions = group.memberViews().flatMap((member) => parsePartitions(member.assignment));
      if (new Set(partitions).size !== partitions.length) {
        throw this.failure(
          `a partition is assigned twice in generation ${group.generationId}: [${partitions}]`,
        );
      }
    }
    // Members of one generation own disjoint partitions. (A replaced static member's old process may
    // still think it owns its partitions until its next request is fenced: it is no member any more.)
    const members = new Set(group?.memberViews().map((member) => member.memberId));
    const byGeneration = new Map<number, number[]>();
    for (const client of this.clients) {
      if (client.phase !== "stable" || !members.has(client.memberId)) continue;
      const owned = byGeneration.get(client.generation) ?? [];
      for (const partition of client.owned) {
        if (owned.includes(partition)) {
          throw this.failure(`partition ${partition} is owned twice in generation ${client.generation}`);
        }
        owned.push(partition);
      }
      byGeneration.set(client.generation, owned);
    }
    // The driver holds exactly the requests the group counts as waiting: at most a JoinGroup and a
    // SyncGroup per member, and none for a connection that closed.
    if (group !== undefined) {
      const waiting = this.incarnation!.driver.waitingCount(group);
      if (waiting !== group.awaitingCount || waiting > 2 * group.memberCount) {
        throw this.failure(
          `${waiting} requests wait; the group counts ${group.awaitingCount} of ${group.memberCount} members`,
        );
      }
    }
  }

  /** Liveness: with faults over, the group settles on every running client, each owning its share. */
  private async settle(): Promise<void> {
    for (const client of this.clients) client.stalledUntilMs = 0;
    if (!this.clients.some((client) => client.running))
      this.at(0, "start c0", () => this.start(this.clients[0]));
    const deadlineMs = this.nowMs + livenessMs;
    while (this.nowMs < deadlineMs) await this.step();
    const group = this.incarnation?.group;
    const running = this.clients.filter((client) => client.running);
    const problem = this.unsettled(group, running);
    if (problem !== undefined)
      throw this.failure(`not settled ${livenessMs} ms after the last fault: ${problem}`);
  }

  private unsettled(group: ClassicGroup | undefined, running: Client[]): string | undefined {
    if (group === undefined || !this.incarnation?.alive) return "no live coordinator with the group";
    if (group.state !== "Stable") return `the group is ${describe(group)}`;
    const members = group
      .memberViews()
      .map((member) => member.memberId)
      .sort();
    const clients = running.map((client) => client.memberId).sort();
    if (members.join() !== clients.join()) return `members ${members} but running clients ${clients}`;
    const behind = running.find(
      (client) => client.phase !== "stable" || client.generation !== group.generationId,
    );
    if (behind !== undefined)
      return `${behind.clientId} is ${behind.phase} at generation ${behind.generation}`;
    const owned = running.flatMap((client) => client.owned).sort((a, b) => a - b);
    if (owned.join() !== Array.from({ length: partitionCount }, (_, p) => p).join())
      return `owned [${owned}]`;
    const waiting = this.incarnation.driver.waitingCount(group);
    if (waiting > 0) return `${waiting} request(s) still wait`;
    return undefined;
  }

  // ---- trace ----

  private log(line: string): void {
    const entry = `${this.nowMs} ${line}`;
    for (let i = 0; i < entry.length; i++)
      this.traceHash = (Math.imul(this.traceHash, 31) + entry.charCodeAt(i)) | 0;
    this.trace.push(entry);
    if (this.trace.length > (this.options.traceLines ?? 60)) this.trace.shift();
  }

  traceTail(): string {
    return this.trace.join("\n");
  }

  private failure(message: string): ClassicSimulationError {
    if (this.violation !== undefined) return this.violation;
    this.violation = new ClassicSimulationError(
      `seed ${this.seed}, step ${this.steps}, ${this.nowMs} ms: ${message}\n` +
        `reproduce with SEED=${this.seed}\n` +
        `last events:\n  ${this.trace.join("\n  ")}`,
    );
    return this.violation;
  }
}

/** The range assignor over sorted member ids: contiguous runs of partitions, as Kafka's RangeAssignor. */
function rangeAssign(memberIds: string[]): { memberId: string; assignment: Buffer }[] {
  const sorted = [...memberIds].sort();
  const per = Math.floor(partitionCount / sorted.length);
  const extra = partitionCount % sorted.length;
  let next = 0;
  return sorted.map((memberId, index) => {
    const count = per + (index < extra ? 1 : 0);
    const partitions = Array.from({ length: count }, (_, i) => next + i);
    next += count;
    return { memberId, assignment: Buffer.from(partitions.join(",")) };
  });
}

function parsePartitions(assignment: Buffer): number[] {
  const text = assignment.toString();
  return text === "" ? [] : text.split(",").map(Number);
}

function describe(group: ClassicGroup): string {
  const members = group
    .memberViews()
    .map((member) => `${member.memberId}=[${parsePartitions(member.assignment)}]`);
  return `${group.state} generation ${group.generationId}, leader ${group.leaderId ?? "-"}, members ${members.join(" ") || "-"}`;
}
