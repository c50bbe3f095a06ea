// The controller: the only writer of cluster metadata. It decides (with the
// pure functions in topic-decisions.ts), appends the resulting records to the
// metadata log, and applies them to its image once committed. Writes are
// processed one at a time so every decision sees the image its records will
// be applied to.

import { randomUUID } from "node:crypto";
import {
  applyRecords,
  type BrokerRegistrationRecord,
  MetadataImage,
  type MetadataRecord,
} from "@brook/metadata";
import { asBrookError, type BrookError } from "@brook/protocol";
import type { MetadataLog } from "./metadata-log.js";
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
  private placementStart = 0;

  private constructor(
    readonly nodeId: number,
    private readonly log: MetadataLog,
    private readonly newTopicId: () => string,
  ) {}

  static async open(options: {
    nodeId: number;
    log: MetadataLog;
    newTopicId?: () => string;
  }): Promise<Controller> {
    const controller = new Controller(options.nodeId, options.log, options.newTopicId ?? randomUUID);
    await controller.replayLog();
    return controller;
  }

  get image(): MetadataImage {
    return this.currentImage;
  }

  get committedOffset(): number {
    return this.log.committedOffset;
  }

  /** Called with every new image, after the records that made it are committed. */
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
      if (!unchanged) await this.commit([{ type: "broker-registration", ...registration }]);
    });
  }

  createTopics(requests: readonly CreateTopicRequest[], validateOnly = false): Promise<TopicOutcome[]> {
    return this.write(async () => {
      const outcomes: TopicOutcome[] = [];
      for (const request of requests) {
        try {
          const records = planCreateTopic(this.currentImage, request, this.newTopicId(), this.placementStart);
          if (!validateOnly) {
            await this.commit(records);
            this.placementStart++;
          }
          outcomes.push({ name: request.name });
        } catch (error) {
          outcomes.push({ name: request.name, error: asBrookError(error) });
        }
      }
      return outcomes;
    });
  }

  deleteTopics(names: readonly string[]): Promise<TopicOutcome[]> {
    return this.write(async () => {
      const outcomes: TopicOutcome[] = [];
      for (const name of names) {
        try {
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
  }

  private write<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.writeQueue.then(operation);
    this.writeQueue = result.catch(() => undefined);
    return result;
  }

  private async commit(records: MetadataRecord[]): Promise<void> {
    const firstOffset = await this.log.append(records);
    this.publish(applyRecords(this.currentImage, records, firstOffset));
  }

  private publish(image: MetadataImage): void {
    this.currentImage = image;
    for (const listener of this.listeners) listener(image);
  }

  private async replayLog(): Promise<void> {
    let image = MetadataImage.empty;
    for (;;) {
      const from = image.offset + 1;
      const records = await this.log.read(from, replayChunkRecords);
      if (records.length === 0) break;
      image = applyRecords(image, records, from);
    }
    this.placementStart = image.topicsById.size;
    this.publish(image);
  }
}
