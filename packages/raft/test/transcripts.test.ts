// Data-driven transcripts (like etcd's testdata): each file in testdata/ is a
// scenario written as commands and the exact output they must produce — every
// message delivered, every state printed. The file's header says which rule it
// pins. `REWRITE=1 npx vitest run packages/raft/test/transcripts.test.ts`
// regenerates the expected output after an intended change (review the diff!).

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RaftError } from "../src/index.js";
import { bytes, formatMessage, TestNetwork, text } from "./helpers/network.js";

const testdata = join(dirname(fileURLToPath(import.meta.url)), "testdata");

interface Block {
  readonly comments: string[];
  readonly command: string;
  readonly expected: string;
}

function parse(source: string): Block[] {
  const blocks: Block[] = [];
  const lines = source.split("\n");
  let i = 0;
  while (i < lines.length) {
    const comments: string[] = [];
    while (i < lines.length && (lines[i].startsWith("#") || lines[i].trim() === ""))
      comments.push(lines[i++]);
    if (i >= lines.length) break;
    const command = lines[i++];
    if (lines[i] !== "----") throw new Error(`expected ---- after "${command}" (line ${i + 1})`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i] !== "") expected.push(lines[i++]);
    blocks.push({ comments, command, expected: expected.join("\n") });
  }
  return blocks;
}

function render(blocks: readonly Block[], outputs: readonly string[]): string {
  return `${blocks
    .map((block, i) => [...block.comments, block.command, "----", outputs[i]].join("\n"))
    .join("\n")
    .trimStart()}\n`;
}

function options(args: readonly string[]): Record<string, string> {
  return Object.fromEntries(args.map((arg) => arg.split("=") as [string, string]));
}

function ids(list: string | undefined): number[] {
  return list ? list.split(",").map(Number) : [];
}

/** Runs one command against the network and returns what it printed ("ok" when nothing). */
class Interpreter {
  private network: TestNetwork | undefined;

  run(command: string): string {
    const [name, ...args] = command.split(/\s+/);
    try {
      const output = this.execute(name, args);
      return output.length > 0 ? output.join("\n") : "ok";
    } catch (error) {
      if (error instanceof RaftError) return `error ${error.code}`;
      throw error;
    }
  }

  private get net(): TestNetwork {
    if (!this.network) throw new Error("no cluster: start with `cluster voters=...`");
    return this.network;
  }

  private execute(name: string, args: string[]): string[] {
    const net = this.network;
    const id = Number(args[0]);
    switch (name) {
      case "cluster": {
        const o = options(args);
        this.network = new TestNetwork(
          { voters: ids(o.voters), learners: ids(o.learners) },
          {
            preVote: o["pre-vote"] !== "false",
            checkQuorum: o["check-quorum"] !== "false",
            ...(o["max-msg-bytes"] ? { maxMsgBytes: Number(o["max-msg-bytes"]) } : {}),
          },
        );
        return [];
      }
      case "campaign":
        this.net.core(id).campaign();
        return [];
      case "tick":
        this.net.tick(id, Number(args[1] ?? 1));
        return [];
      case "stabilize":
        return this.net.stabilize().map(formatMessage);
      case "propose":
        return [`index ${this.net.core(id).propose(bytes(args[1]))}`];
      case "read-index":
        this.net.core(id).readIndex(bytes(args[1]));
        return [];
      case "read-states":
        return this.net
          .node(id)
          .readStates.map((state) => `index=${state.index} context=${text(state.context)}`);
      case "transfer":
        this.net.core(id).transferLeadership(Number(args[1]));
        return [];
      case "add-voter":
      case "add-learner":
      case "remove-node":
        return [`index ${this.net.core(id).proposeConfChange({ type: name, nodeId: Number(args[1]) })}`];
      case "isolate":
        this.net.isolate(id);
        return [];
      case "heal":
        this.net.heal();
        return [];
      case "compact": {
        const node = this.net.node(id);
        const applied = node.core.appliedIndex;
        node.storage.createSnapshot(applied, bytes(`state@${applied}`), node.core.membership());
        node.storage.compact(applied);
        return [`snapshot at ${applied}`];
      }
      case "restart":
        this.net.restart(id);
        return [];
      case "status":
        return [...(net?.nodes.keys() ?? [])]
          .filter((n) => args.length === 0 || n === id)
          .map((n) => this.status(n));
      case "log": {
        const core = this.net.core(id);
        const terms = Array.from({ length: core.lastIndex }, (_, i) => core.termAt(i + 1) ?? "_");
        return [`${id}: ${terms.join(" ")}`];
      }
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private status(id: number): string {
    const s = this.net.core(id).status();
    const { voters, learners } = s.membership;
    return (
      `${id}: ${s.role} term=${s.term} vote=${s.vote} leader=${s.leader} commit=${s.commit} ` +
      `applied=${s.applied} last=${s.lastIndex} voters=${voters.join(",")}${learners.length ? ` learners=${learners.join(",")}` : ""}`
    );
  }
}

describe("transcripts", () => {
  for (const file of readdirSync(testdata).filter((name) => name.endsWith(".txt"))) {
    const path = join(testdata, file);
    const source = readFileSync(path, "utf8");
    const rule = source.split("\n")[0].replace(/^#\s*/, "");
    it(`${file}: ${rule}`, () => {
      const blocks = parse(source);
      const interpreter = new Interpreter();
      const outputs = blocks.map((block) => interpreter.run(block.command));
      if (process.env.REWRITE === "1") {
        writeFileSync(path, render(blocks, outputs));
        return;
      }
      blocks.forEach((block, i) => {
        expect(outputs[i], `${file}: ${block.command}`).toBe(block.expected);
      });
    });
  }
});
