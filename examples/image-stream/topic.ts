// The topic the frames go through, shared by producer.ts and server.ts: one partition, so frames stay in
// order, and only the last ten minutes or so of them kept (a frame is about 2 KB).
import type { Brook } from "@brook/client";
import { ensureTopics } from "../shared/brook.js";

export const frameTopic = "image-frames";

export function ensureFrameTopic(brook: Brook): Promise<void> {
  return ensureTopics(brook, [
    {
      topic: frameTopic,
      numPartitions: 1,
      configEntries: [
        { name: "retention.ms", value: String(10 * 60_000) },
        // Retention deletes whole segments: small ones, so that old frames do go.
        { name: "segment.bytes", value: String(1024 * 1024) },
      ],
    },
  ]);
}
