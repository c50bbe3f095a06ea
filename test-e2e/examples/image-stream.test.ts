// examples/image-stream on a three-node cluster, run as its README shows: with the producer sending
// frames, the server's page has an <img> on /stream, and /stream is a multipart/x-mixed-replace
// response whose parts are distinct, valid PNG frames (checked by png.ts, not by the example's encoder);
// both programs stop cleanly on SIGTERM.
import { createHash } from "node:crypto";
import { get, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { decodePng } from "./png.js";
import { exampleCluster, start, step } from "./run.js";

const example = exampleCluster();

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Reads `count` parts of a multipart/x-mixed-replace response (each `--frame`, its headers, a blank line
 * and Content-Length bytes), then closes it; fails after timeoutMs.
 */
function readParts(url: string, count: number, timeoutMs: number): Promise<{ type?: string; parts: Part[] }> {
  return new Promise((resolve, reject) => {
    const parts: Part[] = [];
    let buffered = Buffer.alloc(0);
    const request = get(url, (response) => {
      const type = (response.headers as IncomingHttpHeaders)["content-type"];
      response.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        for (;;) {
          const start = buffered.indexOf("--frame\r\n");
          const headersEnd = buffered.indexOf("\r\n\r\n", start);
          if (start < 0 || headersEnd < 0) return;
          const headers = Object.fromEntries(
            buffered
              .toString("latin1", start + 9, headersEnd)
              .split("\r\n")
              .map((line) => line.split(/:\s*/, 2).map((s, i) => (i === 0 ? s.toLowerCase() : s))),
          );
          const length = Number(headers["content-length"]);
          if (buffered.length < headersEnd + 4 + length) return;
          parts.push({
            headers,
            body: Buffer.from(buffered.subarray(headersEnd + 4, headersEnd + 4 + length)),
          });
          buffered = buffered.subarray(headersEnd + 4 + length);
          if (parts.length === count) {
            clearTimeout(timer);
            request.destroy();
            resolve({ type, parts });
            return;
          }
        }
      });
    });
    request.on("error", reject);
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`${parts.length} of ${count} parts from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

describe("examples/image-stream", () => {
  it("serves the producer's frames to a browser as a multipart stream of distinct PNGs", async () => {
    const env = { ...example.env, PORT: "0" }; // PORT=0: a free port, printed
    const server = start(step("image-stream", "server.ts").command, env);
    example.running.push(server);
    const [, url] = await server.waitFor(/serving (http:\/\/127\.0\.0\.1:\d+)\//);
    const producer = start(step("image-stream", "producer.ts").command, env);
    example.running.push(producer);
    await producer.waitFor(/sent frame 0 \(\d+ bytes\) to image-frames/);

    const page = await fetch(`${url}/`);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toContain('<img src="/stream"');

    const { type, parts } = await readParts(`${url}/stream`, 6, 20_000);
    expect(type).toBe("multipart/x-mixed-replace; boundary=frame");
    const digests = new Set<string>();
    for (const { headers, body } of parts) {
      expect(headers["content-type"]).toBe("image/png");
      const png = decodePng(body);
      expect([png.width, png.height]).toEqual([320, 240]);
      digests.add(createHash("sha256").update(png.pixels).digest("hex"));
    }
    expect(digests.size).toBe(parts.length); // every part a new frame

    const latest = await fetch(`${url}/frame.png`);
    expect(latest.headers.get("content-type")).toBe("image/png");
    expect(decodePng(Buffer.from(await latest.arrayBuffer())).width).toBe(320);

    expect(await producer.stop()).toBe(0);
    expect(producer.output()).toMatch(/sent \d+ frames\n$/);
    // A browser still watching does not hold the server up: its stream ends when the server stops.
    const watching = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${url}/stream`, resolve).on("error", reject),
    );
    const ended = new Promise<void>((resolve) => watching.on("close", resolve).resume());
    expect(await server.stop()).toBe(0);
    await ended;
  }, 90_000);
});
