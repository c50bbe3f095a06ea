// The bit-flip fault without a cluster: exactly one bit changes, in a sealed segment (never the newest,
// which is being written), and a replica with no sealed segment is left alone, saying so.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeHandle } from "@brook/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { flipBitInSealedSegment } from "./disk-faults.js";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function nodeWithSegments(count: number): { node: NodeHandle; dir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), "chaos-flip-"));
  roots.push(dataDir);
  const dir = join(dataDir, "chaos-2");
  mkdirSync(dir);
  for (let i = 0; i < count; i++) {
    const name = String(i * 100).padStart(20, "0");
    writeFileSync(join(dir, `${name}.log`), Buffer.alloc(4096, i));
    writeFileSync(join(dir, `${name}.index`), Buffer.alloc(64, 0));
  }
  return { node: { dataDir } as NodeHandle, dir };
}

const bitsDiffering = (a: Buffer, b: Buffer) =>
  a.reduce((sum, byte, i) => sum + (byte ^ b[i]).toString(2).replaceAll("0", "").length, 0);

describe("bit-flip", () => {
  it("flips one bit of one sealed segment, never the newest", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { node, dir } = nodeWithSegments(3);
      const before = [0, 1, 2].map((i) =>
        readFileSync(join(dir, `${String(i * 100).padStart(20, "0")}.log`)),
      );
      const flip = flipBitInSealedSegment(node, "chaos", 2, seed);
      expect(flip).toHaveProperty("file");
      const after = [0, 1, 2].map((i) => readFileSync(join(dir, `${String(i * 100).padStart(20, "0")}.log`)));
      const changed = before.map((b, i) => bitsDiffering(b, after[i]));
      expect(changed.reduce((a, b) => a + b, 0)).toBe(1);
      expect(changed[2]).toBe(0);
    }
  });

  it("with only the active segment, flips nothing and says why", () => {
    const { node } = nodeWithSegments(1);
    expect(flipBitInSealedSegment(node, "chaos", 2, 7)).toEqual({
      skipped: expect.stringMatching(/no sealed segment yet/),
    });
  });
});
