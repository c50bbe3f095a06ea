// Data-driven transcripts for the classic group's rules (as etcd-io/raft's testdata): a test is a
// script of "> command" lines, each followed by what the group answered. run() executes the commands
// against a real ClassicGroup and returns the transcript it produced; the test compares it with the
// script, so a failure shows a diff of what changed.
//
// Commands (member ids are generated as <clientId or instanceId>-<n>):
//   > join <memberId|new> [client=c] [instance=i] [protocols=range:meta,roundrobin] [type=consumer]
//          [session=ms] [rebalance=ms] [v3] [v9]      (v3: no MEMBER_ID_REQUIRED; v9: skip assignment)
//   > sync <memberId> gen=<n> [instance=i] [assign=a-1:p0+p1,b-2:p2] [name=range]
//   > heartbeat <memberId> gen=<n> [instance=i]
//   > commit <memberId|-> gen=<n> [instance=i]
//   > leave <memberId|-> [instance=i]
//   > cancel join|sync <memberId>
//   > time +<ms>        advances the clock and ticks
//   > reload            persists the snapshot as JSON and loads it again (a new coordinator)
//   > state
// Outputs: "(stored)" when the command changed what the group persists (the driver writes the group's
// record before it delivers the answers that follow), "a-1: joined generation 1 (range), leader a-1,
// members a-1 b-2", "a-1: join failed CODE", "a-1: synced p0+p1", "a-1: sync failed CODE",
// "a-1: waiting", "ok", "error CODE".

import { BrookError } from "@brook/protocol";
import {
  ClassicGroup,
  type ClassicGroupConfig,
  type ClassicGroupSnapshot,
  type ClassicReply,
} from "../src/groups/classic-group.js";

export const transcriptConfig: ClassicGroupConfig = {
  initialRebalanceDelayMs: 100,
  membersMax: 5,
  protocolsPerMemberMax: 4,
};

export class Transcript {
  nowMs = 1_000;
  group: ClassicGroup;
  private nextId = 0;
  private readonly lines: string[] = [];

  constructor(readonly config: ClassicGroupConfig = transcriptConfig) {
    this.group = this.newGroup();
  }

  /** Runs every "> command" line of `script` and returns the transcript it produced. */
  run(script: string): string {
    for (const line of lines(script)) {
      if (!line.startsWith(">")) continue;
      this.lines.push(line);
      this.lines.push(...this.execute(line.slice(1).trim()));
    }
    return this.lines.join("\n");
  }

  private execute(command: string): string[] {
    const [verb, ...rest] = command.split(/\s+/);
    const args = parseArgs(rest);
    try {
      switch (verb) {
        case "join":
          return this.join(args);
        case "sync":
          return this.sync(args);
        case "heartbeat":
          this.group.heartbeat(this.identity(args), this.nowMs);
          return ["ok", ...this.replies()];
        case "commit":
          this.group.validateCommit(this.identity(args));
          return ["ok"];
        case "leave":
          this.group.leave(this.identity(args), this.nowMs);
          return ["ok", ...this.replies()];
        case "cancel":
          this.group.cancelWait(args.positional[0] as "join" | "sync", args.positional[1], this.nowMs);
          return this.replies();
        case "time":
          this.nowMs += Number(args.positional[0].replace("+", ""));
          this.group.tick(this.nowMs);
          return this.replies();
        case "reload":
          return this.reload();
        case "state":
          return [this.describe()];
        default:
          throw new Error(`unknown transcript command '${verb}'`);
      }
    } catch (error) {
      if (error instanceof BrookError) return [`error ${error.code}`, ...this.replies()];
      throw error;
    }
  }

  private join(args: Args): string[] {
    const memberId = args.positional[0] === "new" ? "" : args.positional[0];
    const returned = this.group.join(
      {
        memberId,
        groupInstanceId: args.named.instance ?? null,
        clientId: args.named.client ?? "c",
        clientHost: "/127.0.0.1",
        sessionTimeoutMs: Number(args.named.session ?? 10_000),
        rebalanceTimeoutMs: Number(args.named.rebalance ?? 5_000),
        protocolType: args.named.type ?? "consumer",
        protocols: (args.named.protocols ?? "range").split(",").map((protocol) => {
          const [name, metadata = `${name}-meta`] = protocol.split(":");
          return { name, metadata: Buffer.from(metadata) };
        }),
        requireKnownMemberId: !args.flags.has("v3"),
        supportsSkipAssignment: args.flags.has("v9"),
      },
      this.nowMs,
    );
    return this.withWaiting(this.replies(), returned);
  }

  private sync(args: Args): string[] {
    const identity = this.identity(args);
    this.group.sync(
      {
        ...identity,
        protocolType: null,
        protocolName: args.named.name ?? null,
        assignments: (args.named.assign ?? "")
          .split(",")
          .filter((entry) => entry !== "")
          .map((entry) => {
            const [memberId, partitions] = entry.split(":");
            return { memberId, assignment: Buffer.from(partitions) };
          }),
      },
      this.nowMs,
    );
    return this.withWaiting(this.replies(), identity.memberId);
  }

  private identity(args: Args) {
    const memberId = args.positional[0] === "-" || args.positional[0] === undefined ? "" : args.positional[0];
    return {
      memberId,
      groupInstanceId: args.named.instance ?? null,
      generationId: Number(args.named.gen ?? -1),
    };
  }

  private reload(): string[] {
    const stored = JSON.parse(JSON.stringify(this.group.snapshot())) as ClassicGroupSnapshot;
    this.group.toDead();
    this.group = ClassicGroup.fromSnapshot(stored, this.nowMs, this.config, () => String(++this.nextId));
    return [`loaded ${this.describe()}`];
  }

  /** The answers the command produced; "(stored)" first when it changed what is persisted. */
  private replies(): string[] {
    const { replies, persist } = this.group.ready();
    return [...(persist ? ["(stored)"] : []), ...replies.map(formatReply)];
  }

  private withWaiting(replies: string[], memberId: string): string[] {
    return replies.some((reply) => reply.startsWith(`${memberId}:`))
      ? replies
      : [...replies, `${memberId}: waiting`];
  }

  private describe(): string {
    const group = this.group;
    const members = group.memberViews().map((member) => {
      const assignment = member.assignment.length > 0 ? `=${member.assignment.toString()}` : "";
      return `${member.memberId}${assignment}`;
    });
    return `${group.state} generation ${group.generationId} (${group.protocolName ?? "-"}), leader ${group.leaderId ?? "-"}, members ${members.join(" ") || "-"}`;
  }

  private newGroup(): ClassicGroup {
    return new ClassicGroup("g", this.config, () => String(++this.nextId));
  }
}

function formatReply(reply: ClassicReply): string {
  const { answer } = reply;
  if (answer instanceof BrookError) return `${reply.memberId}: ${reply.kind} failed ${answer.code}`;
  if (reply.kind === "sync" && "assignment" in answer) {
    return `${reply.memberId}: synced ${answer.assignment.toString() || "(nothing)"}`;
  }
  if ("generationId" in answer) {
    const members =
      answer.members.length > 0 ? `, members ${answer.members.map((m) => m.memberId).join(" ")}` : "";
    const skip = answer.skipAssignment ? ", skip assignment" : "";
    return `${reply.memberId}: joined generation ${answer.generationId} (${answer.protocolName}), leader ${answer.leaderId}${members}${skip}`;
  }
  throw new Error("unreachable");
}

interface Args {
  positional: string[];
  named: Record<string, string>;
  flags: Set<string>;
}

function parseArgs(words: string[]): Args {
  const args: Args = { positional: [], named: {}, flags: new Set() };
  for (const word of words) {
    const equals = word.indexOf("=");
    if (equals > 0) args.named[word.slice(0, equals)] = word.slice(equals + 1);
    else if (/^v\d+$/.test(word)) args.flags.add(word);
    else args.positional.push(word);
  }
  return args;
}

/** The script's non-blank lines, trimmed. */
export function lines(script: string): string[] {
  return script
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** Runs `script` on a fresh group and returns [what it produced, what the script expects], both normalized. */
export function transcript(script: string, config?: ClassicGroupConfig): [string, string] {
  return [new Transcript(config).run(script), lines(script).join("\n")];
}
