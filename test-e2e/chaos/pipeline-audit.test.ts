// The pipeline chaos run's pure parts, without a cluster: the audit counts what the rule forbids, a seed
// replays the same faults, and the summary line says lost, duplicates and phantoms.
import { Random } from "@brook/testkit";
import { describe, expect, it } from "vitest";
import { auditPipeline, choosePipelineFault, formatPipelineReport } from "./pipeline.js";

describe("auditPipeline", () => {
  it("passes an output that holds every input id once, in any order", () => {
    const audit = auditPipeline(["0:0", "0:1", "1:0"], ["1:0", "0:0", "0:1"]);
    expect(audit).toMatchObject({ input: 3, output: 3, lost: 0, duplicates: 0, phantoms: 0 });
  });

  it("counts lost, duplicated and phantom records, with examples", () => {
    const audit = auditPipeline(["0:0", "0:1", "0:2"], ["0:0", "0:0", "0:0", "0:2", "9:9"]);
    expect(audit).toMatchObject({ lost: 1, duplicates: 2, phantoms: 1 });
    expect(audit.lostExamples).toEqual(["0:1"]);
    expect(audit.duplicateExamples).toEqual(["0:0 ×3"]);
    expect(audit.phantomExamples).toEqual(["9:9"]);
  });
});

describe("choosePipelineFault", () => {
  it("replays the same faults from the same seed, on partitions that exist", () => {
    const draw = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 50 }, () => choosePipelineFault(random, 3));
    };
    expect(draw(7)).toEqual(draw(7));
    const kinds = new Set(draw(7).map((fault) => fault.kind));
    expect(kinds.size).toBe(5);
    expect(draw(7).every((fault) => fault.partition >= 0 && fault.partition < 3)).toBe(true);
  });
});

describe("formatPipelineReport", () => {
  it("ends with the summary line scripts grep for", () => {
    const lines = formatPipelineReport({
      seed: 1,
      faultsPlanned: 3,
      faultsApplied: {
        "kill-coordinator": 1,
        "kill-output-leader": 1,
        "kill-input-leader": 0,
        "kill-processor": 1,
        "pause-coordinator": 0,
      },
      processorStarts: 2,
      transactions: 40,
      durationMs: 30_000,
      audit: auditPipeline(["0:0"], ["0:0"]),
      notes: [],
    });
    expect(lines.at(-1)).toBe("pipeline: seed=1 faults=3 input=1 output=1 lost=0 duplicates=0 phantoms=0");
  });
});
