// Sends generated PNG frames (frames.ts: no camera needed) to the topic image-frames, a few a second,
// until Ctrl-C. Each record's key is the camera name and its value the PNG bytes.
// Usage: node --import tsx examples/image-stream/producer.ts [--fps 5] [--camera demo]
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { connect, main, onStop } from "../shared/brook.js";
import { drawFrame } from "./frames.js";
import { ensureFrameTopic, frameTopic } from "./topic.js";

const { values } = parseArgs({
  options: {
    fps: { type: "string", default: "5" },
    camera: { type: "string", default: "demo" },
  },
});
const fps = Number(values.fps);
if (!(fps > 0 && fps <= 30)) {
  console.error("usage: producer.ts [--fps <1-30>] [--camera <name>]");
  process.exit(2);
}

main(async () => {
  const brook = connect("image-stream-producer");
  await ensureFrameTopic(brook);
  const producer = brook.producer({ lingerMs: 0 });

  let running = true;
  let frame = 0;
  const sending = (async () => {
    while (running) {
      const started = Date.now();
      const png = drawFrame(frame, new Date());
      await producer.send({
        topic: frameTopic,
        messages: [{ key: values.camera, value: png, headers: { "content-type": "image/png" } }],
      });
      if (frame % fps === 0) console.log(`sent frame ${frame} (${png.length} bytes) to ${frameTopic}`);
      frame++;
      await sleep(Math.max(0, 1000 / fps - (Date.now() - started)));
    }
  })();
  onStop(async () => {
    running = false;
    await sending;
    await producer.close();
    console.log(`sent ${frame} frames`);
  });
  await sending;
});
