// Nodes on a network of their own, so a test can split real processes: each node runs in a Linux network
// namespace with one veth link to a bridge in the host's namespace, where the test (the clients) lives.
// Node n has the address <subnet>.n, the clients <subnet>.254. A link rule drops the packets one side sends
// the other (all of them, or a share: nftables `numgen`, in the receiving node's namespace); a slow link is a
// token bucket (tc tbf) on both ends of a node's veth. Every rule lives in a namespace the lab made, so
// close() (deleting the namespaces and the bridge) removes them all and leaves the machine's own network as
// it was; an exit hook does the same if the test process ends without close(), and
// scripts/chaos-net-clean.sh if it was killed. Needs root, `ip` and `nft`.

import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Who sends or receives on a link: a node by id, or the test's clients (the host's namespace). */
export type Endpoint = number | "clients";

/** Packets `from` sends to `to` are dropped: all of them, or `lossPercent` of them at random. */
export interface LinkRule {
  readonly from: Endpoint;
  readonly to: Endpoint;
  /** 1..100; 100 drops every packet. */
  readonly lossPercent: number;
}

export const networkLabLimits = {
  /** Every ip/nft/tc command the lab runs is given this long. */
  commandTimeoutMs: 5_000,
  /** Subnets 10.213.<k>.0/24 tried for a lab, k from the process id on; a clash moves to the next. */
  subnetTries: 16,
  /** Rules at once (a 3-node cluster needs at most 12: every ordered pair of endpoints). */
  rulesMax: 64,
} as const;

/** Names the nft table each namespace's drop rules live in. */
const table = "brook_chaos";

/**
 * Why this machine cannot host a lab (not root, no `ip` or `nft`, namespaces refused), or undefined when it
 * can. Checked by making and deleting a namespace.
 */
export function networkLabUnavailable(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "network namespaces need root";
  for (const tool of ["ip", "nft", "tc"]) {
    try {
      execFileSync(tool, ["-V"], { stdio: "ignore", timeout: networkLabLimits.commandTimeoutMs });
    } catch {
      return `the '${tool}' command is missing (Debian: ${tool === "nft" ? "nftables" : "iproute2"})`;
    }
  }
  const probe = `brkprobe${process.pid % 100_000}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "ignore" });
    execFileSync("ip", ["netns", "exec", probe, "nft", "list", "ruleset"], { stdio: "ignore" });
    return undefined;
  } catch (error) {
    return `could not make a network namespace with nftables in it: ${(error as Error).message.split("\n")[0]}`;
  } finally {
    try {
      execFileSync("ip", ["netns", "del", probe], { stdio: "ignore" });
    } catch {
      // not made
    }
  }
}

export class NetworkLab {
  private rules: readonly LinkRule[] = [];
  private readonly slowNodes = new Set<number>();
  private closed = false;
  private readonly cleanUpOnExit = () => this.removeAllSync();

  private constructor(
    /** 10.213.<k>: node n is <prefix>.n. */
    private readonly prefix: string,
    /** Short tag in every interface and namespace name (15-character limit): brk<k>. */
    private readonly tag: string,
    readonly nodeIds: readonly number[],
  ) {}

  /** Makes the bridge, and a namespace with its veth for each node. */
  static async create(nodeIds: readonly number[]): Promise<NetworkLab> {
    const unavailable = networkLabUnavailable();
    if (unavailable !== undefined) throw new Error(`no network lab: ${unavailable}`);
    for (let attempt = 0; attempt < networkLabLimits.subnetTries; attempt++) {
      const k = (process.pid + attempt) % 250;
      const lab = new NetworkLab(`10.213.${k}`, `brk${k}`, nodeIds);
      if (await lab.taken()) continue;
      process.once("exit", lab.cleanUpOnExit);
      try {
        await lab.build();
      } catch (error) {
        await lab.close();
        throw error;
      }
      return lab;
    }
    throw new Error(`no free lab subnet among ${networkLabLimits.subnetTries} tried`);
  }

  /** The address node `id` binds and advertises. */
  hostOf(id: number): string {
    return `${this.prefix}.${id}`;
  }

  /** The command that runs `file args` inside node `id`'s namespace (ip execs it: the PID is the program's). */
  wrap(id: number, file: string, args: readonly string[]): { file: string; args: string[] } {
    return { file: "ip", args: ["netns", "exec", this.namespaceOf(id), file, ...args] };
  }

  get currentRules(): readonly LinkRule[] {
    return this.rules;
  }

  /** Replaces every link rule with `rules` (an empty list heals the network). */
  async setRules(rules: readonly LinkRule[]): Promise<void> {
    if (rules.length > networkLabLimits.rulesMax) {
      throw new Error(`${rules.length} link rules, more than ${networkLabLimits.rulesMax}`);
    }
    this.rules = rules;
    await Promise.all(this.nodeIds.map((id) => this.writeTable(id)));
  }

  /** Caps node `id`'s link (both directions) at `rateKbit`, or lifts the cap (undefined). */
  async setSlow(id: number, rateKbit: number | undefined): Promise<void> {
    const sides: [string[], string][] = [
      [[], this.hostSide(id)],
      [["-n", this.namespaceOf(id)], this.nodeSide(id)],
    ];
    for (const [where, device] of sides) {
      if (rateKbit === undefined) {
        if (this.slowNodes.has(id)) await sh("tc", [...where, "qdisc", "del", "dev", device, "root"]);
      } else {
        // The queue holds at most 400 ms of traffic at the rate: more is dropped, as a congested link does.
        const bucket = ["rate", `${rateKbit}kbit`, "burst", "16kb", "latency", "400ms"];
        await sh("tc", [...where, "qdisc", "replace", "dev", device, "root", "tbf", ...bucket]);
      }
    }
    if (rateKbit === undefined) this.slowNodes.delete(id);
    else this.slowNodes.add(id);
  }

  /** Heals every link and lifts every cap. */
  async heal(): Promise<void> {
    await this.setRules([]);
    await Promise.all([...this.slowNodes].map((id) => this.setSlow(id, undefined)));
  }

  /** Deletes the namespaces (their rules, veths and caps go with them) and the bridge. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    process.removeListener("exit", this.cleanUpOnExit);
    this.removeAllSync();
  }

  private namespaceOf(id: number): string {
    return `${this.tag}n${id}`;
  }

  private hostSide(id: number): string {
    return `${this.tag}n${id}h`;
  }

  private nodeSide(id: number): string {
    return `${this.tag}n${id}v`;
  }

  private get bridge(): string {
    return `${this.tag}br`;
  }

  private async taken(): Promise<boolean> {
    const { stdout } = await run("ip", ["-o", "link", "show"], {
      timeout: networkLabLimits.commandTimeoutMs,
    });
    return stdout.includes(`${this.bridge}:`) || stdout.includes(`${this.tag}n`);
  }

  private async build(): Promise<void> {
    await sh("ip", ["link", "add", this.bridge, "type", "bridge"]);
    await sh("ip", ["addr", "add", `${this.prefix}.254/24`, "dev", this.bridge]);
    await sh("ip", ["link", "set", this.bridge, "up"]);
    for (const id of this.nodeIds) {
      const ns = this.namespaceOf(id);
      await sh("ip", ["netns", "add", ns]);
      await sh("ip", ["link", "add", this.hostSide(id), "type", "veth", "peer", "name", this.nodeSide(id)]);
      await sh("ip", ["link", "set", this.nodeSide(id), "netns", ns]);
      await sh("ip", ["link", "set", this.hostSide(id), "master", this.bridge]);
      await sh("ip", ["link", "set", this.hostSide(id), "up"]);
      await sh("ip", ["-n", ns, "addr", "add", `${this.hostOf(id)}/24`, "dev", this.nodeSide(id)]);
      await sh("ip", ["-n", ns, "link", "set", this.nodeSide(id), "up"]);
      await sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
      await this.writeTable(id);
    }
  }

  private addressOf(endpoint: Endpoint): string {
    return endpoint === "clients" ? `${this.prefix}.254` : this.hostOf(endpoint);
  }

  /**
   * Node `id`'s nft table, written whole: it drops what the rules say others send it (input), and what it
   * sends the clients (output; the host's namespace holds no rules).
   */
  private async writeTable(id: number): Promise<void> {
    const drop = (rule: LinkRule) =>
      rule.lossPercent >= 100 ? "drop" : `numgen random mod 100 < ${rule.lossPercent} drop`;
    const input = this.rules
      .filter((r) => r.to === id)
      .map((r) => `ip saddr ${this.addressOf(r.from)} ${drop(r)}`);
    const output = this.rules
      .filter((r) => r.from === id && r.to === "clients")
      .map((r) => `ip daddr ${this.addressOf("clients")} ${drop(r)}`);
    const script = [
      `table inet ${table} {}`,
      `delete table inet ${table}`,
      `table inet ${table} {`,
      "  chain input {",
      "    type filter hook input priority 0; policy accept;",
      ...input.map((rule) => `    ${rule}`),
      "  }",
      "  chain output {",
      "    type filter hook output priority 0; policy accept;",
      ...output.map((rule) => `    ${rule}`),
      "  }",
      "}",
    ].join("\n");
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        "ip",
        ["netns", "exec", this.namespaceOf(id), "nft", "-f", "-"],
        { timeout: networkLabLimits.commandTimeoutMs },
        (error) => (error ? reject(error) : resolve()),
      );
      child.stdin?.end(script);
    });
  }

  /** Synchronous, for the exit hook too: deletes whatever of the lab exists, ignoring what does not. */
  private removeAllSync(): void {
    for (const id of this.nodeIds) {
      tryQuietly("ip", ["netns", "del", this.namespaceOf(id)]);
      tryQuietly("ip", ["link", "del", this.hostSide(id)]);
    }
    tryQuietly("ip", ["link", "del", this.bridge]);
  }
}

async function sh(file: string, args: readonly string[]): Promise<void> {
  await run(file, [...args], { timeout: networkLabLimits.commandTimeoutMs });
}

function tryQuietly(file: string, args: readonly string[]): void {
  try {
    execFileSync(file, [...args], { stdio: "ignore", timeout: networkLabLimits.commandTimeoutMs });
  } catch {
    // already gone
  }
}
