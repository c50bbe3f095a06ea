// One Raft node in its own process, steered by bench-cluster.ts over IPC:
// it listens, learns its peers, starts, reports every role change, and when
// it is the leader can run a proposal load and report what committed.

import { RaftNode, type StateMachine, tickMsDefault } from "../../src/driver/raft-node.js";
import { GrpcTransport } from "../../src/transport/grpc-transport.js";
import type { Entry } from "../../src/types.js";

type Command =
  | { cmd: "start"; peers: [number, string][]; voters: number[] }
  | { cmd: "load"; seconds: number; inFlight: number; bytes: number }
  | { cmd: "exit" };

/** Counts applied entries; the snapshot is just that count. */
class Counter implements StateMachine {
  applied = 0;
  apply(entries: readonly Entry[]): void {
    this.applied += entries.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(String(this.applied));
  }
  restore(data: Uint8Array): void {
    this.applied = Number(new TextDecoder().decode(data));
  }
}

const [id, dataDir, listen] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const send = (message: object) => process.send?.(message);
const mode = process.env.STEP_MODE === "unary" ? "unary" : "stream";
const transport = await GrpcTransport.listen({ id, listen, mode });
let node: RaftNode | undefined;
send({ event: "listening", address: transport.address });

process.on("message", async (command: Command) => {
  if (command.cmd === "start") {
    transport.setPeers(new Map(command.peers));
    node = await RaftNode.start({
      id,
      dataDir,
      voters: command.voters,
      stateMachine: new Counter(),
      transport,
      tickMs: Number(process.env.TICK_MS ?? tickMsDefault),
      onStateChange: (state) => send({ event: "state", ...state, atMs: Date.now() }),
    });
    send({ event: "started" });
  } else if (command.cmd === "load" && node) {
    send({ event: "load", ...(await runLoad(node, command)) });
  } else if (command.cmd === "exit") {
    await node?.close({ transferLeadership: false });
    process.exit(0);
  }
});

/** Keeps `inFlight` proposals outstanding for `seconds`; counts those applied. */
async function runLoad(
  raft: RaftNode,
  { seconds, inFlight, bytes }: { seconds: number; inFlight: number; bytes: number },
) {
  const data = new Uint8Array(bytes).fill(7);
  const started = performance.now();
  const endMs = started + seconds * 1000;
  let committed = 0;
  let failed = 0;
  const worker = async () => {
    while (performance.now() < endMs) {
      await raft.propose(data).then(
        () => committed++,
        () => failed++,
      );
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return {
    committed,
    failed,
    seconds: elapsed,
    perSecond: Math.round(committed / elapsed),
    status: raft.status(),
  };
}
