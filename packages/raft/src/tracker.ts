// The leader's and candidate's view of the membership: who votes, who only
// learns, each member's Progress, the votes of an election, and the quorum
// arithmetic (majority of voters; learners never count).

import { assert } from "./assert.js";
import { Progress } from "./progress.js";
import type { Membership, NodeId } from "./types.js";

export type VoteResult = "won" | "lost" | "pending";

export class ProgressTracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  private readonly maxInflightMsgs: number;

  constructor(membership: Membership, maxInflightMsgs: number) {
    this.maxInflightMsgs = maxInflightMsgs;
    this.setMembership(membership, 1);
  }

  membership(): Membership {
    return {
      voters: [...this.voters].sort((a, b) => a - b),
      learners: [...this.learners].sort((a, b) => a - b),
    };
  }

  /** Replaces the membership; keeps the progress of members that stay, creates it for new ones (returned). */
  setMembership(membership: Membership, nextIndex: number): NodeId[] {
    this.voters = new Set(membership.voters);
    this.learners = new Set(membership.learners);
    for (const id of this.learners) assert(!this.voters.has(id), `node ${id} is both voter and learner`);
    for (const id of this.progress.keys()) {
      if (!this.isMember(id)) this.progress.delete(id);
    }
    const added: NodeId[] = [];
    for (const id of this.members()) {
      const existing = this.progress.get(id);
      if (existing) {
        existing.isLearner = this.learners.has(id);
      } else {
        const progress = new Progress(nextIndex, this.maxInflightMsgs, this.learners.has(id));
        // A new member counts as active so check-quorum does not depose the leader before it answers.
        progress.recentActive = true;
        this.progress.set(id, progress);
        added.push(id);
      }
    }
    return added;
  }

  isMember(id: NodeId): boolean {
    return this.voters.has(id) || this.learners.has(id);
  }

  members(): NodeId[] {
    return [...this.voters, ...this.learners];
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** The highest index stored on a quorum of voters. */
  committedIndex(): number {
    assert(this.voters.size > 0, "committing with no voters");
    const matches = [...this.voters].map((id) => this.progress.get(id)?.match ?? 0).sort((a, b) => b - a);
    return matches[this.quorum() - 1];
  }

  /** A quorum of voters was heard from during the last election timeout. */
  quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) if (this.progress.get(id)?.recentActive) active++;
    return active >= this.quorum();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Only voters' votes count. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const vote = this.votes.get(id);
      if (vote === true) granted++;
      if (vote === false) rejected++;
    }
    const quorum = this.quorum();
    if (granted >= quorum) return { granted, rejected, result: "won" };
    if (rejected > this.voters.size - quorum) return { granted, rejected, result: "lost" };
    return { granted, rejected, result: "pending" };
  }
}
