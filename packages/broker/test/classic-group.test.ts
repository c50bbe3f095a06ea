// Rules of classic consumer groups (Kafka clients' JoinGroup/SyncGroup/Heartbeat/LeaveGroup), as
// Kafka's GroupCoordinator applies them; classic-group.ts states them. Each test is a transcript
// (classic-transcript.ts explains the commands): what each request got, in order.
import { describe, expect, it } from "vitest";
import { ClassicGroup } from "../src/groups/classic-group.js";
import { transcript, transcriptConfig } from "./classic-transcript.js";

function expectTranscript(script: string, config = transcriptConfig): void {
  const [actual, expected] = transcript(script, config);
  expect(actual).toBe(expected);
}

describe("classic group: joining", () => {
  it("KIP-394: a new member gets an id with MEMBER_ID_REQUIRED, joins with it, and leads generation 1", () => {
    expectTranscript(`
      > join new client=a
      a-1: join failed MEMBER_ID_REQUIRED
      > state
      Empty generation 0 (-), leader -, members -
      > join a-1
      (stored)
      a-1: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1
      > sync a-1 gen=1 assign=a-1:p0+p1
      (stored)
      a-1: synced p0+p1
      > state
      Stable generation 1 (range), leader a-1, members a-1=p0+p1
    `);
  });

  it("before JoinGroup v4 a new member joins at once with a generated id", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1
    `);
  });

  it("initial rebalance delay: a group starting from Empty waits the delay after its last new member, once", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > time +60
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +60
      > join new client=c v3
      (stored)
      c-3: waiting
      > time +99
      > time +1
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2 c-3
      b-2: joined generation 1 (range), leader a-1
      c-3: joined generation 1 (range), leader a-1
    `);
  });

  it("initial rebalance delay: new members extend it no further than the rebalance timeout", () => {
    expectTranscript(
      `
      > join new client=a rebalance=250 v3
      (stored)
      a-1: waiting
      > time +90
      > join new client=b rebalance=250 v3
      (stored)
      b-2: waiting
      > time +90
      > join new client=c rebalance=250 v3
      (stored)
      c-3: waiting
      > time +70
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2 c-3
      b-2: joined generation 1 (range), leader a-1
      c-3: joined generation 1 (range), leader a-1
    `,
      { ...transcriptConfig, initialRebalanceDelayMs: 100 },
    );
  });

  it("join phase: a rebalance ends as soon as every known member has rejoined", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
      > sync b-2 gen=1
      b-2: synced p1
      > join new client=c v3
      (stored)
      c-3: waiting
      > state
      PreparingRebalance generation 1 (range), leader a-1, members a-1=p0 b-2=p1 c-3
      > heartbeat a-1 gen=1
      error REBALANCE_IN_PROGRESS
      > join a-1
      a-1: waiting
      > join b-2
      (stored)
      a-1: joined generation 2 (range), leader a-1, members a-1 b-2 c-3
      b-2: joined generation 2 (range), leader a-1
      c-3: joined generation 2 (range), leader a-1
    `);
  });

  it("join phase: dynamic members that do not rejoin within the rebalance timeout are removed", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
      > sync b-2 gen=1
      b-2: synced p1
      > join new client=c v3
      (stored)
      c-3: waiting
      > join a-1
      a-1: waiting
      > heartbeat b-2 gen=1
      error REBALANCE_IN_PROGRESS
      > time +4999
      > time +1
      (stored)
      a-1: joined generation 2 (range), leader a-1, members a-1 c-3
      c-3: joined generation 2 (range), leader a-1
      > heartbeat b-2 gen=1
      error UNKNOWN_MEMBER_ID
    `);
  });

  it("KIP-394: a member id handed out holds the join phase until it joins or its session expires", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1
      > sync a-1 gen=1 assign=a-1:p0
      (stored)
      a-1: synced p0
      > join new client=b session=2000
      b-2: join failed MEMBER_ID_REQUIRED
      > join new client=c v3
      (stored)
      c-3: waiting
      > join a-1
      a-1: waiting
      > time +1999
      > time +1
      (stored)
      a-1: joined generation 2 (range), leader a-1, members a-1 c-3
      c-3: joined generation 2 (range), leader a-1
      > join b-2
      error UNKNOWN_MEMBER_ID
    `);
  });
});

describe("classic group: protocols", () => {
  it("protocol selection: the one every member supports, by first-choice votes", () => {
    expectTranscript(`
      > join new client=a protocols=range,roundrobin v3
      (stored)
      a-1: waiting
      > join new client=b protocols=roundrobin,range v3
      (stored)
      b-2: waiting
      > join new client=c protocols=cooperative-sticky,roundrobin,range v3
      (stored)
      c-3: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (roundrobin), leader a-1, members a-1 b-2 c-3
      b-2: joined generation 1 (roundrobin), leader a-1
      c-3: joined generation 1 (roundrobin), leader a-1
    `);
  });

  it("protocol selection: a tie goes to the leader's preference", () => {
    expectTranscript(`
      > join new client=a protocols=range,roundrobin v3
      (stored)
      a-1: waiting
      > join new client=b protocols=roundrobin,range v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
    `);
  });

  it("INCONSISTENT_GROUP_PROTOCOL: no assignor in common, another protocol type, or none at all", () => {
    expectTranscript(`
      > join new client=a protocols=range v3
      (stored)
      a-1: waiting
      > join new client=b protocols=roundrobin v3
      error INCONSISTENT_GROUP_PROTOCOL
      > join new client=b type=connect v3
      error INCONSISTENT_GROUP_PROTOCOL
      > join new client=b type= v3
      error INCONSISTENT_GROUP_PROTOCOL
      > join new client=b protocols=roundrobin,range v3
      (stored)
      b-2: waiting
    `);
  });

  it("the leader gets every member's metadata for the chosen protocol; followers get none", () => {
    const group = new ClassicGroup("g", transcriptConfig, () => "1");
    const metadata = (name: string) => [
      { name: "roundrobin", metadata: Buffer.from(`${name}-rr`) },
      { name: "range", metadata: Buffer.from(`${name}-range`) },
    ];
    group.join({ ...joinInput("a"), protocols: [metadata("A")[1], metadata("A")[0]] }, 0);
    group.join({ ...joinInput("b"), protocols: metadata("B") }, 0);
    group.join({ ...joinInput("c"), protocols: metadata("C") }, 0);
    group.tick(100);
    const [toLeader, ...toFollowers] = group.ready().replies;
    expect(toLeader.answer).toMatchObject({
      protocolName: "roundrobin",
      leaderId: "a-1",
      members: [
        { memberId: "a-1", metadata: Buffer.from("A-rr") },
        { memberId: "b-1", metadata: Buffer.from("B-rr") },
        { memberId: "c-1", metadata: Buffer.from("C-rr") },
      ],
    });
    for (const reply of toFollowers) expect(reply.answer).toMatchObject({ leaderId: "a-1", members: [] });
  });
});

describe("classic group: sync", () => {
  it("followers' SyncGroup waits for the leader's, which answers everyone; an unassigned member gets nothing", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > join new client=c v3
      (stored)
      c-3: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2 c-3
      b-2: joined generation 1 (range), leader a-1
      c-3: joined generation 1 (range), leader a-1
      > sync b-2 gen=1
      b-2: waiting
      > heartbeat c-3 gen=1
      ok
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1,stranger:p2
      (stored)
      a-1: synced p0
      b-2: synced p1
      > sync c-3 gen=1
      c-3: synced (nothing)
      > state
      Stable generation 1 (range), leader a-1, members a-1=p0 b-2=p1 c-3
    `);
  });

  it("SyncGroup is refused for a wrong generation, an unknown member, another protocol, or during the join phase", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1
      > sync a-1 gen=0
      error ILLEGAL_GENERATION
      > sync z-9 gen=1
      error UNKNOWN_MEMBER_ID
      > sync a-1 gen=1 name=roundrobin
      error INCONSISTENT_GROUP_PROTOCOL
      > sync a-1 gen=1 name=range assign=a-1:p0
      (stored)
      a-1: synced p0
      > join new client=b v3
      (stored)
      b-2: waiting
      > sync a-1 gen=1
      error REBALANCE_IN_PROGRESS
    `);
  });

  it("a rebalance during CompletingRebalance voids the assignment being decided: waiting followers rejoin", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync b-2 gen=1
      b-2: waiting
      > join new client=c v3
      (stored)
      b-2: sync failed REBALANCE_IN_PROGRESS
      c-3: waiting
      > state
      PreparingRebalance generation 1 (range), leader a-1, members a-1 b-2 c-3
    `);
  });

  it("sync timeout: a leader that never sends SyncGroup is removed after the rebalance timeout", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync b-2 gen=1
      b-2: waiting
      > heartbeat a-1 gen=1
      ok
      > time +5000
      (stored)
      b-2: sync failed REBALANCE_IN_PROGRESS
      > join b-2
      (stored)
      b-2: joined generation 2 (range), leader b-2, members b-2
      > heartbeat a-1 gen=1
      error UNKNOWN_MEMBER_ID
    `);
  });
});

describe("classic group: heartbeats and sessions", () => {
  it("heartbeat: fine while syncing and stable; REBALANCE_IN_PROGRESS while joining; fenced when left behind", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1
      > heartbeat a-1 gen=1
      ok
      > sync a-1 gen=1 assign=a-1:p0
      (stored)
      a-1: synced p0
      > heartbeat a-1 gen=1
      ok
      > heartbeat a-1 gen=0
      error ILLEGAL_GENERATION
      > heartbeat nobody gen=1
      error UNKNOWN_MEMBER_ID
      > join new client=b v3
      (stored)
      b-2: waiting
      > heartbeat a-1 gen=1
      error REBALANCE_IN_PROGRESS
    `);
  });

  it("session expiry removes a member that stopped heartbeating and rebalances the rest", () => {
    expectTranscript(`
      > join new client=a v3 session=3000
      (stored)
      a-1: waiting
      > join new client=b v3 session=3000
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
      > sync b-2 gen=1
      b-2: synced p1
      > time +2000
      > heartbeat a-1 gen=1
      ok
      > time +1001
      (stored)
      > state
      PreparingRebalance generation 1 (range), leader a-1, members a-1=p0
      > heartbeat a-1 gen=1
      error REBALANCE_IN_PROGRESS
      > join a-1
      (stored)
      a-1: joined generation 2 (range), leader a-1, members a-1
    `);
  });

  it("session expiry: a member whose JoinGroup waits is alive; once the wait is cancelled its session restarts", () => {
    expectTranscript(`
      > join new client=a v3 session=1000 rebalance=60000
      (stored)
      a-1: waiting
      > join new client=b v3 session=1000 rebalance=60000
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
      > sync b-2 gen=1
      b-2: synced p1
      > join a-1 session=1000 rebalance=60000
      (stored)
      a-1: waiting
      > time +900
      > heartbeat b-2 gen=1
      error REBALANCE_IN_PROGRESS
      > time +900
      > heartbeat b-2 gen=1
      error REBALANCE_IN_PROGRESS
      > state
      PreparingRebalance generation 1 (range), leader a-1, members a-1=p0 b-2=p1
      > cancel join a-1
      > time +600
      > heartbeat b-2 gen=1
      error REBALANCE_IN_PROGRESS
      > time +401
      (stored)
      > state
      PreparingRebalance generation 1 (range), leader b-2, members b-2=p1
      > join b-2 session=1000 rebalance=60000
      (stored)
      b-2: joined generation 2 (range), leader b-2, members b-2
    `);
  });

  it("the last member leaving ends the generation: Empty, one generation later", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1
      > sync a-1 gen=1 assign=a-1:p0
      (stored)
      a-1: synced p0
      > leave a-1
      ok
      (stored)
      > state
      Empty generation 2 (-), leader -, members -
    `);
  });
});

describe("classic group: leaving", () => {
  it("LeaveGroup rebalances; a batch names members by id or, for static ones, by instance id alone", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=s instance=s v3
      (stored)
      s-2: waiting
      > join new client=c v3
      (stored)
      c-3: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 s-2 c-3
      s-2: joined generation 1 (range), leader a-1
      c-3: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,s-2:p1,c-3:p2
      (stored)
      a-1: synced p0
      > leave - instance=s
      ok
      (stored)
      > leave - instance=nobody
      error UNKNOWN_MEMBER_ID
      > leave c-3
      ok
      (stored)
      > leave c-3
      error UNKNOWN_MEMBER_ID
      > join a-1
      (stored)
      a-1: joined generation 2 (range), leader a-1, members a-1
    `);
  });

  it("a member id handed out with MEMBER_ID_REQUIRED may leave before it joins, which ends the join phase it held", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1
      > sync a-1 gen=1 assign=a-1:p0
      (stored)
      a-1: synced p0
      > join new client=b
      b-2: join failed MEMBER_ID_REQUIRED
      > join a-1
      (stored)
      a-1: waiting
      > leave b-2
      ok
      (stored)
      a-1: joined generation 2 (range), leader a-1, members a-1
    `);
  });

  it("the leader leaving hands the lead to the next member", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
      > sync b-2 gen=1
      b-2: synced p1
      > leave a-1
      ok
      (stored)
      > join b-2
      (stored)
      b-2: joined generation 2 (range), leader b-2, members b-2
    `);
  });
});

describe("classic group: rejoining", () => {
  it("a follower that rejoins a Stable group with the same metadata gets the current generation, no rebalance", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
      > sync b-2 gen=1
      b-2: synced p1
      > join b-2
      b-2: joined generation 1 (range), leader a-1
      > state
      Stable generation 1 (range), leader a-1, members a-1=p0 b-2=p1
      > join b-2 protocols=range:changed
      (stored)
      b-2: waiting
      > state
      PreparingRebalance generation 1 (range), leader a-1, members a-1=p0 b-2=p1
    `);
  });

  it("the leader rejoining a Stable group starts a rebalance (cooperative-sticky's second rebalance)", () => {
    expectTranscript(`
      > join new client=a protocols=cooperative-sticky v3
      (stored)
      a-1: waiting
      > join new client=b protocols=cooperative-sticky v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (cooperative-sticky), leader a-1, members a-1 b-2
      b-2: joined generation 1 (cooperative-sticky), leader a-1
      > sync a-1 gen=1 assign=a-1:p0+p1
      (stored)
      a-1: synced p0+p1
      > sync b-2 gen=1
      b-2: synced (nothing)
      > join a-1 protocols=cooperative-sticky:owns-p0
      (stored)
      a-1: waiting
      > heartbeat b-2 gen=1
      error REBALANCE_IN_PROGRESS
      > join b-2 protocols=cooperative-sticky
      (stored)
      a-1: joined generation 2 (cooperative-sticky), leader a-1, members a-1 b-2
      b-2: joined generation 2 (cooperative-sticky), leader a-1
      > sync a-1 gen=2 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
    `);
  });

  it("a member that lost its JoinGroup answer during CompletingRebalance gets it again (the leader with everyone's metadata)", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > join a-1
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      > join b-2 protocols=roundrobin,range
      (stored)
      b-2: waiting
      > state
      PreparingRebalance generation 1 (range), leader a-1, members a-1 b-2
    `);
  });
});

describe("classic group: static membership (KIP-345)", () => {
  it("a static member restarting in a Stable group takes its old id's place without a rebalance; the old id is fenced", () => {
    expectTranscript(`
      > join new client=a instance=ia v3
      (stored)
      ia-1: waiting
      > join new client=b instance=ib v3
      (stored)
      ib-2: waiting
      > time +100
      (stored)
      ia-1: joined generation 1 (range), leader ia-1, members ia-1 ib-2
      ib-2: joined generation 1 (range), leader ia-1
      > sync ia-1 gen=1 assign=ia-1:p0,ib-2:p1
      (stored)
      ia-1: synced p0
      > sync ib-2 gen=1
      ib-2: synced p1
      > join new client=b instance=ib
      (stored)
      ib-3: joined generation 1 (range), leader ia-1
      > sync ib-3 gen=1 instance=ib
      ib-3: synced p1
      > heartbeat ib-2 gen=1 instance=ib
      error FENCED_INSTANCE_ID
      > commit ib-2 gen=1 instance=ib
      error FENCED_INSTANCE_ID
      > state
      Stable generation 1 (range), leader ia-1, members ia-1=p0 ib-3=p1
    `);
  });

  it("a restarted static leader is told the old leader id (before v9) or to skip assigning (v9), so it does not reassign", () => {
    expectTranscript(`
      > join new client=a instance=ia v3
      (stored)
      ia-1: waiting
      > join new client=b instance=ib v3
      (stored)
      ib-2: waiting
      > time +100
      (stored)
      ia-1: joined generation 1 (range), leader ia-1, members ia-1 ib-2
      ib-2: joined generation 1 (range), leader ia-1
      > sync ia-1 gen=1 assign=ia-1:p0,ib-2:p1
      (stored)
      ia-1: synced p0
      > join new client=a instance=ia
      (stored)
      ia-3: joined generation 1 (range), leader ia-1
      > join new client=a instance=ia v9
      (stored)
      ia-4: joined generation 1 (range), leader ia-4, members ib-2 ia-4, skip assignment
      > state
      Stable generation 1 (range), leader ia-4, members ib-2=p1 ia-4=p0
    `);
  });

  it("a static member restarting with another chosen protocol, or during CompletingRebalance, rebalances", () => {
    expectTranscript(`
      > join new client=a instance=ia protocols=range,roundrobin v3
      (stored)
      ia-1: waiting
      > join new client=b protocols=range,roundrobin v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      ia-1: joined generation 1 (range), leader ia-1, members ia-1 b-2
      b-2: joined generation 1 (range), leader ia-1
      > sync ia-1 gen=1 assign=ia-1:p0,b-2:p1
      (stored)
      ia-1: synced p0
      > join new client=a instance=ia protocols=roundrobin,range
      (stored)
      ia-3: waiting
      > join b-2 protocols=range,roundrobin
      (stored)
      b-2: joined generation 2 (roundrobin), leader ia-3
      ia-3: joined generation 2 (roundrobin), leader ia-3, members b-2 ia-3
      > join new client=a instance=ia protocols=roundrobin,range
      (stored)
      ia-4: waiting
      > state
      PreparingRebalance generation 2 (roundrobin), leader ia-4, members b-2 ia-4
    `);
  });

  it("a static member that does not rejoin stays in the next generation: the leader assigns to it, and it catches up", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=s instance=s v3
      (stored)
      s-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 s-2
      s-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,s-2:p1
      (stored)
      a-1: synced p0
      > join new client=c v3
      (stored)
      c-3: waiting
      > join a-1
      a-1: waiting
      > time +5000
      (stored)
      a-1: joined generation 2 (range), leader a-1, members a-1 s-2 c-3
      c-3: joined generation 2 (range), leader a-1
      > sync a-1 gen=2 assign=a-1:p0,s-2:p1,c-3:p2
      (stored)
      a-1: synced p0
      > heartbeat s-2 gen=1 instance=s
      error ILLEGAL_GENERATION
      > join s-2 instance=s
      s-2: joined generation 2 (range), leader a-1
      > sync s-2 gen=2 instance=s
      s-2: synced p1
    `);
  });

  it("the replaced member's waiting JoinGroup fails with FENCED_INSTANCE_ID", () => {
    expectTranscript(`
      > join new client=a instance=ia v3
      (stored)
      ia-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      ia-1: joined generation 1 (range), leader ia-1, members ia-1 b-2
      b-2: joined generation 1 (range), leader ia-1
      > sync ia-1 gen=1 assign=ia-1:p0,b-2:p1
      (stored)
      ia-1: synced p0
      > join new client=c v3
      (stored)
      c-3: waiting
      > join ia-1 instance=ia
      ia-1: waiting
      > join new client=a instance=ia
      (stored)
      ia-1: join failed FENCED_INSTANCE_ID
      ia-4: waiting
    `);
  });
});

describe("classic group: commits", () => {
  it("offset commit fencing: a simple commit (generation -1, no member) only while Empty; members with their generation", () => {
    expectTranscript(`
      > commit - gen=-1
      ok
      > join new client=a v3
      (stored)
      a-1: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1
      > commit - gen=-1
      error UNKNOWN_MEMBER_ID
      > commit a-1 gen=1
      error REBALANCE_IN_PROGRESS
      > sync a-1 gen=1 assign=a-1:p0
      (stored)
      a-1: synced p0
      > commit a-1 gen=1
      ok
      > commit a-1 gen=0
      error ILLEGAL_GENERATION
      > commit z-9 gen=1
      error UNKNOWN_MEMBER_ID
      > join new client=b v3
      (stored)
      b-2: waiting
      > commit a-1 gen=1
      ok
    `);
  });
});

describe("classic group: limits", () => {
  it("GROUP_MAX_SIZE_REACHED: members plus member ids handed out are bounded", () => {
    expectTranscript(
      `
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b
      b-2: join failed MEMBER_ID_REQUIRED
      > join new client=c
      error GROUP_MAX_SIZE_REACHED
      > join b-2
      (stored)
      b-2: waiting
      > join new client=d v3
      error GROUP_MAX_SIZE_REACHED
    `,
      { ...transcriptConfig, membersMax: 2 },
    );
  });

  it("a member may offer a bounded number of protocols", () => {
    expectTranscript(`
      > join new client=a protocols=a,b,c,d,e v3
      error INVALID_REQUEST
    `);
  });
});

describe("classic group: failover (reload from the stored record)", () => {
  it("a Stable group reloads with its generation, leader and assignments; sessions restart", () => {
    expectTranscript(`
      > join new client=a v3 session=3000
      (stored)
      a-1: waiting
      > join new client=b v3 session=3000
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
      > sync b-2 gen=1
      b-2: synced p1
      > time +2900
      > reload
      loaded Stable generation 1 (range), leader a-1, members a-1=p0 b-2=p1
      > time +2999
      > heartbeat b-2 gen=1
      ok
      > sync a-1 gen=1
      a-1: synced p0
    `);
  });

  it("mid-rebalance: a PreparingRebalance group waits for its members to rejoin at the new coordinator", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > sync a-1 gen=1 assign=a-1:p0,b-2:p1
      (stored)
      a-1: synced p0
      > join new client=c v3
      (stored)
      c-3: waiting
      > reload
      loaded PreparingRebalance generation 1 (range), leader a-1, members a-1=p0 b-2=p1 c-3
      > join c-3
      c-3: waiting
      > join a-1
      a-1: waiting
      > join b-2
      (stored)
      a-1: joined generation 2 (range), leader a-1, members a-1 b-2 c-3
      b-2: joined generation 2 (range), leader a-1
      c-3: joined generation 2 (range), leader a-1
    `);
  });

  it("mid-sync: a CompletingRebalance group waits for the leader's SyncGroup, and drops it after the rebalance timeout", () => {
    expectTranscript(`
      > join new client=a v3
      (stored)
      a-1: waiting
      > join new client=b v3
      (stored)
      b-2: waiting
      > time +100
      (stored)
      a-1: joined generation 1 (range), leader a-1, members a-1 b-2
      b-2: joined generation 1 (range), leader a-1
      > reload
      loaded CompletingRebalance generation 1 (range), leader a-1, members a-1 b-2
      > sync b-2 gen=1
      b-2: waiting
      > time +5000
      (stored)
      b-2: sync failed REBALANCE_IN_PROGRESS
      > state
      PreparingRebalance generation 1 (range), leader b-2, members b-2
    `);
  });
});

describe("classic group: transitions", () => {
  it("each transition refuses a source the table does not allow", () => {
    const group = new ClassicGroup("g", transcriptConfig, () => "1");
    const internals = group as unknown as { toStable(): void; toCompletingRebalance(nowMs: number): void };
    expect(() => internals.toStable()).toThrow(/Empty -> Stable is not a legal transition/);
    expect(() => internals.toCompletingRebalance(0)).toThrow(/Empty -> CompletingRebalance/);
    group.toDead();
    expect(() => group.join(joinInput("a"), 0)).toThrow(/COORDINATOR_NOT_AVAILABLE/);
  });
});

function joinInput(clientId: string) {
  return {
    memberId: "",
    groupInstanceId: null,
    clientId,
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 5_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: Buffer.alloc(0) }],
    requireKnownMemberId: false,
    supportsSkipAssignment: false,
  };
}
