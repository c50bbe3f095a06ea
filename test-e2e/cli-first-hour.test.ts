// A newcomer's first hour with the `brook` CLI (issue 14): every command answers fast, stops by itself and
// speaks to people. Each test runs the CLI as a real process, against a real cluster or none at all, and
// checks its exit code, what it printed and how long it took.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Brook } from "@brook/client";
import { type Cluster, startCluster } from "@brook/testkit";
import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "./wait.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const brookBin = join(repoRoot, "packages/cli/bin/brook.js");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

function brook(
  args: string[],
  options: { bootstrap?: string; input?: string; env?: object } = {},
): Promise<Result> {
  const env = { ...process.env, BROOK_BOOTSTRAP: options.bootstrap ?? "", ...options.env };
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [brookBin, ...args],
      { env, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number(error.code ?? 1) : 0,
          stdout,
          stderr,
          elapsedMs: Date.now() - started,
        }),
    );
    child.stdin?.end(options.input ?? "");
  });
}

/** Human output: each stderr line a short sentence, never a JSON log object. */
function expectNoLogObjects(stderr: string): void {
  for (const line of stderr.split("\n").filter((l) => l !== "")) {
    expect(line).not.toMatch(/[{}]/);
  }
}

/** A port nothing listens on. */
const deadAddress = async () => `127.0.0.1:${await getPort()}`;

describe("with no cluster to talk to", () => {
  it("an admin command fails within --timeout, naming the addresses tried and why, on one line", async () => {
    const address = await deadAddress();
    const result = await brook(["topic", "list", "--timeout", "1500"], { bootstrap: address });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^error: CLUSTER_UNREACHABLE: no broker answered for .* \\(tried ${address}\\): connection refused`,
      ),
    );
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(1_500);
    expect(result.elapsedMs).toBeLessThan(5_000);
  });

  it("an admin command gives up after a few seconds by default", async () => {
    const result = await brook(["cluster", "status"], { bootstrap: await deadAddress() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("CLUSTER_UNREACHABLE");
    expect(result.elapsedMs).toBeGreaterThanOrEqual(5_000);
    expect(result.elapsedMs).toBeLessThan(10_000);
  });

  it("refuses malformed addresses at once, saying where they came from", async () => {
    for (const bad of ["127.0.0.1:abc", "notahost", "host:99999", "127.0.0.1:"]) {
      const flag = await brook(["topic", "list", "--bootstrap", bad]);
      expect(flag.code).toBe(1);
      expect(flag.stderr).toBe(
        `error: INVALID_CONFIG: --bootstrap: '${bad}' is not a broker address: give host:port with a port from 1 to 65535, e.g. 127.0.0.1:9092\n`,
      );
      expect(flag.elapsedMs).toBeLessThan(3_000);
    }
    const env = await brook(["consume", "t"], { bootstrap: "127.0.0.1:9092,nope" });
    expect(env.stderr).toMatch(/^error: INVALID_CONFIG: BROOK_BOOTSTRAP: 'nope' is not a broker address/);
  });

  it("a group consumer and a bench stop after --timeout without any broker, exit 1, and print no log objects", async () => {
    const bootstrap = await deadAddress();
    const [consumer, bench] = await Promise.all([
      brook(["consume", "t", "--group", "g", "--timeout", "2000"], { bootstrap }),
      brook(["bench", "consume", "--topic", "t", "--timeout", "2000"], { bootstrap }),
    ]);
    for (const result of [consumer, bench]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: CLUSTER_UNREACHABLE: no broker answered for/m);
      expect(result.elapsedMs).toBeLessThan(8_000);
      expectNoLogObjects(result.stderr);
    }
  });
});

describe("against a three-node cluster", () => {
  let cluster: Cluster;
  let bootstrap: string;
  const ok = async (args: string[], input?: string) => {
    const result = await brook(args, { bootstrap, input });
    expect(result.stderr).not.toMatch(/error:/);
    expect(result.code).toBe(0);
    return result;
  };

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
    bootstrap = cluster.bootstrap;
    await ok(["topic", "create", "three", "--partitions", "1"]);
    await ok(["produce", "three"], "a\nb\nc\n");
    await ok(["topic", "create", "small", "-c", "max.message.bytes=1000"]);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("cluster status fills term and commit index for every controller", async () => {
    const status = JSON.parse((await ok(["cluster", "status", "--json"])).stdout);
    expect(status.controllers).toHaveLength(3);
    for (const controller of status.controllers) {
      expect(controller.term).toBeGreaterThanOrEqual(1);
      expect(controller.commitIndex).toBeGreaterThanOrEqual(1);
    }
    const table = (await ok(["cluster", "status"])).stdout;
    expect(table).not.toMatch(/unknown|\?/);
  });

  it("every read command takes --json", async () => {
    await ok(["consume", "three", "--group", "json-group", "--from-beginning", "--max-messages", "3"]);
    for (const args of [
      ["topic", "list"],
      ["topic", "describe", "three"],
      ["cluster", "status"],
      ["group", "list"],
      ["group", "describe", "json-group"],
      ["bench", "consume", "--topic", "three", "--records", "3"],
    ]) {
      const { stdout } = await ok([...args, "--json"]);
      expect(() => JSON.parse(stdout), `${args.join(" ")} --json`).not.toThrow();
    }
    const consumed = (await ok(["consume", "three", "--from-beginning", "--exit-at-end", "--json"])).stdout;
    expect(
      consumed
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).value),
    ).toEqual(["a", "b", "c"]);
  });

  it("consume --offset past the end fails with the partition's range; --reset chooses where to start", async () => {
    const past = await brook(["consume", "three", "--partition", "0", "--offset", "99"], { bootstrap });
    expect(past.code).toBe(1);
    expect(past.stderr).toBe(
      "error: OFFSET_OUT_OF_RANGE: three-0 holds offsets 0 to 2 (next offset 3); offset 99 is past its end. " +
        "--reset earliest or --reset latest starts there instead\n",
    );
    expect(past.elapsedMs).toBeLessThan(5_000);
    const earliest = await ok([
      "consume",
      "three",
      "--partition",
      "0",
      "--offset",
      "99",
      "--reset",
      "earliest",
      "--exit-at-end",
    ]);
    expect(earliest.stdout).toBe("a\nb\nc\n");
    const latest = await ok([
      "consume",
      "three",
      "--partition",
      "0",
      "--offset",
      "99",
      "--reset",
      "latest",
      "--exit-at-end",
    ]);
    expect(latest.stdout).toBe("");
  });

  it("bench consume reads exactly --records, or what the topic holds when that is fewer", async () => {
    const fewer = JSON.parse(
      (await ok(["bench", "consume", "--topic", "three", "--records", "2", "--json"])).stdout,
    );
    expect(fewer.records).toBe(2);
    const more = await ok(["bench", "consume", "--topic", "three", "--records", "1000", "--json"]);
    expect(JSON.parse(more.stdout).records).toBe(3);
    expect(more.stderr).toContain("three holds 3 record(s), fewer than --records 1,000; reading those");
    const { p50, p99, max } = JSON.parse(more.stdout).latencyMs;
    expect(p50).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(max);
  });

  it("bench consume of a missing topic says so; its help does not promise to create it", async () => {
    const missing = await brook(["bench", "consume", "--topic", "nope"], { bootstrap });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: UNKNOWN_TOPIC/);
    const help = await brook(["bench", "consume", "--help"]);
    expect(help.stdout).toContain("topic to read (it must exist)");
    expect(help.stdout).not.toContain("created");
  });

  it("a record too large is one error line, with no log object before it", async () => {
    const result = await brook(["produce", "small"], { bootstrap, input: `${"x".repeat(5_000)}\n` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: RECORD_TOO_LARGE: /);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("SIGTERM to the npx that started a group member stops it at once, and it leaves the group", async () => {
    const groupId = "npx-group";
    const child = spawn("npx", ["brook", "consume", "three", "--group", groupId, "--from-beginning"], {
      cwd: repoRoot,
      env: { ...process.env, BROOK_BOOTSTRAP: bootstrap },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const { closed } = collect(child);
    const admin = new Brook({ brokers: bootstrap.split(",") }).admin();
    try {
      await waitFor("the member to join", 20_000, async () => {
        const group = await admin.describeGroup(groupId);
        return group.members.length === 1 ? true : undefined;
      });
      const started = Date.now();
      child.kill("SIGTERM"); // npm's PID: the node process under `sh -c` never gets this signal itself
      const output = await closed; // the node process held the pipes: they close when it exits
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(output).toContain("consumed 3 record(s)");
      const group = await admin.describeGroup(groupId);
      expect(group.members).toEqual([]);
    } finally {
      child.kill("SIGKILL");
      await admin.close();
    }
  });

  it("SIGINT stops a consumer started as node brook.js at once, with exit code 0", async () => {
    const child = spawn(process.execPath, [brookBin, "consume", "three", "--from-beginning"], {
      env: { ...process.env, BROOK_BOOTSTRAP: bootstrap },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const { text, closed } = collect(child);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitFor("three records", 15_000, async () => text() === "a\nb\nc\n" || undefined);
    const started = Date.now();
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await closed).toContain("consumed 3 record(s)");
  });
});

describe("a group member whose cluster goes away", () => {
  it("exits 1 with one clear line after --timeout instead of retrying for ever", async () => {
    const cluster = await startCluster({ nodes: 1 });
    try {
      await brook(["topic", "create", "gone"], { bootstrap: cluster.bootstrap });
      const member = brook(["consume", "gone", "--group", "g", "--timeout", "3000"], {
        bootstrap: cluster.bootstrap,
      });
      const admin = new Brook({ brokers: cluster.bootstrap.split(",") }).admin();
      await waitFor("the member to join", 20_000, async () => {
        const group = await admin.describeGroup("g");
        return group.members.length === 1 ? true : undefined;
      });
      await admin.close();
      const stoppedAt = Date.now();
      await cluster.stop();
      const result = await member;
      expect(result.code).toBe(1);
      // At least --timeout (3 s) of silence; on a loaded machine the last retry may end a little later.
      expect(result.stderr).toMatch(/^error: CLUSTER_UNREACHABLE: no broker answered for [3-9]\.\d s/m);
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
      expectNoLogObjects(result.stderr);
    } finally {
      await cluster.stop();
    }
  });
});

describe("make down", () => {
  it("returns within 2 s of the last node's exit, with no fixed waits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "brook-make-down-"));
    const env = {
      ...process.env,
      CLUSTER_DIR: dir,
      // Ports 19092-31844: below Linux's ephemeral range (32768+), where other tests' free ports come from.
      PORT_OFFSET: String(10_000 + (process.pid % 13) * 1_000),
      NODES: "3",
    };
    const script = join(repoRoot, "scripts/cluster.sh");
    try {
      await run(script, ["up"], env);
      const pids = [1, 2, 3].map((id) => Number(readFileSync(join(dir, `node-${id}`, "node.pid"), "utf8")));
      let lastExitMs = 0;
      const watch = setInterval(() => {
        if (pids.some(isRunning)) return;
        lastExitMs ||= Date.now();
      }, 10);
      const started = Date.now();
      await run(script, ["down"], env);
      const returnedMs = Date.now();
      clearInterval(watch);
      lastExitMs ||= returnedMs;
      expect(returnedMs - lastExitMs).toBeLessThan(2_000);
      expect(returnedMs - started).toBeLessThan(5_000);
    } finally {
      await run(script, ["down"], env).catch(() => undefined);
      if (process.env.KEEP_MAKE_DOWN_DIR === undefined) rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { env, timeout: 45_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(" ")}: ${stderr || error.message}`)) : resolve(stdout),
    ),
  );
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

/**
 * What the child (and any process that inherited its pipes) has written to stdout so far, and everything
 * it wrote to either stream once both are closed.
 */
function collect(child: ChildProcess): { text: () => string; closed: Promise<string> } {
  let stdout = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  let output = "";
  const closedOne = (stream: NodeJS.ReadableStream | null) =>
    new Promise<void>((resolve) => {
      stream?.on("data", (chunk) => {
        output += chunk;
      });
      stream?.on("close", () => resolve());
    });
  const closed = Promise.all([closedOne(child.stdout), closedOne(child.stderr)]).then(() => output);
  return { text: () => stdout, closed };
}
