// Progress: the leader's flow control per follower (probe / replicate / snapshot, bounded in-flight window).

import { describe, expect, it } from "vitest";
import { Inflights, Progress } from "../src/progress.js";

describe("Progress", () => {
  it("rule: the in-flight window is bounded (maxInflightMsgs) and frees on acknowledgement", () => {
    const window = new Inflights(2);
    window.add(5);
    window.add(9);
    expect(window.full()).toBe(true);
    expect(() => window.add(10)).toThrow(/full/);
    window.freeLE(5);
    expect(window.count()).toBe(1);
    window.freeLE(100);
    expect(window.count()).toBe(0);
  });

  it("rule: in probe, one append at a time until the follower answers", () => {
    const pr = new Progress(6, 4, false);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(1, 6);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(6)).toBe(true);
    expect(pr.isPaused()).toBe(false);
  });

  it("rule: in replicate, appends stream until the window is full", () => {
    const pr = new Progress(1, 2, false);
    pr.becomeReplicate();
    pr.sentEntries(3, 3);
    pr.sentEntries(2, 5);
    expect(pr.next).toBe(6);
    expect(pr.isPaused()).toBe(true);
    pr.maybeUpdate(3);
    pr.inflights.freeLE(3);
    expect(pr.isPaused()).toBe(false);
  });

  it("rule: stale rejections (older than what was acknowledged, or not for the last probe) are ignored", () => {
    const pr = new Progress(11, 4, false);
    pr.match = 5;
    pr.becomeReplicate();
    expect(pr.maybeDecrTo(4, 0)).toBe(false);
    expect(pr.maybeDecrTo(8, 7)).toBe(true);
    expect(pr.next).toBe(6);
    pr.becomeProbe();
    expect(pr.maybeDecrTo(9, 2)).toBe(false);
    expect(pr.maybeDecrTo(5, 2)).toBe(true);
    expect(pr.next).toBe(6);
  });

  it("rule: after a snapshot the leader probes just past it", () => {
    const pr = new Progress(3, 4, false);
    pr.becomeSnapshot(40);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(41);
  });
});
