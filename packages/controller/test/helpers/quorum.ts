// Three RaftMetadataLogs over real gRPC on 127.0.0.1 (free ports), each with
// its own temp data dir: the controller quorum that the tests start in one
// line and stop in one line.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import getPort from "get-port";
import { RaftMetadataLog } from "../../src/index.js";

/** Short ticks keep elections to a few hundred ms. */
const tickMs = 20;

export class Quorum {
  private readonly logs = new Map<number, RaftMetadataLog>();

  private constructor(
    private readonly root: string,
    private readonly voters: ReadonlyMap<number, string>,
    private readonly snapshotEntries: number | undefined,
  ) {}

  static async start(options: { snapshotEntries?: number } = {}): Promise<Quorum> {
    const root = await mkdtemp(join(tmpdir(), "brook-quorum-"));
    const voters = new Map<number, string>();
    for (const id of [1, 2, 3]) voters.set(id, `127.0.0.1:${await getPort({ host: "127.0.0.1" })}`);
    const quorum = new Quorum(root, voters, options.snapshotEntries);
    await Promise.all([...voters.keys()].map((id) => quorum.restart(id)));
    return quorum;
  }

  /** Opens node `id` (again) from its data dir, on its address. */
  async restart(id: number): Promise<RaftMetadataLog> {
    const log = await RaftMetadataLog.open({
      nodeId: id,
      dataDir: join(this.root, `node-${id}`),
      voters: this.voters,
      tickMs,
      snapshotEntries: this.snapshotEntries,
    });
    this.logs.set(id, log);
    return log;
  }

  log(id: number): RaftMetadataLog {
    const log = this.logs.get(id);
    if (!log) throw new Error(`node ${id} is not running`);
    return log;
  }

  running(): RaftMetadataLog[] {
    return [...this.logs.values()];
  }

  /** The one leader every running node agrees on. */
  async leader(): Promise<RaftMetadataLog> {
    let leader: RaftMetadataLog | undefined;
    await waitFor(() => {
      const leaders = this.running().filter((log) => log.isActive());
      leader = leaders[0];
      return (
        leaders.length === 1 &&
        this.running().every((log) => log.activeControllerId() === leader!.status().nodeId)
      );
    });
    return leader!;
  }

  async followers(): Promise<RaftMetadataLog[]> {
    const leader = await this.leader();
    return this.running().filter((log) => log !== leader);
  }

  /** Stops node `id` without handing over leadership, as if it had died. */
  async kill(id: number): Promise<void> {
    await this.logs.get(id)?.close({ transferLeadership: false });
    this.logs.delete(id);
  }

  async close(): Promise<void> {
    await Promise.all([...this.logs.keys()].map((id) => this.kill(id)));
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Polls `condition` every 5 ms; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
