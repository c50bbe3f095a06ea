// Which workers are alive. A distributed worker is a member of the Brook consumer group named by its
// --group (subscribed to the configs topic, which it never reads through this membership); the group
// coordinator drops a member it has not heard from for the session timeout, and every worker lists the
// members with describeGroup. A standalone worker is alone.

import type { Admin, Brook, Consumer } from "@brook/client";

export interface Membership {
  /** This worker's id: its REST host:port, as Kafka Connect's worker_id. */
  readonly self: string;
  start(): Promise<void>;
  /** The live workers' ids; this worker's own once it has joined. */
  workers(): Promise<string[]>;
  /** The group's epoch when last listed: it moves whenever a worker joins or leaves. */
  generation(): number;
  stop(): Promise<void>;
}

export class AloneMembership implements Membership {
  constructor(readonly self: string) {}
  async start(): Promise<void> {}
  async workers(): Promise<string[]> {
    return [this.self];
  }
  generation(): number {
    return 1;
  }
  async stop(): Promise<void> {}
}

/** Worker session timeout: how long a dead worker's tasks wait before others take them. */
export const workerSessionTimeoutMs = 10_000;

export class GroupMembership implements Membership {
  private readonly member: Consumer;
  private readonly admin: Admin;
  private epoch = 0;

  constructor(
    brook: Brook,
    private readonly groupId: string,
    private readonly topic: string,
    readonly self: string,
  ) {
    this.member = brook.consumer({
      groupId,
      autoCommit: false,
      sessionTimeoutMs: workerSessionTimeoutMs,
      memberMetadata: Buffer.from(JSON.stringify({ worker: self }), "utf8"),
    });
    this.admin = brook.admin();
  }

  async start(): Promise<void> {
    await this.member.subscribe({ topic: this.topic });
  }

  async workers(): Promise<string[]> {
    const description = await this.admin.describeGroup(this.groupId);
    this.epoch = description.groupEpoch;
    const workers = description.members.flatMap(({ metadata }) => {
      const worker = parseWorker(metadata);
      return worker === undefined ? [] : [worker];
    });
    return [...new Set(workers)];
  }

  generation(): number {
    return this.epoch;
  }

  async stop(): Promise<void> {
    await Promise.all([this.member.close(), this.admin.close()]);
  }
}

function parseWorker(metadata: Buffer | undefined): string | undefined {
  if (metadata === undefined) return undefined;
  try {
    const { worker } = JSON.parse(metadata.toString("utf8")) as { worker?: unknown };
    return typeof worker === "string" ? worker : undefined;
  } catch {
    return undefined;
  }
}
