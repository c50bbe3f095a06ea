// The active controller's log lines: each commit is described from the images before and
// after it (fencing with the leaderships it moved, clean and unclean elections, offline
// partitions, ISR changes, partitions added), with the epochs replay gave, and a large commit stays bounded.
import { describe, expect, it } from "vitest";
import { describeCommit, partitionChangeLinesMax } from "../src/change-log.js";
import {
  planAlterPartition,
  planAlterUserScramCredentials,
  planCreateAcls,
  planCreatePartitions,
  planCreateTopic,
  planDeleteAcls,
  planFencing,
  planUnfence,
} from "../src/index.js";
import { imageOf, replay } from "./helpers/decisions.js";

function linesOf(image: ReturnType<typeof imageOf>, records: Parameters<typeof replay>[1], reason: string) {
  return describeCommit(image, replay(image, records), records, reason).map(({ level, message, fields }) => ({
    level,
    message,
    ...fields,
  }));
}

describe("controller change log", () => {
  it("a fenced broker: the fence, then each leadership it lost and each ISR it left", () => {
    const image = imageOf({
      live: [1, 2, 3],
      topics: { orders: [{ replicas: [1, 2, 3] }, { replicas: [2, 1, 3] }] },
    });
    const broker = image.brokers.get(1);
    expect(broker).toBeDefined();
    const lines = linesOf(image, planFencing(image, [broker!]), "no heartbeat within the 1500 ms session");
    expect(lines).toEqual([
      {
        level: "info",
        message: "broker fenced",
        brokerId: 1,
        incarnationId: "inc-1",
        ledPartitions: 1,
        reason: "no heartbeat within the 1500 ms session",
      },
      {
        level: "info",
        message: "partition leader elected",
        topic: "orders",
        partition: 0,
        previousLeader: 1,
        leader: 2,
        leaderEpoch: 1,
        partitionEpoch: 1,
        previousIsr: [1, 2, 3],
        isr: [2, 3],
        reason: "no heartbeat within the 1500 ms session",
      },
      {
        level: "info",
        message: "ISR changed",
        topic: "orders",
        partition: 1,
        leader: 2,
        leaderEpoch: 0,
        partitionEpoch: 1,
        previousIsr: [2, 1, 3],
        isr: [2, 3],
        reason: "no heartbeat within the 1500 ms session",
      },
    ]);
  });

  it("a partition with no eligible replica left goes offline, at warn", () => {
    const image = imageOf({ live: [1, 2], topics: { t: [{ replicas: [1, 2], isr: [1] }] } });
    const [, change] = linesOf(image, planFencing(image, [image.brokers.get(1)!]), "controlled shutdown");
    expect(change).toMatchObject({
      level: "warn",
      message: "partition offline: no eligible replica to lead it",
      previousLeader: 1,
      leader: -1,
      leaderEpoch: 1,
    });
  });

  it("an out-of-sync replica elected (unclean election) is a warning", () => {
    const image = imageOf({
      fenced: [1, 2],
      topics: { t: [{ replicas: [1, 2], isr: [1], leader: -1 }] },
      configs: { t: { "unclean.leader.election.enable": "true" } },
    });
    const lines = linesOf(image, planUnfence(image, 2), "caught up with the metadata log");
    expect(lines[1]).toMatchObject({
      level: "warn",
      message: "unclean leader election: an out-of-sync replica leads, records may be lost",
      previousLeader: -1,
      leader: 2,
      isr: [2],
    });
  });

  it("a leader's ISR change, with the partition epoch it committed", () => {
    const image = imageOf({ live: [1, 2], topics: { t: [{ replicas: [1, 2] }] } });
    const request = { topic: "t", partition: 0, leaderId: 1, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1] };
    expect(linesOf(image, planAlterPartition(image, request), "AlterPartition from leader 1")).toEqual([
      {
        level: "info",
        message: "ISR changed",
        topic: "t",
        partition: 0,
        leader: 1,
        leaderEpoch: 0,
        partitionEpoch: 1,
        previousIsr: [1, 2],
        isr: [1],
        reason: "AlterPartition from leader 1",
      },
    ]);
  });

  it("a grown topic: one line per partition added; a new topic's partitions are in its own line", () => {
    const image = imageOf({ live: [1, 2], topics: { t: [{ replicas: [1, 2] }] } });
    expect(linesOf(image, planCreatePartitions(image, { topic: "t", count: 3 }), "CreatePartitions")).toEqual(
      [
        {
          level: "info",
          message: "partition added",
          topic: "t",
          partition: 1,
          replicas: [2, 1],
          leader: 2,
          reason: "CreatePartitions",
        },
        {
          level: "info",
          message: "partition added",
          topic: "t",
          partition: 2,
          replicas: [1, 2],
          leader: 1,
          reason: "CreatePartitions",
        },
      ],
    );
    const created = planCreateTopic(
      image,
      { name: "u", numPartitions: 3, replicationFactor: 1, configs: new Map() },
      "id-u",
    );
    expect(linesOf(image, created, "CreateTopics").map((line) => line.message)).toEqual(["topic created"]);
  });

  it(`a commit moving more than ${partitionChangeLinesMax} partitions logs that many, then a count`, () => {
    const partitions = Array.from({ length: partitionChangeLinesMax + 5 }, () => ({ replicas: [1, 2] }));
    const image = imageOf({ live: [1, 2], topics: { big: partitions } });
    const lines = linesOf(image, planFencing(image, [image.brokers.get(1)!]), "controlled shutdown");
    expect(lines).toHaveLength(1 + partitionChangeLinesMax + 1);
    expect(lines.at(-1)).toEqual({
      level: "info",
      message: "more partition changes in the same commit, not logged one by one",
      partitions: 5,
      reason: "controlled shutdown",
    });
  });

  it("users' credentials by user, mechanism and iterations (never a salt or key), and each ACL added or removed", () => {
    const credential = (name: string) => ({
      name,
      mechanism: "SCRAM-SHA-256",
      iterations: 4096,
      salt: Buffer.alloc(8, 1),
      saltedPassword: Buffer.alloc(32, 2),
    });
    const image = imageOf({});
    const created = planAlterUserScramCredentials(image, {
      upsertions: [credential("alice")],
      deletions: [],
    });
    expect(linesOf(image, created.records, "AlterUserScramCredentials")).toEqual([
      {
        level: "info",
        message: "SCRAM credential created",
        user: "alice",
        mechanism: "SCRAM-SHA-256",
        iterations: 4096,
        reason: "AlterUserScramCredentials",
      },
    ]);
    const withAlice = replay(image, created.records);
    const replaced = planAlterUserScramCredentials(withAlice, {
      upsertions: [credential("alice")],
      deletions: [],
    });
    expect(linesOf(withAlice, replaced.records, "r").map((line) => line.message)).toEqual([
      "SCRAM credential replaced",
    ]);
    const deleted = planAlterUserScramCredentials(withAlice, {
      upsertions: [],
      deletions: [{ name: "alice", mechanism: "SCRAM-SHA-256" }],
    });
    expect(linesOf(withAlice, deleted.records, "r").map((line) => line.message)).toEqual([
      "SCRAM credential deleted",
    ]);

    const binding = {
      principal: "User:alice",
      host: "*",
      resourceType: "topic",
      resourceName: "orders",
      patternType: "literal",
      operation: "read",
      permission: "allow",
    };
    const added = planCreateAcls(image, [binding]).records;
    expect(linesOf(image, added, "CreateAcls")).toEqual([
      {
        level: "info",
        message: "ACL added",
        acl: "allow User:alice read topic literal:orders host *",
        reason: "CreateAcls",
      },
    ]);
    const withAcl = replay(image, added);
    expect(linesOf(withAcl, planDeleteAcls(withAcl, [binding]).records, "DeleteAcls")).toEqual([
      {
        level: "info",
        message: "ACL removed",
        acl: "allow User:alice read topic literal:orders host *",
        reason: "DeleteAcls",
      },
    ]);
  });

  it("ACL lines stay bounded in a large commit", () => {
    const image = imageOf({});
    const bindings = Array.from({ length: partitionChangeLinesMax + 5 }, (_, i) => ({
      principal: `User:u${i}`,
      host: "*",
      resourceType: "topic",
      resourceName: "orders",
      patternType: "literal",
      operation: "read",
      permission: "allow",
    }));
    const lines = linesOf(image, planCreateAcls(image, bindings).records, "CreateAcls");
    expect(lines).toHaveLength(partitionChangeLinesMax + 1);
    expect(lines.at(-1)).toEqual({
      level: "info",
      message: "more ACL changes in the same commit, not logged one by one",
      acls: 5,
      reason: "CreateAcls",
    });
  });
});
