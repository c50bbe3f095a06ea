// Rule: a node holds one metadata image. The Raft state machine applies every committed record to its
// image (it writes snapshots from it); the Controller publishes that image as it is, and the broker of
// a combined node follows the Controller's (packages/server/src/node.ts), so nothing applies the same
// records to a second image. Checked as records commit, on the leader and on followers, after a restart
// that replays a snapshot and a log, and after catching up by the leader's snapshot.
import type { MetadataRecord } from "@brook/metadata";
import { afterEach, describe, expect, it } from "vitest";
import { Controller } from "../src/index.js";
import { Quorum, waitFor } from "./helpers/quorum.js";

const topic = (name: string): MetadataRecord => ({ type: "topic", name, topicId: `id-${name}` });

let quorum: Quorum | undefined;
const controllers: Controller[] = [];
afterEach(async () => {
  for (const controller of controllers.splice(0)) await controller.close();
  await quorum?.close();
  quorum = undefined;
});

async function controllerOn(quorum: Quorum, id: number): Promise<Controller> {
  const controller = await Controller.open({ nodeId: id, log: quorum.log(id), sessionCheckIntervalMs: 0 });
  controllers.push(controller);
  return controller;
}

describe("one metadata image per node", () => {
  it("the Controller's image is the metadata log's own, on the leader and on followers, as records commit", async () => {
    quorum = await Quorum.start({ snapshotEntries: 5 });
    const leader = await quorum.leader();
    const byNode = await Promise.all([1, 2, 3].map((id) => controllerOn(quorum!, id)));
    for (let i = 0; i < 12; i++) await leader.append([topic(`t${i}`)]);
    for (const [index, controller] of byNode.entries()) {
      const log = quorum.log(index + 1);
      await waitFor(() => controller.image.offset === 11);
      expect(controller.image).toBe(log.image());
    }
  });

  it("after a restart (a snapshot and the log after it) and after catching up by the leader's snapshot", async () => {
    quorum = await Quorum.start({ snapshotEntries: 5 });
    const leader = await quorum.leader();
    for (let i = 0; i < 8; i++) await leader.append([topic(`early${i}`)]);
    const [follower] = await quorum.followers();
    const id = follower.status().nodeId;
    await waitFor(() => follower.committedOffset === 7);
    await quorum.kill(id);
    for (let i = 0; i < 20; i++) await leader.append([topic(`missed${i}`)]);
    await quorum.restart(id);
    const controller = await controllerOn(quorum, id);
    expect(controller.image).toBe(quorum.log(id).image());
    await waitFor(() => controller.image.offset === 27);
    expect(controller.image).toBe(quorum.log(id).image());
    expect(controller.image.topic("missed19")).toBeDefined();
  });
});
