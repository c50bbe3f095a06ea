// The controller: the only writer of cluster metadata. On a quorum, one
// controller is active at a time: it decides (with the pure functions in
// topic-decisions.ts) and appends the resulting records to the metadata log.
// Every controller, active or not, builds its image only from the batches the
// log reports committed, so each follows the active one and can take over
// from the same image. Writes are processed one at a time so every decision
// sees the image its records will be applied to.

import { randomUUID } from "node:crypto";
import {
  applyRecords,
  type BrokerRegistrationRecord,
  MetadataImage,
  type MetadataRecord,
} from "@brook/metadata";
import { asBrookError, assert, BrookError } from "@brook/protocol";
import { NotActiveControllerError } from "./errors.js";
import type { ControllerQuorumMember, MetadataLog } from "./metadata-log.js";
import { type CreateTopicRequest, planCreateTopic, planDeleteTopic } from "./topic-decisions.js";

export interface TopicOutcome {
  readonly name: string;
  readonly error?: BrookError;
}

export type ImageListener = (image: MetadataImage) => void;

/** Records per replay read on start-up; bounds memory while loading a long log. */
const replayChunkRecords = 10_000;

export class Controller {
  private currentImage: MetadataImage = MetadataImage.empty;
  private writeQueue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<ImageListener>();
  private readonly stopFollowing: () => void;
  /** Until the start-up replay is done, the log may report batches the replay has yet to read. */
  private replaying = true;
  /**
   * The term in which this controller caught up as the active one. Decisions
   * are made only in that term: in a new one, it must catch up again first.
   */
  private caughtUpTerm: number | undefined;

  private constructor(
    readonly nodeId: number,
    private readonly log: MetadataLog,
    private readonly newTopicId: () => string,
  ) {
    this.stopFollowing = log.onCommit((records, firstOffset) => this.applyCommitted(records, firstOffset));
  }

  /** Starts following the log and resolves once the image holds every record it had committed. */
  static async open(options: {
    nodeId: number;
    log: MetadataLog;
    newTopicId?: () => string;
  }): Promise<Controller> {
    const controller = new Controller(options.nodeId, options.log, options.newTopicId ?? randomUUID);
    try {
      await controller.replayLog();
    } catch (error) {
      controller.stopFollowing();
      throw error;
    }
    return controller;
  }

  get image(): MetadataImage {
    return this.currentImage;
  }

  get committedOffset(): number {
    return this.log.committedOffset;
  }

  /** Whether this controller decides writes now; any other refuses them with NOT_CONTROLLER. */
  isActive(): boolean {
    return this.log.isActive?.() ?? true;
  }

  /** The active controller as this node knows it; undefined while none is known. */
  activeControllerId(): number | undefined {
    return this.log.activeControllerId ? this.log.activeControllerId() : this.nodeId;
  }

  /** Every controller of the quorum, for `brook cluster status`; a single-node log is a quorum of one. */
  quorumStatus(): ControllerQuorumMember[] {
    return (
      this.log.quorumStatus?.() ?? [
        { id: this.nodeId, leader: true, term: 0, commitIndex: this.log.committedOffset },
      ]
    );
  }

  /** Called with every new image, after the records that made it are committed; on every controller. */
  onImage(listener: ImageListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records a broker's endpoint; a no-op when nothing changed since it last registered. */
  registerBroker(registration: Omit<BrokerRegistrationRecord, "type">): Promise<void> {
    return this.write(async () => {
      const known = this.currentImage.brokers.get(registration.brokerId);
      const unchanged =
        known &&
        known.host === registration.host &&
        known.port === registration.port &&
        known.rack === registration.rack;
      if (unchanged) return;
      // Registrations start fenced (as in Kafka). Until broker heartbeats and
      // sessions are wired (issue 4), nothing would ever unfence a broker, so
      // registration unfences it in the same atomic batch.
      await this.commit([
        { type: "broker-registration", ...registration },
        {
          type: "broker-unfence",
          brokerId: registration.brokerId,
          incarnationId: registration.incarnationId,
        },
      ]);
    });
  }

  /**
   * One outcome per topic. NOT_CONTROLLER rejects the whole call when this
   * controller is not the active one; when leadership is lost midway, the
   * topics from there on report it in their outcome (the one whose append
   * was in flight may still have been created: a retry then says it exists).
   */
  createTopics(requests: readonly CreateTopicRequest[], validateOnly = false): Promise<TopicOutcome[]> {
    return this.write(async () => {
      const outcomes: TopicOutcome[] = [];
      for (const request of requests) {
        try {
          await this.catchUpAsActive();
          const records = planCreateTopic(this.currentImage, request, this.newTopicId());
          if (!validateOnly) await this.commit(records);
          outcomes.push({ name: request.name });
        } catch (error) {
          outcomes.push({ name: request.name, error: asBrookError(error) });
        }
      }
      return outcomes;
    });
  }

  /** One outcome per topic; NOT_CONTROLLER as for createTopics. */
  deleteTopics(names: readonly string[]): Promise<TopicOutcome[]> {
    return this.write(async () => {
      const outcomes: TopicOutcome[] = [];
      for (const name of names) {
        try {
          await this.catchUpAsActive();
          await this.commit(planDeleteTopic(this.currentImage, name));
          outcomes.push({ name });
        } catch (error) {
          outcomes.push({ name, error: asBrookError(error) });
        }
      }
      return outcomes;
    });
  }

  /** Committed records from an offset, for followers of the metadata log. */
  readRecords(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]> {
    return this.log.read(fromOffset, maxRecords);
  }

  async close(): Promise<void> {
    await this.writeQueue;
    await this.log.close();
    this.stopFollowing();
  }

  /**
   * Runs a write after the ones before it, once this controller has caught
   * up as the active one (else it fails whole with NOT_CONTROLLER). Each
   * decision inside checks again, as leadership may move during a write.
   */
  private write<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.writeQueue.then(async () => {
      await this.catchUpAsActive();
      return operation();
    });
    this.writeQueue = result.catch(() => undefined);
    return result;
  }

  /**
   * Refuses unless this controller is the active one. The first time in a
   * term, it first waits until it has applied every record committed before
   * (under the previous active controller too): deciding on an older image
   * could, say, create a topic that already exists.
   */
  private async catchUpAsActive(): Promise<void> {
    const term = this.term();
    if (!this.isActive()) throw this.notActive();
    if (term === this.caughtUpTerm) return;
    try {
      await this.log.sync?.();
    } catch (error) {
      throw this.asNotActive(error);
    }
    if (!this.isActive() || this.term() !== term) throw this.notActive();
    this.caughtUpTerm = term;
  }

  /**
   * Appends a decision's records. The image is not changed here: the log
   * reports the batch committed (to applyCommitted) before append() resolves.
   */
  private async commit(records: MetadataRecord[]): Promise<void> {
    let firstOffset: number;
    try {
      firstOffset = await this.log.append(records);
    } catch (error) {
      throw this.asNotActive(error);
    }
    assert(
      this.currentImage.offset >= firstOffset + records.length - 1,
      "the metadata log reports a batch committed before its append() resolves",
    );
  }

  /**
   * Applies a committed batch, skipping what the image already has: at
   * start-up the replay and the log's reports overlap. A batch past the
   * image's next offset is one the replay has yet to read; once it is done,
   * the log reports every batch in offset order, so a gap is a bug.
   */
  private applyCommitted(records: readonly MetadataRecord[], firstOffset: number): void {
    const nextOffset = this.currentImage.offset + 1;
    if (firstOffset > nextOffset) {
      assert(this.replaying, `the metadata log skipped from offset ${nextOffset - 1} to ${firstOffset}`);
      return;
    }
    const fresh = records.slice(nextOffset - firstOffset);
    if (fresh.length > 0) this.publish(applyRecords(this.currentImage, fresh, nextOffset));
  }

  private publish(image: MetadataImage): void {
    this.currentImage = image;
    for (const listener of this.listeners) listener(image);
  }

  private async replayLog(): Promise<void> {
    for (;;) {
      const fromOffset = this.currentImage.offset + 1;
      const records = await this.log.read(fromOffset, replayChunkRecords);
      if (records.length === 0) break;
      this.applyCommitted(records, fromOffset);
    }
    this.replaying = false;
  }

  private term(): number {
    return this.log.term?.() ?? 0;
  }

  private notActive(cause?: unknown): NotActiveControllerError {
    return new NotActiveControllerError(this.nodeId, this.activeControllerId(), { cause });
  }

  /** The log's "not the leader" as this controller's NOT_CONTROLLER; other errors as they are. */
  private asNotActive(error: unknown): unknown {
    return error instanceof BrookError && error.code === "NOT_CONTROLLER" ? this.notActive(error) : error;
  }
}
