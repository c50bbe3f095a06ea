// What every example shares: the cluster to talk to (BROOK_BOOTSTRAP, else the three brokers `make up`
// starts), topics created on first use, one clear line for an error, and a clean stop on Ctrl-C.
import { Brook, BrookError, type NewTopic } from "@brook/client";

export const defaultBootstrap = "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292";

/** A client of the brokers in BROOK_BOOTSTRAP ("host:port,host:port"), else of the local cluster. */
export function connect(clientId: string): Brook {
  const brokers = (process.env.BROOK_BOOTSTRAP || defaultBootstrap)
    .split(",")
    .map((address) => address.trim())
    .filter((address) => address !== "");
  // Give up with CLUSTER_UNREACHABLE once no broker has answered for 15 s, rather than retry for ever.
  return new Brook({ brokers, clientId, unreachableTimeoutMs: 15_000 });
}

/** Creates the topics that do not exist yet (another process creating one at the same time is fine). */
export async function ensureTopics(brook: Brook, topics: NewTopic[]): Promise<void> {
  const admin = brook.admin();
  try {
    const existing = new Set(await admin.listTopics());
    for (const topic of topics.filter(({ topic }) => !existing.has(topic))) {
      try {
        await admin.createTopics({ topics: [topic] });
      } catch (error) {
        if (!(error instanceof BrookError && error.code === "TOPIC_ALREADY_EXISTS")) throw error;
      }
    }
  } finally {
    await admin.close();
  }
}

/** Runs an example's main function; an error ends the process with one line on stderr and exit code 1. */
export function main(run: () => Promise<void>): void {
  run().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const unreachable = /^(CLUSTER_UNREACHABLE|BROKER_NOT_AVAILABLE)\b/.test(message);
    const hint = unreachable ? " (is the cluster up? `make up` starts it; BROOK_BOOTSTRAP names others)" : "";
    console.error(`error: ${message}${hint}`);
    process.exit(1);
  });
}

/**
 * On SIGINT (Ctrl-C) or SIGTERM, calls `stop` once (close consumers, so that they leave their groups,
 * and producers, so that what they buffered is sent), then exits 0; exits 1 if that takes over 10 s.
 */
export function onStop(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return; // a terminal's Ctrl-C can arrive twice: from the terminal and relayed by tsx
    stopping = true;
    setTimeout(() => process.exit(1), 10_000).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`error while stopping: ${error instanceof Error ? error.message : error}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
