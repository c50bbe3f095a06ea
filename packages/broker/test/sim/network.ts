// The simulated network between the controller (node 0), the brokers (1..3)
// and the producer. Messages travel on connections: like TCP, one connection
// delivers in order (a slow message holds back the ones behind it), while
// different connections (a fetcher and its successor, fetches and metadata,
// produce and AlterPartition) overtake each other freely. A message may be
// dropped (its RPC then times out) or cut off by a network partition, checked
// both when it is sent and when it arrives.

import type { Random } from "@brook/testkit";

export const controllerNode = 0;
export const producerNode = 9;

export interface NetworkProfile {
  /** Chance that a message is lost. */
  readonly dropRate: number;
  /** Every message takes 1..delayMsMax ms. */
  readonly delayMsMax: number;
  /** Chance that a message is slow: up to slowDelayMsMax more, and its connection waits behind it. */
  readonly slowRate: number;
  readonly slowDelayMsMax: number;
}

export const calmNetwork: NetworkProfile = { dropRate: 0, delayMsMax: 3, slowRate: 0, slowDelayMsMax: 0 };

export type Schedule = (atMs: number, label: string, run: () => void) => void;

export class SimNetwork {
  profile: NetworkProfile;
  /** "from>to" pairs whose messages are lost. */
  private readonly blocked = new Set<string>();
  /** When each connection last delivered (or will): a later message never arrives before it. */
  private readonly deliveredAtMs = new Map<string, number>();

  constructor(
    private readonly random: Random,
    profile: NetworkProfile,
    private readonly schedule: Schedule,
    private readonly nowMs: () => number,
  ) {
    this.profile = profile;
  }

  /**
   * Sends one message; `deliver` runs on arrival unless it is lost. `reliable`
   * messages (the metadata log, which a broker reads until it has it all) are
   * never dropped, only delayed and partitioned.
   */
  send(
    connection: string,
    from: number,
    to: number,
    label: string,
    deliver: () => void,
    reliable = false,
  ): void {
    if (this.isBlocked(from, to)) return;
    if (!reliable && this.random.chance(this.profile.dropRate)) return;
    let delayMs = this.random.int(1, this.profile.delayMsMax);
    if (this.random.chance(this.profile.slowRate)) delayMs += this.random.int(0, this.profile.slowDelayMsMax);
    const atMs = Math.max(this.nowMs() + delayMs, this.deliveredAtMs.get(connection) ?? 0);
    this.deliveredAtMs.set(connection, atMs);
    this.schedule(atMs, `${label} ${from}->${to}`, () => {
      if (!this.isBlocked(from, to)) deliver();
    });
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /** Cuts both directions between `a` and each of `others`. */
  cut(a: number, others: readonly number[]): void {
    for (const b of others) {
      this.blocked.add(`${a}>${b}`);
      this.blocked.add(`${b}>${a}`);
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }
}
