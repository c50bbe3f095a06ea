// The metadata log on the controller quorum: three RaftMetadataLogs over real
// gRPC on 127.0.0.1, each with its own temp data dir. Checks that offsets are
// dense and identical on every controller, that followers hear of records
// they did not append, that nothing committed is lost to a leader's death or
// a restart, that snapshots hold the image and only the records after the
// latest one stay in memory, and that the Controller runs on it unchanged.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import { afterEach, describe, expect, it } from "vitest";
import { Controller, NotActiveControllerError, type RaftMetadataLog } from "../src/index.js";
import { registerLiveBroker } from "./helpers/decisions.js";
import { LevelMetadataLog } from "./helpers/level-metadata-log.js";
import { Quorum, waitFor } from "./helpers/quorum.js";

const topic = (name: string): MetadataRecord => ({ type: "topic", name, topicId: `id-${name}` });
const topics = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => topic(`${prefix}${i}`));

/**
 * What a listener heard, in order: every committed batch as [firstOffset,
 * topic names], and every snapshot that replaced the log's state as [the
 * offset of its image, ["snapshot"]].
 */
function recordCommits(log: RaftMetadataLog): Array<[number, string[]]> {
  const heard: Array<[number, string[]]> = [];
  log.onCommit(
    (records, firstOffset) => {
      heard.push([
        firstOffset,
        records.map((record) => (record.type === "topic" ? record.name : record.type)),
      ]);
    },
    (image) => heard.push([image.offset, ["snapshot"]]),
  );
  return heard;
}

/** The image a reader of the log builds: its latest snapshot, then the records after it. */
async function imageOf(log: RaftMetadataLog): Promise<MetadataImage> {
  const snapshot = log.snapshotImage() ?? MetadataImage.empty;
  return applyRecords(snapshot, await log.read(snapshot.offset + 1, 1_000), snapshot.offset + 1);
}

const imageOfRecords = (records: readonly MetadataRecord[]) => applyRecords(MetadataImage.empty, records, 0);

async function appendEach(log: RaftMetadataLog, records: readonly MetadataRecord[]): Promise<number[]> {
  const offsets: number[] = [];
  for (const record of records) offsets.push(await log.append([record]));
  return offsets;
}

let quorum: Quorum | undefined;
afterEach(async () => {
  await quorum?.close();
  quorum = undefined;
});

describe("RaftMetadataLog", () => {
  it("numbers records densely from 0 and every controller reads and hears the same records at the same offsets", async () => {
    quorum = await Quorum.start();
    const heard = new Map(quorum.running().map((log) => [log.status().nodeId, recordCommits(log)]));
    const leader = await quorum.leader();

    // Concurrent appends keep their batches whole and get consecutive ranges; an empty one takes none.
    const offsets = await Promise.all([
      leader.append([topic("a")]),
      leader.append([topic("b"), topic("c")]),
      leader.append([]),
      leader.append([topic("d")]),
    ]);
    expect(offsets).toEqual([0, 1, 3, 3]);
    expect(leader.committedOffset).toBe(3);

    for (const log of quorum.running()) await waitFor(() => log.committedOffset === 3);
    const expected = [topic("a"), topic("b"), topic("c"), topic("d")];
    for (const log of quorum.running()) {
      expect(await log.read(0, 100)).toEqual(expected);
      expect(await log.read(1, 2)).toEqual(expected.slice(1, 3));
      expect(await log.read(4, 100)).toEqual([]);
    }
    // Followers hear of batches they never appended, exactly as the leader does.
    const batches = [
      [0, ["a"]],
      [1, ["b", "c"]],
      [3, ["d"]],
    ];
    for (const commits of heard.values()) expect(commits).toEqual(batches);
  });

  it("refuses an append on a follower with NOT_CONTROLLER naming the leader", async () => {
    quorum = await Quorum.start();
    const leader = await quorum.leader();
    const [follower] = await quorum.followers();

    await expect(follower.append([topic("x")])).rejects.toMatchObject({
      code: "NOT_CONTROLLER",
      retriable: true,
      leaderId: leader.status().nodeId,
    });
    expect(follower.committedOffset).toBe(-1);
  });

  it("describes the quorum on the leader: three voters, each caught up to the leader's log once replicated", async () => {
    quorum = await Quorum.start();
    const leader = await quorum.leader();
    await appendEach(leader, topics("t", 3));
    const leaderId = leader.status().nodeId;
    await waitFor(() => leader.describeQuorum().voters.every((voter) => voter.lag === 0));

    const described = leader.describeQuorum();
    const { term, commitIndex } = leader.status();
    expect(described).toMatchObject({ leaderId, term, commitIndex, committedOffset: 2 });
    expect(described.voters.map((voter) => [voter.id, voter.leader])).toEqual(
      [1, 2, 3].map((id) => [id, id === leaderId]),
    );
    for (const voter of described.voters) expect(voter.matchIndex).toBe(commitIndex);
    expect(described.voters.find((voter) => voter.leader)?.lastContactMs).toBe(0);
    // quorumStatus() on the leader carries the same match index and lag.
    for (const member of leader.quorumStatus()) {
      expect(member).toMatchObject({ matchIndex: commitIndex, lag: 0 });
    }
  });

  it("refuses to describe the quorum on a follower with NOT_CONTROLLER naming the leader", async () => {
    quorum = await Quorum.start();
    const leader = await quorum.leader();
    const [follower] = await quorum.followers();

    expect(() => follower.describeQuorum()).toThrow(NotActiveControllerError);
    expect(() => follower.describeQuorum()).toThrow(
      expect.objectContaining({ code: "NOT_CONTROLLER", activeControllerId: leader.status().nodeId }),
    );
    expect(follower.quorumStatus().some((member) => member.matchIndex !== undefined)).toBe(false);
  });

  it("keeps every committed record and keeps numbering densely when the leader dies", async () => {
    quorum = await Quorum.start();
    const first = await quorum.leader();
    expect(await appendEach(first, topics("before", 5))).toEqual([0, 1, 2, 3, 4]);

    await quorum.kill(first.status().nodeId);
    const second = await quorum.leader();
    expect(second).not.toBe(first);
    await second.sync(); // the new leader has applied everything the old one committed
    expect(second.committedOffset).toBe(4);
    expect(await appendEach(second, topics("after", 3))).toEqual([5, 6, 7]);

    const expected = [...topics("before", 5), ...topics("after", 3)];
    for (const log of quorum.running()) {
      await waitFor(() => log.committedOffset === 7);
      expect(await log.read(0, 100)).toEqual(expected);
    }
  });

  it("a restarted node has every record it had, from its snapshot and its log", async () => {
    quorum = await Quorum.start({ snapshotEntries: 5 });
    const leader = await quorum.leader();
    await appendEach(leader, topics("t", 22));
    const [follower] = await quorum.followers();
    const id = follower.status().nodeId;
    await waitFor(() => follower.committedOffset === 21 && follower.status().snapshotIndex > 0);
    await leader.append([topic("t22")]); // one entry more than the snapshot: it is in the log after it
    await waitFor(() => follower.committedOffset === 22);
    expect(follower.status().snapshotIndex).toBeLessThan(follower.status().appliedIndex);

    const before = await imageOf(follower);

    await quorum.kill(id);
    const restarted = await quorum.restart(id);
    // open() replays what the node had stored as committed before it resolves.
    expect(restarted.committedOffset).toBe(22);
    expect(restarted.snapshotImage()?.offset).toBeLessThan(22); // from its snapshot…
    expect(await restarted.read(22, 100)).toEqual([topic("t22")]); // …and the entry in its log after it
    expect(await imageOf(restarted)).toEqual(before);
    expect(before).toEqual(imageOfRecords(topics("t", 23)));
  });

  it("keeps only the records since its latest snapshot in memory, and refuses reads below it with OFFSET_OUT_OF_RANGE", async () => {
    const snapshotEntries = 5;
    quorum = await Quorum.start({ snapshotEntries });
    const leader = await quorum.leader();
    await appendEach(leader, topics("t", 40));

    for (const log of quorum.running()) {
      // At rest, RaftNode has snapshotted as soon as snapshotEntries entries were applied since the last one.
      const snapshotOffset = () => log.snapshotImage()?.offset ?? -1;
      await waitFor(() => log.committedOffset === 39 && 39 - snapshotOffset() < snapshotEntries);
      const tailOffset = snapshotOffset() + 1;
      expect(await log.read(tailOffset, 1_000)).toEqual(topics("t", 40).slice(tailOffset));
      expect(await imageOf(log)).toEqual(imageOfRecords(topics("t", 40)));
      await expect(log.read(0, 100)).rejects.toMatchObject({
        name: "BrookError",
        code: "OFFSET_OUT_OF_RANGE",
        message: expect.stringContaining(
          `metadata before offset ${tailOffset} was compacted into a snapshot`,
        ),
      });
      await expect(log.read(tailOffset - 1, 100)).rejects.toMatchObject({ code: "OFFSET_OUT_OF_RANGE" });
    }
  });

  it("a node that missed records while down catches up by the leader's snapshot and hears of them", async () => {
    quorum = await Quorum.start({ snapshotEntries: 5 });
    const leader = await quorum.leader();
    await appendEach(leader, topics("early", 3));
    const [follower] = await quorum.followers();
    const id = follower.status().nodeId;
    await waitFor(() => follower.committedOffset === 2);
    const appliedIndex = follower.status().appliedIndex;
    await quorum.kill(id);

    await appendEach(leader, topics("missed", 20)); // the leader compacts past what the follower has
    await waitFor(() => leader.status().snapshotIndex > appliedIndex);
    const restarted = await quorum.restart(id);
    const heard = recordCommits(restarted);
    // The leader may have sent its snapshot before the listener was attached: then only the batches after.
    const offsetAtAttach = restarted.committedOffset;
    await waitFor(() => restarted.committedOffset === 22);

    expect(restarted.status().snapshotIndex).toBeGreaterThan(appliedIndex); // it came by snapshot
    expect(await imageOf(restarted)).toEqual(
      imageOfRecords([...topics("early", 3), ...topics("missed", 20)]),
    );
    // Listeners first hear the snapshot's image, past what the node had, then every batch after it.
    if (offsetAtAttach > 2) {
      expect(heard.map(([firstOffset]) => firstOffset)).toEqual(
        Array.from({ length: 22 - offsetAtAttach }, (_, i) => offsetAtAttach + 1 + i),
      );
      return;
    }
    const [[snapshotOffset, snapshot], ...batches] = heard;
    expect(snapshot).toEqual(["snapshot"]);
    expect(snapshotOffset).toBeGreaterThan(2);
    expect(batches.map(([firstOffset]) => firstOffset)).toEqual(
      Array.from({ length: 22 - snapshotOffset }, (_, i) => snapshotOffset + 1 + i),
    );
  });

  it("is a drop-in for the Controller: it registers a broker and creates a topic that every controller sees", async () => {
    quorum = await Quorum.start();
    const leader = await quorum.leader();
    const controller = await Controller.open({ nodeId: leader.status().nodeId, log: leader });
    await registerLiveBroker(controller, { brokerId: 1, incarnationId: "a", host: "127.0.0.1", port: 9092 });
    const [outcome] = await controller.createTopics([
      { name: "orders", numPartitions: 3, replicationFactor: 1, configs: new Map() },
    ]);
    expect(outcome.error).toBeUndefined();
    expect(controller.image.topic("orders")?.partitions).toHaveLength(3);

    for (const follower of await quorum.followers()) {
      await waitFor(() => follower.committedOffset === leader.committedOffset);
      const image = applyRecords(MetadataImage.empty, await follower.read(0, 100), 0);
      expect(image.topic("orders")?.partitions).toHaveLength(3);
      expect(image.brokers.get(1)?.port).toBe(9092);
    }
  });
});

describe("LevelMetadataLog.onCommit", () => {
  it("tells listeners of each non-empty batch, with its first offset, before append resolves", async () => {
    const dir = await mkdtemp(join(tmpdir(), "brook-level-log-"));
    const log = await LevelMetadataLog.open(dir);
    const heard: Array<[number, number]> = [];
    const unsubscribe = log.onCommit((records, firstOffset) => heard.push([firstOffset, records.length]));
    await log.append([topic("a"), topic("b")]);
    expect(heard).toEqual([[0, 2]]); // already told when append resolved
    await log.append([]);
    await log.append([topic("c")]);
    unsubscribe();
    await log.append([topic("d")]);
    expect(heard).toEqual([
      [0, 2],
      [2, 1],
    ]);
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });
});
