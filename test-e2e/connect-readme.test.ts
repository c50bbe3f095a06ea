// The README's Connect section, run as printed against a real node: a worker started with its command
// (on a free REST port instead of 8083, and BROOK_CONNECT_URL pointing the other commands at it), then each
// command of the second block, checked against the lines printed under it. The files the README puts in
// /tmp go to a temporary directory instead.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Cluster, startCluster } from "@brook/testkit";
import getPort from "get-port";
import { afterAll, beforeAll, describe, it } from "vitest";
import { waitUntil } from "./wait.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
let cluster: Cluster;
let worker: ChildProcess | undefined;
let dir: string;
let env: NodeJS.ProcessEnv;

/** The sh blocks of the README's "## Connect" section, as [command, printed lines][] each. */
function connectBlocks(): { command: string; prints: string[] }[][] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(
    readme.indexOf("## Connect\n"),
    readme.indexOf("\n## ", readme.indexOf("## Connect\n") + 1),
  );
  return [...section.matchAll(/```sh\n([\s\S]*?)\n```/g)].map(([, block]) => {
    const steps: { command: string; prints: string[] }[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("# ")) steps.at(-1)?.prints.push(line.slice(2));
      else if (line.trim() !== "")
        steps.push({ command: line.replace(/\s+#.*$/, "").replaceAll("/tmp/", `${dir}/`), prints: [] });
    }
    return steps;
  });
}

function sh(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("sh", ["-c", command], { cwd: repoRoot, env, timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command}: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  dir = mkdtempSync(join(tmpdir(), "connect-readme-"));
}, 60_000);
afterAll(async () => {
  worker?.kill("SIGKILL");
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the README's Connect section", () => {
  it("runs as printed", async () => {
    const port = await getPort({ host: "127.0.0.1" });
    env = {
      ...process.env,
      BROOK_BOOTSTRAP: cluster.bootstrap,
      BROOK_CONNECT_URL: `http://127.0.0.1:${port}`,
    };
    const [[start], steps] = connectBlocks();
    worker = spawn("sh", ["-c", `exec ${start.command} --rest-port ${port}`], {
      cwd: repoRoot,
      env,
      stdio: "ignore",
    });
    await waitUntil("the worker's REST API", 30_000, async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      return response?.ok === true;
    });
    for (const { command, prints } of steps) {
      let last = "";
      await waitUntil(
        `${command} to print ${JSON.stringify(prints)}`,
        30_000,
        async () => {
          // A status or a file may lag behind for a moment: such a command is asked again; a create only fails.
          last = await sh(command).catch((error: Error) => {
            if (command.includes(" create ")) throw error;
            return error.message;
          });
          const lines = last.replaceAll(`127.0.0.1:${port}`, "127.0.0.1:8083").split("\n");
          return prints.every((line) => lines.includes(line));
        },
        250,
      );
    }
  }, 120_000);
});
