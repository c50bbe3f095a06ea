// The Controller on a log that compacts into snapshots, one step at a time: it
// starts from the log's snapshot image (the records before it cannot be read)
// and, when a snapshot replaces the log's state, replaces its image with it
// rather than applying anything on top.

import { applyRecords, MetadataImage, type MetadataRecord } from "@brook/metadata";
import { BrookError } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { type CommitListener, Controller, type MetadataLog, type SnapshotListener } from "../src/index.js";
import { notifyCommit, notifySnapshot } from "../src/metadata-log.js";

/** A single-node log that keeps a snapshot image and the records after it, as RaftMetadataLog does. */
class SnapshottingLog implements MetadataLog {
  private tail: MetadataRecord[] = [];
  private readonly commitListeners = new Set<CommitListener>();
  private readonly snapshotListeners = new Set<SnapshotListener>();

  constructor(private base: MetadataImage = MetadataImage.empty) {}

  get committedOffset(): number {
    return this.base.offset + this.tail.length;
  }

  async append(records: readonly MetadataRecord[]): Promise<number> {
    const firstOffset = this.committedOffset + 1;
    this.tail.push(...records);
    notifyCommit(this.commitListeners, records, firstOffset);
    return firstOffset;
  }

  async read(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]> {
    if (fromOffset <= this.base.offset) throw new BrookError("OFFSET_OUT_OF_RANGE", "compacted");
    const start = fromOffset - this.base.offset - 1;
    return this.tail.slice(start, start + maxRecords);
  }

  snapshotImage(): MetadataImage | undefined {
    return this.base.offset < 0 ? undefined : this.base;
  }

  onCommit(listener: CommitListener, onSnapshot?: SnapshotListener): () => void {
    this.commitListeners.add(listener);
    if (onSnapshot) this.snapshotListeners.add(onSnapshot);
    return () => {
      this.commitListeners.delete(listener);
      if (onSnapshot) this.snapshotListeners.delete(onSnapshot);
    };
  }

  async close(): Promise<void> {}

  /** The quorum's snapshot replaces this log's state, as an InstallSnapshot does on a lagging follower. */
  install(image: MetadataImage): void {
    this.base = image;
    this.tail = [];
    notifySnapshot(this.snapshotListeners, image);
  }
}

const topic = (name: string): MetadataRecord => ({ type: "topic", name, topicId: `id-${name}` });
const imageOf = (records: MetadataRecord[], offset = records.length - 1) => {
  return applyRecords(MetadataImage.empty, records, 0).withOffset(offset);
};

describe("Controller on a log with snapshots", () => {
  it("opens from the log's snapshot image and the records after it", async () => {
    const snapshot = imageOf([topic("a"), topic("b")], 41); // a long history, compacted
    const log = new SnapshottingLog(snapshot);
    await log.append([topic("c")]);

    const controller = await Controller.open({ nodeId: 1, log });
    expect(controller.image.offset).toBe(42);
    expect(controller.image.topics().map((t) => t.name)).toEqual(["a", "b", "c"]);
    await controller.close();
  });

  it("a snapshot replacing the log's state replaces the image, and the batches after it apply on top of it", async () => {
    const log = new SnapshottingLog();
    const controller = await Controller.open({ nodeId: 1, log });
    const heard: number[] = [];
    controller.onImage((image) => heard.push(image.offset));
    await log.append([topic("gone"), topic("kept")]);

    // The quorum moved on while this node lagged: "gone" was deleted, "new" created.
    const snapshot = imageOf([topic("kept"), topic("new")], 9);
    log.install(snapshot);
    expect(controller.image).toBe(snapshot);
    await log.append([topic("after")]);

    expect(controller.image.offset).toBe(10);
    expect(controller.image.topics().map((t) => t.name)).toEqual(["after", "kept", "new"]);
    expect(heard).toEqual([1, 9, 10]);
    await controller.close();
  });
});
