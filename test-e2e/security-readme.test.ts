// The README's Security section, run as printed: `make up TLS=1` is scripts/cluster.sh with TLS=1 (the
// build is done already), here on one node in a directory and ports of its own (CLUSTER_DIR, PORT_OFFSET)
// so it runs beside anything else; then each command of the second block, checked against the lines
// printed under it (on stdout or stderr). Paths and ports the README names are mapped to those.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onPath } from "./on-path.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const portOffset = 3_000;
const kcat = onPath("kcat");
let dir: string;
let env: NodeJS.ProcessEnv;

interface Step {
  command: string;
  prints: string[];
}

/** The sh blocks of the README's "## Security" section, with `.brook`, /tmp and the Kafka port mapped. */
function securityBlocks(): Step[][] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const start = readme.indexOf("## Security\n");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)\n```/g)].map(([, block]) => {
    const steps: Step[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("# ")) steps.at(-1)?.prints.push(line.slice(2));
      else if (line.trim() !== "")
        steps.push({ command: localized(line.replace(/\s+#.*$/, "")), prints: [] });
    }
    return steps;
  });
}

function localized(command: string): string {
  // One pass, so that a path already mapped (the directory is under /tmp) is not mapped again.
  return command.replace(/\$PWD\/\.brook\/|\.brook\/|\/tmp\/|127\.0\.0\.1:9094/g, (found) =>
    found === "127.0.0.1:9094" ? `127.0.0.1:${9094 + portOffset}` : `${dir}/`,
  );
}

function sh(command: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", command], { cwd: repoRoot, env, timeout: 90_000 }, (error, stdout, stderr) =>
      resolve({ ok: !error, output: `${stdout}${stderr}` }),
    );
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "security-readme-"));
  env = {
    ...process.env,
    CLUSTER_DIR: dir,
    PORT_OFFSET: String(portOffset),
    NODES: "1",
    BROOK_BOOTSTRAP: `127.0.0.1:${9092 + portOffset}`,
  };
});
afterAll(async () => {
  await sh("scripts/cluster.sh down");
  rmSync(dir, { recursive: true, force: true });
});

describe("the README's Security section", () => {
  it("runs as printed", async () => {
    const [[makeUp], steps] = securityBlocks() as [Step[], Step[]];
    expect(makeUp?.command).toBe("make clean && make up TLS=1");
    const up = await sh("TLS=1 scripts/cluster.sh up");
    expect(up.ok, up.output).toBe(true);
    const exportLine = steps[0] as Step;
    expect(up.output).toContain(`export ${exportLine.command.slice("export ".length)}`);
    for (const { command, prints } of steps.slice(1)) {
      if (command.startsWith("kcat") && !kcat) continue;
      // Each command in a shell of its own, after the export line; the built CLI stands in for npx.
      const brook = command.replaceAll("npx brook", "node packages/cli/bin/brook.js");
      const { output } = await sh(`${exportLine.command} && ${brook}`);
      for (const line of prints) expect(output, command).toContain(line);
    }
  }, 120_000);
});
