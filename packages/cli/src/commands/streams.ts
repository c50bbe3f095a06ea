// `brook streams describe`: a Brook Streams application (docs/streams.md) as its consumer group shows it.
// The group is named after the applicationId and each instance is a member; an instance publishes what it
// runs (tasks, stores, restores, endpoint) as its member metadata, and the group's lag comes from its
// committed offsets. describeStreams() assembles the view from those answers and does no I/O.

import type { PartitionLag, TopicPartition } from "@brook/client";
import { decodeInstanceMetadata, type InstanceMetadata } from "@brook/streams";
import { Command } from "@commander-js/extra-typings";
import { withAdmin } from "../connect.js";
import { printJson, printTable } from "../output.js";
import { shortIds } from "./group.js";

/** What describeStreams needs of a group member (the SDK's GroupMember has it). */
export interface StreamsMemberInput {
  memberId: string;
  clientId: string;
  clientHost: string;
  /** The partitions it holds now. */
  assignment: TopicPartition[];
  /** Its member metadata as last sent; a streams instance's is its InstanceMetadata JSON. */
  metadata?: Buffer | null;
}

/** What describeStreams needs of the group (the SDK's GroupDescription has it). */
export interface StreamsGroupInput {
  groupId: string;
  state: string;
  /** The assignor the group uses; absent or "" when the coordinator does not say. */
  assignor?: string | null;
  members: StreamsMemberInput[];
}

/** A partition a task reads, with the group's committed offset and lag on it. */
export interface TaskPartition {
  topic: string;
  partition: number;
  /** -1: nothing committed. */
  committedOffset: number;
  /** The last stable offset; null when the topic is gone or unknown. */
  endOffset: number | null;
  /** null when nothing is committed (as `brook group describe` shows "-"). */
  lag: number | null;
}

export interface StreamsInstance {
  memberId: string;
  clientId: string;
  host: string;
  /** The partitions the member holds. */
  partitions: TopicPartition[];
  /** Whether its member metadata is an instance's; false for anything else (a plain consumer, no metadata yet). */
  hasMetadata: boolean;
  processId: string | null;
  /** `host:port` for interactive queries; null when the instance has none or sent no metadata. */
  endpoint: string | null;
  /** null when the member sent no instance metadata. */
  active: string[] | null;
  standby: string[] | null;
  /** The instance cut its store list to fit the metadata limit (8 KiB). */
  truncated: boolean;
}

/** `brook streams describe --json`: fields may be added, never renamed. */
export interface StreamsTask {
  /** `<sub-topology>_<partition>`; null for partitions a member holds but names no active task for. */
  task: string | null;
  /** The partition number: the task's, or that of the partitions of a row without a task. */
  partition: number;
  standby: boolean;
  memberId: string;
  /**
   * The member's assigned partitions the task reads: numbered like it, of its sub-topology's topics (which
   * the instance's metadata names). None for a standby. From an instance whose metadata does not name
   * them, tasks of several sub-topologies with one number (0_1 and 1_1) are each shown every partition of
   * that number: see sharesPartitionsWith.
   */
  partitions: TaskPartition[];
  /**
   * The other active tasks of the same instance shown with the same partitions (and lag), when the
   * instance does not name its sub-topologies' topics; empty otherwise.
   */
  sharesPartitionsWith: string[];
  stores: { store: string; entries: number }[];
  restoring: { store: string; restored: number; total: number }[];
  /** The sum of the partitions' known lags; null when none is known (a standby, nothing committed). */
  lag: number | null;
}

export interface StreamsDescription {
  applicationId: string;
  state: string;
  assignor: string | null;
  instances: StreamsInstance[];
  tasks: StreamsTask[];
  /** Partitions the group has committed offsets on that no member holds (during a rebalance, or no instance). */
  unassigned: TaskPartition[];
  /** The sum of every known lag, as `brook group describe` counts it. */
  totalLag: number;
}

/** The application as the group's description, its lag and its members' metadata show it; pure. */
export function describeStreams(
  group: StreamsGroupInput,
  lag: { partitions: PartitionLag[] },
  decode: (metadata: Buffer | undefined) => InstanceMetadata | undefined = decodeInstanceMetadata,
): StreamsDescription {
  const lagAt = new Map(lag.partitions.map((p) => [key(p.topic, p.partition), p]));
  const taskPartition = ({ topic, partition }: TopicPartition): TaskPartition => {
    const known = lagAt.get(key(topic, partition));
    return {
      topic,
      partition,
      committedOffset: known?.committedOffset ?? -1,
      endOffset: known?.logEndOffset ?? null,
      lag: known?.lag ?? null,
    };
  };
  const instances: StreamsInstance[] = [];
  const tasks: StreamsTask[] = [];
  const held = new Set<string>();
  for (const member of group.members) {
    const metadata = decode(member.metadata ?? undefined);
    const partitions = [...member.assignment].sort(byTopicPartition);
    for (const { topic, partition } of partitions) held.add(key(topic, partition));
    instances.push({
      memberId: member.memberId,
      clientId: member.clientId,
      host: member.clientHost,
      partitions,
      hasMetadata: metadata !== undefined,
      processId: metadata?.processId ?? null,
      endpoint: metadata?.endpoint ?? null,
      active: metadata === undefined ? null : [...metadata.active].sort(byTaskName),
      standby: metadata === undefined ? null : [...metadata.standby].sort(byTaskName),
      truncated: metadata?.truncated ?? false,
    });
    tasks.push(...memberTasks(member.memberId, partitions.map(taskPartition), metadata));
  }
  const unassigned = lag.partitions
    .filter(({ topic, partition }) => !held.has(key(topic, partition)))
    .map(taskPartition)
    .sort(byTopicPartition);
  return {
    applicationId: group.groupId,
    state: group.state,
    assignor: group.assignor ? group.assignor : null,
    instances,
    tasks: tasks.sort(byTask),
    unassigned,
    totalLag: lag.partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0),
  };
}

/**
 * One member's rows: each active task with the member's partitions of its number, each standby task, and a
 * row without a task for partitions whose number no active task of the member has (no metadata, or
 * metadata from before the assignment changed).
 */
function memberTasks(
  memberId: string,
  partitions: TaskPartition[],
  metadata: InstanceMetadata | undefined,
): StreamsTask[] {
  const active = metadata?.active ?? [];
  const byNumber = new Map<number, string[]>();
  for (const task of active) {
    const number = partitionOf(task);
    byNumber.set(number, [...(byNumber.get(number) ?? []), task]);
  }
  const storesOf = (task: string) =>
    (metadata?.stores ?? [])
      .filter((each) => each.task === task)
      .map(({ store, entries }) => ({ store, entries }));
  const restoringOf = (task: string) =>
    (metadata?.restoring ?? [])
      .filter((each) => each.task === task)
      .map(({ store, restored, total }) => ({ store, restored, total }));
  const topicsOf = (task: string) => metadata?.subtopologies?.[Number(task.split("_")[0])];
  const rows: StreamsTask[] = active.map((task) => {
    const number = partitionOf(task);
    // The sub-topology's topics, when the instance says them; else every partition of the number.
    const topics = topicsOf(task);
    const own = partitions.filter(
      ({ topic, partition }) => partition === number && (topics === undefined || topics.includes(topic)),
    );
    const sharing =
      topics === undefined ? (byNumber.get(number) ?? []).filter((other) => other !== task) : [];
    return {
      task,
      partition: number,
      standby: false,
      memberId,
      partitions: own,
      sharesPartitionsWith: sharing.sort(byTaskName),
      stores: storesOf(task),
      restoring: restoringOf(task),
      lag: sumOfKnown(own),
    };
  });
  for (const task of metadata?.standby ?? []) {
    rows.push({
      task,
      partition: partitionOf(task),
      standby: true,
      memberId,
      partitions: [],
      sharesPartitionsWith: [],
      stores: storesOf(task),
      restoring: restoringOf(task),
      lag: null,
    });
  }
  const orphans = [...new Set(partitions.map(({ partition }) => partition))].filter(
    (number) => !byNumber.has(number),
  );
  for (const number of orphans) {
    const own = partitions.filter(({ partition }) => partition === number);
    rows.push({
      task: null,
      partition: number,
      standby: false,
      memberId,
      partitions: own,
      sharesPartitionsWith: [],
      stores: [],
      restoring: [],
      lag: sumOfKnown(own),
    });
  }
  return rows;
}

/** The lines and tables `brook streams describe` prints for people. */
export function streamsReport(view: StreamsDescription): {
  header: string;
  instances: { head: string[]; rows: string[][] };
  tasks: { head: string[]; rows: string[][] };
  footer: string[];
} {
  const short = shortIds(view.instances.map((each) => each.memberId));
  const member = (id: string) => short.get(id) ?? id;
  const truncated = new Set(view.instances.filter((each) => each.truncated).map((each) => each.memberId));
  const list = (values: readonly string[] | null) =>
    values === null || values.length === 0 ? "-" : values.join(",");
  const partitions = (values: readonly TaskPartition[]) =>
    values.length === 0 ? "-" : values.map(({ topic, partition }) => `${topic}-${partition}`).join(",");
  const footer: string[] = [];
  if (view.unassigned.length > 0) {
    footer.push(
      `unassigned (committed offsets, no instance holds them): ${view.unassigned
        .map((p) => `${p.topic}-${p.partition} lag ${p.lag ?? "-"}`)
        .join(", ")}`,
    );
  }
  footer.push(`total lag: ${view.totalLag}`);
  return {
    header: `application ${view.applicationId}: ${view.state}, ${view.instances.length} instance(s), assignor ${view.assignor ?? "-"}`,
    instances: {
      head: ["instance", "host", "endpoint", "active tasks", "standby tasks"],
      rows: view.instances.map((each) => [
        member(each.memberId),
        each.host,
        each.endpoint ?? "-",
        list(each.active),
        list(each.standby),
      ]),
    },
    tasks: {
      head: ["task", "instance", "partitions", "stores (entries)", "restoring", "lag"],
      rows: view.tasks.map((each) => [
        each.task === null ? "-" : each.standby ? `${each.task} (standby)` : each.task,
        member(each.memberId),
        partitions(each.partitions),
        each.stores.length > 0
          ? each.stores.map(({ store, entries }) => `${store}=${entries}`).join(",")
          : truncated.has(each.memberId) && each.task !== null
            ? "(not sent: metadata cut)"
            : "-",
        each.restoring.length === 0
          ? "-"
          : each.restoring.map(({ store, restored, total }) => `${store} ${restored}/${total}`).join(","),
        each.lag === null ? "-" : String(each.lag),
      ]),
    },
    footer,
  };
}

export function streamsCommand(): Command {
  const streams = new Command("streams").description("describe Brook Streams applications");
  addDescribe(streams);
  return streams as unknown as Command;
}

function addDescribe(streams: Command): void {
  streams
    .command("describe")
    .description(
      "show a streams application (the consumer group named <applicationId>): its instances, their tasks and " +
        "the partitions they read, store sizes, restores under way, and lag per task (the sum over the " +
        "partitions numbered like the task that its instance holds, to the last stable offset). Tasks, stores " +
        "and restores are what each instance last published, every few seconds",
    )
    .argument("<applicationId>")
    .option("--json", "print JSON")
    .action(async (applicationId, options, command) => {
      await withAdmin(command, async (admin) => {
        // groupLag first: an unknown application is GROUP_ID_NOT_FOUND, as for `brook group describe`.
        const [lag, group] = await Promise.all([
          admin.groupLag(applicationId),
          admin.describeGroup(applicationId),
        ]);
        const view = describeStreams(group, lag);
        if (options.json) printJson(view);
        else printStreams(view);
      });
    });
}

function printStreams(view: StreamsDescription): void {
  const report = streamsReport(view);
  process.stdout.write(`${report.header}\n`);
  if (report.instances.rows.length > 0) {
    process.stdout.write("\ninstances\n");
    printTable(report.instances.head, report.instances.rows);
  }
  if (report.tasks.rows.length > 0) {
    process.stdout.write("\ntasks\n");
    printTable(report.tasks.head, report.tasks.rows);
  }
  process.stdout.write(`\n${report.footer.join("\n")}\n`);
}

function sumOfKnown(partitions: readonly TaskPartition[]): number | null {
  const known = partitions.filter((each) => each.lag !== null);
  return known.length === 0 ? null : known.reduce((sum, each) => sum + (each.lag ?? 0), 0);
}

/** A task name's partition: the number after the last "_" (NaN for a name that is not a task's). */
function partitionOf(task: string): number {
  return Number(task.slice(task.lastIndexOf("_") + 1));
}

function subtopologyOf(task: string): number {
  return Number(task.slice(0, task.indexOf("_")));
}

/** 0_2 before 0_10 before 1_0. */
function byTaskName(a: string, b: string): number {
  return (
    subtopologyOf(a) - subtopologyOf(b) || partitionOf(a) - partitionOf(b) || (a < b ? -1 : a > b ? 1 : 0)
  );
}

/** By task (rows without one last, by partition), actives before standbys, then by member. */
function byTask(a: StreamsTask, b: StreamsTask): number {
  if (a.task === null || b.task === null) {
    if (a.task !== b.task) return a.task === null ? 1 : -1;
    return a.partition - b.partition || (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);
  }
  return (
    byTaskName(a.task, b.task) ||
    Number(a.standby) - Number(b.standby) ||
    (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0)
  );
}

function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
