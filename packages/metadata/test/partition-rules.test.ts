// The election and ISR rules the active controller and the replication
// simulator share (partition-rules.ts, broker-rules.ts), at the level of one
// partition's state; the controller's tests check the records they plan.
import { describe, expect, it } from "vitest";
import {
  applyRecords,
  BrokerHeartbeats,
  electLeader,
  MetadataImage,
  noLeader,
  type PartitionImage,
  restoreLeader,
  withoutBroker,
} from "../src/index.js";

const only =
  (...ids: number[]) =>
  (id: number) =>
    ids.includes(id);

describe("electLeader", () => {
  it("takes the first eligible ISR member in replica order", () => {
    expect(electLeader([3, 1, 2], [1, 2], only(1, 2), false)).toEqual({ leader: 1, isr: [1, 2] });
    expect(electLeader([3, 1, 2], [1, 2], only(2, 3), false)).toEqual({ leader: 2, isr: [1, 2] });
  });

  it("without an eligible ISR member goes offline keeping the ISR, unless unclean election is on", () => {
    expect(electLeader([1, 2, 3], [1], only(2, 3), false)).toEqual({ leader: noLeader, isr: [1] });
    expect(electLeader([1, 2, 3], [1], only(2, 3), true)).toEqual({ leader: 2, isr: [2] });
  });
});

describe("withoutBroker", () => {
  it("drops the broker from the ISR and elects another leader when it led", () => {
    const next = withoutBroker([1, 2, 3], { leader: 1, isr: [1, 2, 3] }, 1, only(2, 3), false);
    expect(next).toEqual({ leader: 2, isr: [2, 3] });
  });

  it("keeps the last ISR member, which alone holds every committed record", () => {
    const next = withoutBroker([1, 2, 3], { leader: 1, isr: [1] }, 1, only(2, 3), false);
    expect(next).toEqual({ leader: noLeader, isr: [1] });
  });
});

describe("restoreLeader", () => {
  const partition = (leader: number, isr: number[]): PartitionImage =>
    ({ partition: 0, replicas: [1, 2, 3], isr, leader, leaderEpoch: 4, partitionEpoch: 9 }) as PartitionImage;

  it("moves leadership to the preferred replica only when it is eligible and in the ISR", () => {
    expect(restoreLeader(partition(2, [1, 2]), only(1, 2), false).leader).toBe(1);
    expect(restoreLeader(partition(2, [2, 3]), only(1, 2, 3), false).leader).toBe(2);
    expect(restoreLeader(partition(2, [1, 2]), only(2), false).leader).toBe(2);
  });

  it("brings an offline partition back with an eligible ISR member", () => {
    expect(restoreLeader(partition(noLeader, [3]), only(3), false)).toEqual({ leader: 3, isr: [3] });
  });
});

describe("BrokerHeartbeats", () => {
  const image = applyRecords(
    MetadataImage.empty,
    [{ type: "broker-registration", brokerId: 1, incarnationId: "one", host: "h", port: 1 }],
    0,
  );

  it("counts an incarnation caught up once it applied its registration; a new term starts every session afresh", () => {
    const heartbeats = new BrokerHeartbeats(1_000);
    heartbeats.beginTerm(1, image, 0);
    heartbeats.registered(1, "one", 5, 0);
    expect(heartbeats.caughtUp("one", 4)).toBe(false);
    expect(heartbeats.caughtUp("one", 5)).toBe(true);
    heartbeats.beginTerm(2, image, 10_000);
    expect(heartbeats.sessions(10_500).lastHeartbeatMs.get(1)).toBe(10_000);
    expect(heartbeats.caughtUp("one", image.offset)).toBe(true);
  });
});
