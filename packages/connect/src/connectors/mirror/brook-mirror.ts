// brook-mirror, the MirrorMaker 2 of Brook: a source connector that copies topics of another Brook cluster
// (or, with source.protocol=kafka, of any Kafka-protocol cluster) into the worker's, as `<alias>.<topic>` with the same partitions, keys, values, headers and
// timestamps, and translates the source's consumer group offsets so that groups can move over.

import { defineSource } from "../../api.js";
import { mirrorConfigSchema } from "./config.js";
import { MirrorTask } from "./mirror-task.js";

export const brookMirror = defineSource({
  name: "brook-mirror",
  description:
    "Mirrors topics and consumer group offsets of another Brook or Kafka-protocol cluster (MirrorMaker 2).",
  configSchema: mirrorConfigSchema,
  // The next record of a source partition is its committed offset + 1, exactly.
  canSeek: true,
  async start(context) {
    const task = new MirrorTask(context);
    try {
      await task.start();
    } catch (error) {
      await task.stop();
      throw error;
    }
    return task;
  },
  poll: (task) => task.records(),
  commitRecord: (task, sent) => task.mirrored(sent),
  stop: (task) => task.stop(),
});
