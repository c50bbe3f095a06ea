// Raft's safety properties, checked by the simulator after every event (and at
// every write to a node's "disk"). Each check keeps just enough global history
// to stay cheap: the leader of every term, a fact per (index, term) ever
// persisted, every committed entry, every applied entry, every read issued.

import type { Entry, LogStorage, NodeId, RaftCore, ReadState, Snapshot } from "../../src/index.js";
import { entryKey } from "./state-machine.js";

export class SafetyViolation extends Error {
  constructor(property: string, detail: string) {
    super(`${property}: ${detail}`);
    this.name = "SafetyViolation";
  }
}

export interface NodeView {
  readonly id: NodeId;
  /** The node's log while it is up. */
  readonly storage: LogStorage | undefined;
  readonly core: RaftCore | undefined;
  /** Whether entry index:term (or a snapshot past it) would survive this node losing power now. */
  durablyHolds(index: number, term: number): boolean;
}

interface CommittedEntry {
  readonly term: number;
  /** The lowest term of a node seen holding it committed: the true commit term or later. */
  commitTerm: number;
}

const decoder = new TextDecoder();

export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** "index:term" → what that entry holds and the term of the entry before it (log matching by induction). */
  private readonly entryFacts = new Map<string, { key: string; previousTerm: number }>();
  readonly committed = new Map<number, CommittedEntry>();
  private commitMax = 0;
  private readonly appliedAt = new Map<number, { term: number; key: string; hash: number }>();
  private readonly readsIssued = new Map<string, number>();
  private readonly seenCommit = new Map<NodeId, number>();
  private readonly seenLeaderTerm = new Map<NodeId, number>();
  /** Entry key → the index it was applied at (for the liveness phase). */
  readonly appliedIndexOf = new Map<string, number>();
  readsAnswered = 0;

  // ---- Writes to a node's disk -----------------------------------------------------------

  /** Committed entries are never lost: an append may not overwrite or cut off one. */
  beforeAppend(node: NodeView, entries: readonly Entry[]): void {
    const first = entries[0].index;
    const storage = upStorage(node);
    const last = storage.lastIndex();
    for (let index = Math.max(first, storage.firstIndex()); index <= last; index++) {
      const oldTerm = storage.term(index);
      const newTerm = entries[index - first]?.term;
      if (oldTerm !== newTerm && this.committed.get(index)?.term === oldTerm) {
        throw new SafetyViolation(
          "committed entry lost",
          `node ${node.id} replaced committed entry ${index} (term ${oldTerm}) with ${newTerm ?? "nothing"}`,
        );
      }
    }
  }

  /** Log matching: the same (index, term) always holds the same entry after the same previous term. */
  afterAppend(node: NodeView, entries: readonly Entry[]): void {
    const storage = upStorage(node);
    for (const entry of entries) {
      if (entry.index < storage.firstIndex()) continue;
      const previousTerm = storage.term(entry.index - 1);
      const fact = { key: entryKey(entry), previousTerm };
      const id = `${entry.index}:${entry.term}`;
      const known = this.entryFacts.get(id);
      if (!known) {
        this.entryFacts.set(id, fact);
      } else if (known.key !== fact.key || known.previousTerm !== fact.previousTerm) {
        throw new SafetyViolation(
          "log matching",
          `node ${node.id} persisted entry ${id} = ${fact.key} after term ${previousTerm}; ` +
            `elsewhere it is ${known.key} after term ${known.previousTerm}`,
        );
      }
    }
  }

  beforeSnapshotRestore(node: NodeView, snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    if (index > 0 && !this.entryFacts.has(`${index}:${term}`)) {
      throw new SafetyViolation(
        "log matching",
        `node ${node.id} got a snapshot at ${index}:${term} no log ever held`,
      );
    }
    const storage = upStorage(node);
    for (let i = index + 1; i <= storage.lastIndex(); i++) {
      const oldTerm = storage.term(i);
      if (this.committed.get(i)?.term === oldTerm) {
        throw new SafetyViolation(
          "committed entry lost",
          `node ${node.id} dropped committed entry ${i} for a snapshot`,
        );
      }
    }
  }

  // ---- The state machine ------------------------------------------------------------------

  /** State machine safety: no two nodes apply different entries at one index. */
  applied(node: NodeView, entry: Entry, hash: number): void {
    const key = entryKey(entry);
    const known = this.appliedAt.get(entry.index);
    if (!known) {
      this.appliedAt.set(entry.index, { term: entry.term, key, hash });
    } else if (known.term !== entry.term || known.key !== key || known.hash !== hash) {
      throw new SafetyViolation(
        "state machine safety",
        `node ${node.id} applied ${entry.index}:${entry.term} ${key} (hash ${hash}); ` +
          `another node applied ${entry.index}:${known.term} ${known.key} (hash ${known.hash})`,
      );
    }
    const committed = this.committed.get(entry.index);
    if (committed && committed.term !== entry.term) {
      throw new SafetyViolation(
        "state machine safety",
        `node ${node.id} applied ${entry.index}:${entry.term}, not the committed one`,
      );
    }
    this.appliedIndexOf.set(key, entry.index);
  }

  restoredSnapshot(node: NodeView, index: number, hash: number): void {
    const known = this.appliedAt.get(index);
    if (known && known.hash !== hash) {
      throw new SafetyViolation(
        "state machine safety",
        `node ${node.id} restored a snapshot at ${index} that differs from what was applied`,
      );
    }
  }

  // ---- Reads ---------------------------------------------------------------------------------

  readIssued(context: Uint8Array): void {
    this.readsIssued.set(decoder.decode(context), this.commitMax);
  }

  /** Linearizable reads: a read point covers every commit that completed before the read was issued. */
  readAnswered(node: NodeView, state: ReadState): void {
    const issuedAt = this.readsIssued.get(decoder.decode(state.context));
    if (issuedAt === undefined) return;
    this.readsAnswered++;
    if (state.index < issuedAt) {
      throw new SafetyViolation(
        "linearizable reads",
        `node ${node.id} answered read ${decoder.decode(state.context)} at index ${state.index}, ` +
          `but ${issuedAt} was committed before the read was issued`,
      );
    }
  }

  // ---- After every event ----------------------------------------------------------------------

  afterStep(nodes: readonly NodeView[]): void {
    for (const node of nodes) {
      if (!node.core) continue;
      this.checkLeader(node, node.core);
      this.observeCommit(node, node.core, nodes);
    }
  }

  /** At most one leader per term; a new leader holds every entry committed in earlier terms. */
  private checkLeader(node: NodeView, core: RaftCore): void {
    if (core.role !== "leader" || this.seenLeaderTerm.get(node.id) === core.term) return;
    this.seenLeaderTerm.set(node.id, core.term);
    const known = this.leaderOfTerm.get(core.term);
    if (known !== undefined && known !== node.id) {
      throw new SafetyViolation(
        "election safety",
        `nodes ${known} and ${node.id} are both leaders of term ${core.term}`,
      );
    }
    this.leaderOfTerm.set(core.term, node.id);
    for (const [index, entry] of this.committed) {
      if (entry.commitTerm < core.term) this.checkHolds(node, core, index, entry.term, "leader completeness");
    }
  }

  private observeCommit(node: NodeView, core: RaftCore, nodes: readonly NodeView[]): void {
    const seen = this.seenCommit.get(node.id) ?? 0;
    if (core.commitIndex <= seen) return;
    this.seenCommit.set(node.id, core.commitIndex);
    this.commitMax = Math.max(this.commitMax, core.commitIndex);
    for (let index = seen + 1; index <= core.commitIndex; index++) {
      const term = core.termAt(index);
      if (term === undefined) continue; // compacted into the snapshot this node restored
      const known = this.committed.get(index);
      if (known && known.term !== term) {
        throw new SafetyViolation(
          "committed entry lost",
          `node ${node.id} committed ${index}:${term}, but ${index}:${known.term} was committed`,
        );
      }
      if (known) known.commitTerm = Math.min(known.commitTerm, core.term);
      else this.committed.set(index, { term, commitTerm: core.term });
      if (core.role === "leader") this.checkOnQuorum(node, core, index, term, nodes);
      for (const other of nodes) {
        if (other.core?.role === "leader" && other.core.term > core.term) {
          this.checkHolds(other, other.core, index, term, "leader completeness");
        }
      }
    }
  }

  private checkHolds(node: NodeView, core: RaftCore, index: number, term: number, property: string): void {
    const held = core.termAt(index);
    if (held === term) return;
    if (held === undefined && index <= core.lastIndex) return; // compacted: covered by its snapshot
    throw new SafetyViolation(
      property,
      `leader ${node.id} (term ${core.term}) lacks committed entry ${index}:${term}`,
    );
  }

  /** A leader commits only what a quorum of voters has on disk, durably: it survives their power loss. */
  private checkOnQuorum(
    node: NodeView,
    core: RaftCore,
    index: number,
    term: number,
    nodes: readonly NodeView[],
  ): void {
    const { voters } = core.membership();
    if (voters.length < 2) return; // a lone voter commits what it is about to persist in the same Ready
    let holders = 0;
    for (const voter of voters) {
      if (nodes.find((candidate) => candidate.id === voter)?.durablyHolds(index, term)) holders++;
    }
    if (holders < Math.floor(voters.length / 2) + 1) {
      throw new SafetyViolation(
        "committed entry lost",
        `leader ${node.id} committed ${index}:${term} but only ${holders} of voters ${voters.join(",")} persisted it`,
      );
    }
  }
}

/** The log of a node the simulator is writing to, so one that is up. */
function upStorage(node: NodeView): LogStorage {
  if (!node.storage) throw new Error(`node ${node.id} is down`);
  return node.storage;
}
