// Serves the latest frames of image-frames to a browser, as the classic Kafka camera demo does: GET /
// is index.html, whose <img> shows GET /stream, a multipart/x-mixed-replace response to which every new
// frame is written as one more part (the browser replaces the image with each). GET /frame.png is the
// latest frame alone. Frames are read without a consumer group: every server sees every frame.
// Usage: node --import tsx examples/image-stream/server.ts [--port 8080] (or PORT=8080); it listens on 127.0.0.1.
import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { connect, main, onStop } from "../shared/brook.js";
import { ensureFrameTopic, frameTopic } from "./topic.js";

const { values } = parseArgs({ options: { port: { type: "string", default: process.env.PORT || "8080" } } });
const indexHtml = readFileSync(new URL("index.html", import.meta.url));

main(async () => {
  const brook = connect("image-stream-server");
  await ensureFrameTopic(brook);

  // Start at the newest frame already there, so a browser gets a picture at once.
  const admin = brook.admin();
  const ends = await admin.fetchTopicOffsets(frameTopic);
  await admin.close();
  const consumer = brook.consumer({ maxWaitMs: 100 });
  await consumer.assign(
    ends.map(({ partition, offset, low }) => ({
      topic: frameTopic,
      partition,
      offset: Math.max(low, offset - 1),
    })),
  );

  let latest: Buffer | undefined;
  const viewers = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(indexHtml);
    } else if (path === "/stream") {
      response.writeHead(200, {
        "content-type": "multipart/x-mixed-replace; boundary=frame",
        "cache-control": "no-store",
      });
      viewers.add(response);
      response.on("close", () => viewers.delete(response));
      if (latest !== undefined) writePart(response, latest);
    } else if (path === "/frame.png" && latest !== undefined) {
      response.writeHead(200, { "content-type": "image/png", "cache-control": "no-store" }).end(latest);
    } else if (path === "/frame.png") {
      response
        .writeHead(503, { "content-type": "text/plain" })
        .end("no frame yet: is the producer running?\n");
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end(`no ${path} here (try / or /stream)\n`);
    }
  });
  onStop(async () => {
    for (const viewer of viewers) viewer.end();
    server.close();
    await consumer.close();
  });
  server.listen(Number(values.port), "127.0.0.1");
  await new Promise((resolve, reject) => server.once("listening", resolve).once("error", reject));
  const { port } = server.address() as AddressInfo;
  console.log(`serving http://127.0.0.1:${port}/ (the latest frames of ${frameTopic})`);

  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value === null) return;
      latest = Buffer.from(message.value); // a copy: the message is a view into the whole fetched batch
      for (const viewer of viewers) writePart(viewer, latest);
    },
  });
});

/** One part of the multipart stream: the boundary, the part's headers, the PNG. */
function writePart(viewer: ServerResponse, png: Buffer): void {
  if (viewer.writableNeedDrain) return; // a viewer that has not taken the last frame yet skips this one
  viewer.write(`--frame\r\nContent-Type: image/png\r\nContent-Length: ${png.length}\r\n\r\n`);
  viewer.write(png);
  viewer.write("\r\n");
}
