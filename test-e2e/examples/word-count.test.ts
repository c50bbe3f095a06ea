// examples/word-count on a three-node cluster, run as its README shows: the README's text is counted in
// the current minute's window with the README's counts, and every word's count is exact (checked against
// the text, counted here); lines stamped in a later minute are counted in their own window, and lines
// stamped in a window that has closed (past its grace) are dropped.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exampleCluster, exec, readmeSteps, start, step } from "./run.js";

const example = exampleCluster();

const minute = 60_000;
const poemFile = "examples/word-count/the-road-not-taken.txt";
const poem = readFileSync(new URL(`../../${poemFile}`, import.meta.url), "utf8");

/** Words counted independently of the example: runs of letters, lower case. */
function countWords(...texts: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of texts
    .join("\n")
    .toLowerCase()
    .match(/\p{L}+/gu) ?? []) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/** counts.ts's lines for a window: the header, then every word by count, ties in alphabetical order. */
function expectedLines(windowStart: number, counts: Map<string, number>): string[] {
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const sorted = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return [
    `${hhmm(windowStart)}–${hhmm(windowStart + minute)} UTC: ${total} words, ${counts.size} different`,
    ...sorted.map(([word, count]) => `${word} ${count}`),
  ];
}

async function lines(command: string): Promise<string[]> {
  const { code, output } = await exec(command, example.env);
  expect(code, `${command}:\n${output}`).toBe(0);
  return output.trim().split("\n");
}

describe("examples/word-count", () => {
  it("counts the README's text per minute, exactly, and drops lines for a closed window", async () => {
    const app = start(step("word-count", "app.ts").command, example.env);
    example.running.push(app);
    await app.waitFor(/word-count \d+ is running/);

    // The README's lines, all in one minute: not in the last 15 s of one (each command starts a node).
    while (Date.now() % minute > minute - 15_000) await new Promise((resolve) => setTimeout(resolve, 250));
    const window = Math.floor(Date.now() / minute) * minute;
    const sends = readmeSteps("word-count").filter(({ command }) => command.includes("send.ts"));
    expect(sends).toHaveLength(2);
    for (const { command, prints } of sends) expect(await lines(command)).toEqual(prints);

    // counts.ts as the README shows it, the window's times being now's.
    const counts = step("word-count", "counts.ts");
    const shown = await lines(counts.command);
    const times = /^\d\d:\d\d–\d\d:\d\d/;
    expect(shown.map((line) => line.replace(times, "HH:MM–HH:MM"))).toEqual(
      counts.prints.map((line) => line.replace(times, "HH:MM–HH:MM")),
    );
    const sent = countWords(poem, "the road goes ever on");
    expect(shown).toEqual(expectedLines(window, sent).slice(0, 6));
    expect(await lines(`${counts.command} --top 1000`)).toEqual(expectedLines(window, sent));

    // The poem again, stamped two minutes later: a window of its own, now the current one.
    const later = new Date(window + 2 * minute + 30_000).toISOString();
    expect(
      await lines(`node --import tsx examples/word-count/send.ts --file ${poemFile} --at ${later}`),
    ).toEqual(["sent 20 lines (144 words) to word-count-lines"]);
    expect(await lines(`${counts.command} --top 1000`)).toEqual(
      expectedLines(window + 2 * minute, countWords(poem)),
    );

    // A line stamped in the first window: its grace ended before the later lines' time, so it is dropped.
    const late = new Date(window + 30_000).toISOString();
    expect(
      await lines(`node --import tsx examples/word-count/send.ts the road goes ever on --at ${late}`),
    ).toEqual(["sent 1 line (5 words) to word-count-lines"]);
    expect(await lines(`${counts.command} --top 1000 --at ${late}`)).toEqual(expectedLines(window, sent));
    expect(await lines(`${counts.command} --top 3`)).toEqual(
      expectedLines(window + 2 * minute, countWords(poem)).slice(0, 4),
    );

    expect(await app.stop()).toBe(0);
  }, 90_000);
});
