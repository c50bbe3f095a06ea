// Measures the Raft driver on this machine with three real node processes
// (bench-node.ts) on 127.0.0.1: proposals committed per second under a
// batched load, and the time to elect a new leader after SIGKILLing the old
// one (default timeouts: 100 ms ticks, election timeout 10–19 ticks).
//
//   npx tsc -b packages/raft && node -C source --import tsx packages/raft/test/driver/bench-cluster.ts
//   (env: KILLS=10, LOAD_SECONDS=5, IN_FLIGHT=1000, PROPOSAL_BYTES=100, STEP_MODE=stream|unary, TICK_MS=100)

import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tickMsDefault } from "../../src/driver/raft-node.js";

const kills = Number(process.env.KILLS ?? 10);
const loadSeconds = Number(process.env.LOAD_SECONDS ?? 5);
const inFlight = Number(process.env.IN_FLIGHT ?? 1000);
const proposalBytes = Number(process.env.PROPOSAL_BYTES ?? 100);
const tickMs = Number(process.env.TICK_MS ?? tickMsDefault); // read by bench-node.ts too

const nodeScript = fileURLToPath(new URL("./bench-node.ts", import.meta.url));
const ids = [1, 2, 3];
const root = await mkdtemp(join(tmpdir(), "brook-raft-bench-"));

interface NodeProcess {
  child: ChildProcess;
  address: string;
  leader: number;
  role: string;
  becameLeaderAtMs: number;
}
const nodes = new Map<number, NodeProcess>();

function waitForMessage(child: ChildProcess, event: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const listener = (message: Record<string, unknown>) => {
      if (message.event !== event) return;
      child.off("message", listener);
      resolve(message);
    };
    child.on("message", listener);
  });
}

async function spawn(id: number, listen: string): Promise<NodeProcess> {
  const child = fork(nodeScript, [String(id), join(root, `node-${id}`), listen], {
    execArgv: [
      "-C",
      "source",
      "--import",
      "tsx",
      ...(process.env.CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.CPU_PROF}`] : []),
    ],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const { address } = await waitForMessage(child, "listening");
  const entry: NodeProcess = {
    child,
    address: address as string,
    leader: 0,
    role: "follower",
    becameLeaderAtMs: 0,
  };
  child.on("message", (message: Record<string, unknown>) => {
    if (message.event !== "state") return;
    entry.leader = message.leader as number;
    entry.role = message.role as string;
    if (entry.role === "leader") entry.becameLeaderAtMs = message.atMs as number;
  });
  nodes.set(id, entry);
  return entry;
}

async function start(entry: NodeProcess): Promise<void> {
  const peers = [...nodes].map(([id, n]) => [id, n.address]);
  entry.child.send({ cmd: "start", peers, voters: ids });
  await waitForMessage(entry.child, "started");
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const agreedLeader = (): number | undefined => {
  const leaders = [...nodes].filter(([, n]) => n.role === "leader").map(([id]) => id);
  const agreed = leaders.length === 1 && [...nodes.values()].every((n) => n.leader === leaders[0]);
  return agreed ? leaders[0] : undefined;
};

/** Lets every node close its database and write its CPU profile. */
async function exitAll(): Promise<number> {
  await Promise.all(
    [...nodes.values()].map((n) => {
      n.child.send({ cmd: "exit" });
      return new Promise((resolve) => n.child.once("exit", resolve));
    }),
  );
  nodes.clear();
  return 0;
}

try {
  for (const id of ids) await spawn(id, "127.0.0.1:0");
  await Promise.all([...nodes.values()].map(start));
  await until(() => agreedLeader() !== undefined, 10_000);

  // ---- throughput ----
  const leader = nodes.get(agreedLeader()!)!;
  leader.child.send({ cmd: "load", seconds: loadSeconds, inFlight, bytes: proposalBytes });
  const load = await waitForMessage(leader.child, "load");
  console.log(
    `throughput: ${load.perSecond} proposals/s committed (${load.committed} in ${(load.seconds as number).toFixed(1)} s, ` +
      `${inFlight} in flight, ${proposalBytes} B each, ${process.env.STEP_MODE ?? "stream"}, ${load.failed} failed)`,
  );

  // ---- election after the leader's death ----
  if (kills === 0) process.exit(await exitAll());
  const electionMs: number[] = [];
  for (let i = 0; i < kills; i++) {
    await until(() => agreedLeader() !== undefined, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // everyone has heard a few heartbeats
    const deadId = agreedLeader()!;
    const dead = nodes.get(deadId)!;
    const killedAtMs = Date.now();
    dead.child.kill("SIGKILL");
    await new Promise((resolve) => dead.child.once("exit", resolve));
    nodes.delete(deadId);
    await until(() => agreedLeader() !== undefined, 10_000);
    const winner = nodes.get(agreedLeader()!)!;
    electionMs.push(winner.becameLeaderAtMs - killedAtMs);
    const restarted = await spawn(deadId, dead.address); // back on its old address and data dir
    await start(restarted);
  }
  electionMs.sort((a, b) => a - b);
  const median = electionMs[Math.floor(electionMs.length / 2)];
  console.log(
    `election after leader death (${kills} kills): median ${median} ms = ${(median / tickMs).toFixed(1)} ticks; ` +
      `min ${electionMs[0]} ms, max ${electionMs.at(-1)} ms; all: ${electionMs.join(", ")}`,
  );
  await exitAll();
} finally {
  for (const n of nodes.values()) n.child.kill("SIGKILL");
  await rm(root, { recursive: true, force: true });
}
