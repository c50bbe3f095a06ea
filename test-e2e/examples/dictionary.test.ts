// examples/dictionary on a three-node cluster, run as its README shows: a service answers the README's
// questions with what the README says they print; two services share the requests as one consumer group,
// and concurrent askers each get their own reply (by correlation id); SIGTERM stops a service cleanly and
// the other takes its partitions; with no service left, an asker gives up after --timeout with one line.
import { readFileSync } from "node:fs";
import { partitionForKey } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { waitFor } from "../wait.js";
import { exampleCluster, exec, readmeSteps, type Started, start, step } from "./run.js";

type WordList = Record<string, { name: string; words: Record<string, string> }>;
const languages: WordList = JSON.parse(
  readFileSync(new URL("../../examples/dictionary/words.json", import.meta.url), "utf8"),
);

const example = exampleCluster();

const service = step("dictionary", "service.ts").command;
const ask = (args: string) => `node --import tsx examples/dictionary/ask.ts ${args}`;

function startService(): Started {
  const started = start(service, example.env);
  example.running.push(started);
  return started;
}

/** The partitions each member of the services' group holds, once it has two members holding all three. */
async function sharedOut(): Promise<number[][]> {
  const admin = example.brook.admin();
  try {
    return await waitFor("two services to share the three partitions", 30_000, async () => {
      const { members } = await admin.describeGroup("dictionary-service");
      const held = members.map((m) => m.assignment.map((p) => p.partition));
      return held.length === 2 && held.flat().length === 3 && held.every((p) => p.length > 0)
        ? held
        : undefined;
    });
  } finally {
    await admin.close();
  }
}

describe("examples/dictionary", () => {
  let first: Started;
  let second: Started;

  it("answers the README's questions with what the README shows", async () => {
    first = startService();
    await first.waitFor(/answers dictionary-requests partitions \[0,1,2\]/);
    const questions = readmeSteps("dictionary").filter(({ command }) => command.includes("ask.ts"));
    expect(questions.length).toBeGreaterThanOrEqual(3);
    for (const { command, prints } of questions) {
      const { code, output } = await exec(command, example.env);
      expect(output.trim().split("\n"), command).toEqual(prints);
      expect(code, command).toBe(prints[0].includes("is not in the") ? 1 : 0);
    }
    expect(first.output()).toContain('alice asked for "apple" (en): found');
    expect(first.output()).toContain('alice asked for "aple" (en): unknown');
  }, 90_000);

  it("two services share the requests; concurrent askers each get the reply to their own question", async () => {
    second = startService();
    await second.waitFor(/answers dictionary-requests partitions \[\d/);
    await sharedOut();
    // Two askers per request partition (by nickname, the key), so both services get some.
    const words = Object.entries(languages).flatMap(([language, { words }]) =>
      Object.keys(words)
        .slice(0, 2)
        .map((word) => ({ word, language })),
    );
    const nicknames: string[] = [];
    for (let i = 0; nicknames.length < words.length; i++) {
      const partition = partitionForKey(`user${i}`, 3);
      if (nicknames.filter((n) => partitionForKey(n, 3) === partition).length < 2) nicknames.push(`user${i}`);
    }
    const results = await Promise.all(
      words.map(({ word, language }, i) =>
        exec(ask(`${word} --language ${language} --nickname ${nicknames[i]}`), example.env),
      ),
    );
    results.forEach(({ code, output }, i) => {
      const { word, language } = words[i];
      const list = languages[language];
      expect(output.trim()).toBe(`${word} (${list.name}): ${list.words[word]}`);
      expect(code).toBe(0);
    });
    const logs = [first.output(), second.output()];
    words.forEach(({ word, language }, i) => {
      const line = `${nicknames[i]} asked for "${word}" (${language}): found`;
      expect(logs.join("").split(line).length - 1, line).toBe(1); // answered once, by one of them
    });
    for (const log of logs) expect(log).toMatch(/user\d+ asked for/);
  }, 90_000);

  it("SIGTERM stops a service at once: it leaves the group and the other takes its partitions", async () => {
    const stoppedAt = Date.now();
    expect(await second.stop()).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    await waitFor(
      "the first service to hold every partition again",
      15_000,
      async () =>
        /answers dictionary-requests partitions \[0,1,2\]\n(?![\s\S]*partitions \[)/.test(first.output()) ||
        undefined,
    );
    const { code, output } = await exec(ask("gato --language es --nickname carol"), example.env);
    expect(output.trim()).toBe(`gato (español): ${languages.es.words.gato}`);
    expect(code).toBe(0);
  }, 60_000);

  it("with no service running, an asker gives up after --timeout with one clear line", async () => {
    expect(await first.stop()).toBe(0);
    const startedAt = Date.now();
    const { code, output } = await exec(ask("apple --timeout 2000"), example.env);
    expect(code).toBe(1);
    expect(output.trim()).toBe(
      "no answer within 2 s: is a dictionary service running? (node --import tsx examples/dictionary/service.ts)",
    );
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  }, 30_000);
});
