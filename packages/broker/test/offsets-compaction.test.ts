// Rule (issue 18): __consumer_offsets is compacted. A group's offsets committed again and again leave one
// record per partition once the log cleaner has been over the sealed segments, and a coordinator that
// replays the compacted log has the same offsets as the one that wrote them.
import { ManualClock } from "@brook/protocol";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { GroupCoordinator } from "../src/groups/coordinator.js";
import type { GroupHandlers } from "../src/groups/handlers.js";
import { OFFSETS_TOPIC } from "../src/groups/records.js";
import { startGroupCoordinator, startTestBroker, type TestBroker, topicRecords } from "./helpers.js";

const groupId = "billing";
let broker: TestBroker;
let coordinator: GroupCoordinator;
let handlers: GroupHandlers;
const clock = new ManualClock();

async function startCoordinator(): Promise<void> {
  ({ coordinator, handlers } = await startGroupCoordinator(broker, clock, groupId));
}

beforeEach(async () => {
  broker = startTestBroker({ clock });
  await broker.apply([
    // As FindCoordinator creates it (compacted), with small segments so that most of the log is sealed.
    ...topicRecords(OFFSETS_TOPIC, {
      partitions: 1,
      configs: { "cleanup.policy": "compact", "segment.bytes": "2048", "min.cleanable.dirty.ratio": "0.01" },
    }),
    ...topicRecords("orders", { partitions: 4 }),
  ]);
  await startCoordinator();
});

afterEach(async () => {
  coordinator.close();
  await broker.close();
});

async function commit(round: number): Promise<void> {
  const partitions = [0, 1, 2, 3].map((partition) => ({
    partition,
    offset: round * 10 + partition,
    metadata: "",
  }));
  const answer = await handlers.offsetCommit({
    groupId,
    memberId: "",
    memberEpoch: -1,
    topics: [{ topic: "orders", partitions }],
  });
  expect(answer.topics.flatMap((t) => t.partitions).every((p) => !p.error?.code)).toBe(true);
}

async function offsets(): Promise<number[]> {
  const answer = await handlers.offsetFetch({ groupId, topics: [], requireStable: false });
  return answer.topics.flatMap((t) => t.partitions).map((p) => Number(p.offset));
}

it("keeps one offset record per partition and replays to the same offsets", async () => {
  for (let round = 1; round <= 200; round++) await commit(round);
  const log = broker.replicas.local(OFFSETS_TOPIC, 0)!;
  expect(log.cleanable?.dirtyRatio).toBeGreaterThan(0);
  const result = await log.clean({ offsetMapEntriesMax: 10_000, bytesMax: 64 * 1024 * 1024 });
  expect(result.segmentsCleaned).toBeGreaterThan(0);
  expect(result.recordsRemoved).toBeGreaterThan(700); // 800 commits of 4 keys, the live ones stay
  expect(result.bytesAfter).toBeLessThan(result.bytesBefore / 4);
  expect(await offsets()).toEqual([2000, 2001, 2002, 2003]);

  // A coordinator that takes the partition over replays the compacted log.
  coordinator.close();
  await startCoordinator();
  expect(await offsets()).toEqual([2000, 2001, 2002, 2003]);
});
