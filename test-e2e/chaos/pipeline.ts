// The transactional pipeline's pure parts: which fault a round applies, what the read-back found, and
// the summary line. The pipeline reads IN and writes one OUT record per input record, valued
// "<partition>:<offset>" of its input, committing the group's offsets in the same transaction; so the
// output, read read_committed, must hold every input record's id exactly once.

import type { Random } from "@brook/testkit";

export type PipelineFaultKind =
  | "kill-coordinator"
  | "kill-output-leader"
  | "kill-input-leader"
  | "kill-processor"
  | "pause-coordinator";

/** The transaction coordinator and the processor are what this run is about; leaders come next. */
const pipelineFaultWeights: readonly [PipelineFaultKind, number][] = [
  ["kill-coordinator", 0.25],
  ["kill-processor", 0.25],
  ["kill-output-leader", 0.2],
  ["kill-input-leader", 0.15],
  ["pause-coordinator", 0.15],
];

export interface PipelineFault {
  kind: PipelineFaultKind;
  /** Which output or input partition's leader, for the leader kinds. */
  partition: number;
  pauseMs: number;
}

/** Every draw happens whatever is chosen, so a seed draws the same numbers in every replay. */
export function choosePipelineFault(random: Random, partitions: number): PipelineFault {
  const roll = random.next();
  const partition = random.int(0, partitions - 1);
  const pauseMs = random.int(300, 4_000);
  let sum = 0;
  for (const [kind, weight] of pipelineFaultWeights) {
    sum += weight;
    if (roll < sum) return { kind, partition, pauseMs };
  }
  return { kind: pipelineFaultWeights[0][0], partition, pauseMs };
}

export interface PipelineAudit {
  /** Records in the input topic (read back whole). */
  input: number;
  /** Records in the output topic, read read_committed. */
  output: number;
  /** Input records with no output record. */
  lost: number;
  /** Output records beyond the first for an input record. */
  duplicates: number;
  /** Output records naming no input record. */
  phantoms: number;
  /** Up to five of each, for the report. */
  lostExamples: string[];
  duplicateExamples: string[];
  phantomExamples: string[];
}

const examplesMax = 5;

/** Holds the output to the rule: every input id exactly once, nothing else. */
export function auditPipeline(inputIds: readonly string[], outputIds: readonly string[]): PipelineAudit {
  const seen = new Map<string, number>();
  for (const id of outputIds) seen.set(id, (seen.get(id) ?? 0) + 1);
  const inputs = new Set(inputIds);
  const lostIds = inputIds.filter((id) => !seen.has(id));
  const duplicated = [...seen].filter(([, count]) => count > 1);
  const phantomIds = [...seen.keys()].filter((id) => !inputs.has(id));
  return {
    input: inputIds.length,
    output: outputIds.length,
    lost: lostIds.length,
    duplicates: duplicated.reduce((sum, [, count]) => sum + count - 1, 0),
    phantoms: phantomIds.length,
    lostExamples: lostIds.slice(0, examplesMax),
    duplicateExamples: duplicated.slice(0, examplesMax).map(([id, count]) => `${id} ×${count}`),
    phantomExamples: phantomIds.slice(0, examplesMax),
  };
}

export interface PipelineResult {
  seed: number;
  faultsPlanned: number;
  faultsApplied: Record<PipelineFaultKind, number>;
  processorStarts: number;
  transactions: number;
  durationMs: number;
  audit: PipelineAudit;
  notes: readonly string[];
}

export function formatPipelineReport(r: PipelineResult): string[] {
  const faults = Object.entries(r.faultsApplied)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ");
  const a = r.audit;
  const lines = [
    `chaos pipeline report (seed ${r.seed}; replay with CHAOS_SEED=${r.seed} CHAOS_KILLS=${r.faultsPlanned}; Brook's SDK, transactional consume-transform-produce, read_committed)`,
    `  ${faults} in ${(r.durationMs / 1000).toFixed(1)} s; processor started ${r.processorStarts} times; ${r.transactions} transactions committed`,
    `  input ${a.input} records, output ${a.output} records read read_committed`,
  ];
  if (a.lostExamples.length > 0) lines.push(`  lost, e.g.: ${a.lostExamples.join(", ")}`);
  if (a.duplicateExamples.length > 0) lines.push(`  duplicated, e.g.: ${a.duplicateExamples.join(", ")}`);
  if (a.phantomExamples.length > 0) lines.push(`  never in the input, e.g.: ${a.phantomExamples.join(", ")}`);
  for (const note of r.notes) lines.push(`  note: ${note}`);
  lines.push(
    `pipeline: seed=${r.seed} faults=${r.faultsPlanned} input=${a.input} output=${a.output} lost=${a.lost} duplicates=${a.duplicates} phantoms=${a.phantoms}`,
  );
  return lines;
}
