// Three Controllers on three RaftMetadataLogs (real gRPC on 127.0.0.1): the
// active controller decides, every controller's image follows the committed
// log, a follower refuses writes naming the active one, another controller
// takes over from the full image when the active one dies, and a restarted
// controller replays to the same image.

import { decodeMetadataRecord, imageFromSnapshot, type MetadataImage } from "@brook/metadata";
import { afterEach, describe, expect, it } from "vitest";
import { Controller, fetchMetadata, NotActiveControllerError, planCreateTopic } from "../src/index.js";
import { registerLiveBroker } from "./helpers/decisions.js";
import { Quorum, waitFor } from "./helpers/quorum.js";

const newTopic = (name: string, numPartitions = 3) => ({
  name,
  numPartitions,
  replicationFactor: 2,
  configs: new Map<string, string>(),
});

class ControllerQuorum {
  readonly controllers = new Map<number, Controller>();

  private constructor(readonly quorum: Quorum) {}

  static async start(options: { snapshotEntries?: number } = {}): Promise<ControllerQuorum> {
    const cluster = new ControllerQuorum(await Quorum.start(options));
    for (const log of cluster.quorum.running()) {
      const nodeId = log.status().nodeId;
      cluster.controllers.set(nodeId, await Controller.open({ nodeId, log }));
    }
    return cluster;
  }

  /** The one active controller every running controller names. */
  async active(): Promise<Controller> {
    await this.quorum.leader();
    let active: Controller | undefined;
    await waitFor(() => {
      const running = [...this.controllers.values()];
      active = running.find((controller) => controller.isActive());
      return running.every((controller) => controller.activeControllerId() === active?.nodeId);
    });
    return active!;
  }

  async followers(): Promise<Controller[]> {
    const active = await this.active();
    return [...this.controllers.values()].filter((controller) => controller !== active);
  }

  /** Stops a controller as if its process died: its log hands nothing over. */
  async kill(id: number): Promise<void> {
    await this.quorum.kill(id);
    await this.controllers.get(id)?.close();
    this.controllers.delete(id);
  }

  async restart(id: number): Promise<Controller> {
    const controller = await Controller.open({ nodeId: id, log: await this.quorum.restart(id) });
    this.controllers.set(id, controller);
    return controller;
  }

  /** Waits until every running controller's image has reached `image`'s offset. */
  async converge(image: MetadataImage): Promise<void> {
    for (const controller of this.controllers.values()) {
      await waitFor(() => controller.image.offset >= image.offset);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.controllers.keys()].map((id) => this.kill(id)));
    await this.quorum.close();
  }
}

/** Registers brokers 1–3 and creates two topics through the active controller. */
async function seed(active: Controller): Promise<void> {
  for (const brokerId of [1, 2, 3]) {
    await registerLiveBroker(active, {
      brokerId,
      incarnationId: `i${brokerId}`,
      host: "127.0.0.1",
      port: brokerId,
    });
  }
  const outcomes = await active.createTopics([newTopic("orders"), newTopic("payments", 2)]);
  expect(outcomes.map((outcome) => outcome.error)).toEqual([undefined, undefined]);
}

function summary(image: MetadataImage) {
  return { offset: image.offset, brokers: [...image.brokers.values()], topics: image.topics() };
}

let cluster: ControllerQuorum | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe("controller quorum", () => {
  it("the active controller decides and every controller's image follows, listeners included", async () => {
    cluster = await ControllerQuorum.start();
    const active = await cluster.active();
    const followers = await cluster.followers();
    const heard = followers.map((follower) => {
      const offsets: number[] = [];
      follower.onImage((image) => offsets.push(image.offset));
      return offsets;
    });

    await seed(active);
    await cluster.converge(active.image);

    for (const follower of followers) expect(summary(follower.image)).toEqual(summary(active.image));
    for (const offsets of heard) expect(offsets.at(-1)).toBe(active.image.offset);
    expect(active.image.topic("orders")?.partitions.map((p) => p.replicas)).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
    ]);
  });

  it("a write on a follower fails with NOT_CONTROLLER naming the active controller", async () => {
    cluster = await ControllerQuorum.start();
    const active = await cluster.active();
    await seed(active);
    for (const follower of await cluster.followers()) {
      const failure = {
        code: "NOT_CONTROLLER",
        activeControllerId: active.nodeId,
        message: `NOT_CONTROLLER: node ${follower.nodeId} is not the active controller; the active controller is node ${active.nodeId}`,
      };
      await expect(follower.createTopics([newTopic("elsewhere")])).rejects.toMatchObject(failure);
      await expect(follower.deleteTopics(["orders"])).rejects.toBeInstanceOf(NotActiveControllerError);
      await expect(
        follower.registerBroker({ brokerId: 9, incarnationId: "x", host: "h", port: 9 }),
      ).rejects.toMatchObject(failure);
      expect(follower.image.topic("elsewhere")).toBeUndefined();
    }
  });

  it("reports the quorum: every voter, who leads, and this node's term and commit index", async () => {
    cluster = await ControllerQuorum.start();
    const active = await cluster.active();
    await seed(active);
    await cluster.converge(active.image);
    for (const controller of cluster.controllers.values()) {
      const status = controller.quorumStatus();
      expect(status.map((member) => member.id)).toEqual([1, 2, 3]);
      expect(status.filter((member) => member.leader).map((member) => member.id)).toEqual([active.nodeId]);
      const own = status.find((member) => member.id === controller.nodeId);
      expect(own?.term).toBeGreaterThan(0);
      expect(own?.commitIndex).toBeGreaterThan(0);
    }
  });

  it("when the active controller dies, another takes over from the full image and places topics the same way", async () => {
    cluster = await ControllerQuorum.start();
    const first = await cluster.active();
    await seed(first);
    const imageBefore = first.image;
    // What the old active controller would have decided for the next topic.
    const planned = planCreateTopic(imageBefore, newTopic("after"), "any-id").filter(
      (record) => record.type === "partition",
    );

    await cluster.kill(first.nodeId);
    const second = await cluster.active();
    expect(second.nodeId).not.toBe(first.nodeId);
    const [outcome] = await second.createTopics([newTopic("after")]);
    expect(outcome.error).toBeUndefined();

    expect(second.image.topic("orders")).toEqual(imageBefore.topic("orders"));
    expect(second.image.topic("payments")).toEqual(imageBefore.topic("payments"));
    expect(second.image.brokers).toEqual(imageBefore.brokers);
    expect(second.image.topic("after")?.partitions.map((p) => p.replicas)).toEqual(
      planned.map((record) => record.type === "partition" && record.replicas),
    );
    const [survivor] = await cluster.followers();
    await cluster.converge(second.image);
    expect(summary(survivor.image)).toEqual(summary(second.image));
  });

  it("a restarted controller replays to the same image, from its snapshot and its log", async () => {
    cluster = await ControllerQuorum.start({ snapshotEntries: 3 });
    const active = await cluster.active();
    await seed(active);
    await active.deleteTopics(["payments"]);
    await cluster.converge(active.image);
    const [follower] = await cluster.followers();

    await cluster.kill(follower.nodeId);
    const restarted = await cluster.restart(follower.nodeId);
    expect(summary(restarted.image)).toEqual(summary(active.image));
    expect(restarted.image.topic("payments")).toBeUndefined();

    // And it keeps following: a topic created afterwards reaches it.
    await active.createTopics([newTopic("later", 1)]);
    await cluster.converge(active.image);
    expect(restarted.image.topic("later")).toBeDefined();
  });

  it("a controller that fell behind the compacted log takes the leader's snapshot and ends with the active controller's image", async () => {
    cluster = await ControllerQuorum.start({ snapshotEntries: 3 });
    const active = await cluster.active();
    await seed(active);
    await cluster.converge(active.image);
    const [follower] = await cluster.followers();
    const id = follower.nodeId;
    const appliedIndex = cluster.quorum.log(id).status().appliedIndex;

    await cluster.kill(id);
    await active.deleteTopics(["orders"]);
    for (const name of ["x", "y", "z"]) await active.createTopics([newTopic(name, 2)]);
    const leaderLog = cluster.quorum.log(active.nodeId);
    await waitFor(() => leaderLog.status().snapshotIndex > appliedIndex); // compacted past what it has

    const restarted = await cluster.restart(id);
    await cluster.converge(active.image);
    expect(cluster.quorum.log(id).status().snapshotIndex).toBeGreaterThan(appliedIndex); // it came by snapshot
    expect(restarted.image).toEqual(active.image);
    expect(restarted.image.topic("orders")).toBeUndefined();
  });

  it("FetchMetadata from below the snapshot answers with the image as records, which rebuild it", async () => {
    cluster = await ControllerQuorum.start({ snapshotEntries: 3 });
    const active = await cluster.active();
    await seed(active);
    await cluster.converge(active.image);

    for (const controller of cluster.controllers.values()) {
      const image = controller.image;
      const response = await fetchMetadata(controller, { fromOffset: 0, maxWaitMs: 0, maxRecords: 1 });
      expect(response).toMatchObject({ snapshot: true, nextOffset: image.offset + 1 });
      const records = (response.records ?? []).map((bytes) => decodeMetadataRecord(bytes as Uint8Array));
      expect(imageFromSnapshot(records, Number(response.nextOffset) - 1)).toEqual(image);

      // From there on, records again (none yet).
      const next = await fetchMetadata(controller, {
        fromOffset: image.offset + 1,
        maxWaitMs: 0,
        maxRecords: 100,
      });
      expect(next).toMatchObject({ snapshot: false, records: [], nextOffset: image.offset + 1 });
    }
  });
});
