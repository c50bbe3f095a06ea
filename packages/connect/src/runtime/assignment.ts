// Who runs what: the pure decision that spreads connectors and their tasks over a group's live workers.
// Every worker computes it alike from the same inputs (the members the group coordinator lists and the
// connector configs every worker reads from __connect-configs), so no leader hands it out. Sorted
// round-robin: each unit goes to exactly one live worker, and the counts differ by at most one.

export interface WorkUnit {
  connector: string;
  /** undefined: the connector itself (its status); a number: that task. */
  task?: number;
}

export interface ConnectorTasks {
  connector: string;
  taskCount: number;
}

export function unitKey({ connector, task }: WorkUnit): string {
  // Unambiguous whatever the names: "y" task 0 and a connector named "y-0" must not share a key.
  return task === undefined ? `connector:${connector}` : `task:${task}:${connector}`;
}

/** Every unit of every connector, in one order every worker agrees on. */
export function allUnits(connectors: readonly ConnectorTasks[]): WorkUnit[] {
  const sorted = [...connectors].sort((a, b) => compare(a.connector, b.connector));
  const units: WorkUnit[] = [];
  for (const { connector, taskCount } of sorted) {
    units.push({ connector });
    for (let task = 0; task < taskCount; task += 1) units.push({ connector, task });
  }
  return units;
}

/** Each worker's units: worker ids sorted, units dealt out round-robin. No workers: nothing is assigned. */
export function assignUnits(
  workers: readonly string[],
  connectors: readonly ConnectorTasks[],
): Map<string, WorkUnit[]> {
  const sortedWorkers = [...new Set(workers)].sort(compare);
  const assignment = new Map<string, WorkUnit[]>(sortedWorkers.map((worker) => [worker, []]));
  if (sortedWorkers.length === 0) return assignment;
  for (const [index, unit] of allUnits(connectors).entries()) {
    assignment.get(sortedWorkers[index % sortedWorkers.length])?.push(unit);
  }
  return assignment;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
