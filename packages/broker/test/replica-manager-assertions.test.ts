// Rule: a failed assertion while the broker applies a metadata image stops the process (it reaches the
// fatal handler); it is not logged as "failed to apply metadata image" and lived with.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MetadataImage } from "@brook/metadata";
import { AssertionError, isAssertionError, systemClock } from "@brook/protocol";
import { fatalErrorsOf } from "@brook/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { ReplicaManager } from "../src/replica-manager.js";
import { brokerId, silentLogger } from "./helpers.js";

let replicas: ReplicaManager | undefined;
let root: string | undefined;
afterEach(async () => {
  await replicas?.close().catch(() => undefined);
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe("the replica manager", () => {
  it("hands an assertion that fails while it applies an image to the process's fatal handler", async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "brook-replicas-"));
    replicas = new ReplicaManager({
      brokerId,
      dataDir: root,
      clock: systemClock,
      logger: silentLogger,
      inService: () => {
        throw new AssertionError("the image names this broker");
      },
    });
    const manager = replicas;
    const reached = await fatalErrorsOf(() => manager.applyImage(MetadataImage.empty).catch(() => undefined));
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.every(isAssertionError)).toBe(true);
  });
});
