// Sends text to `word-count-lines`: its arguments as one line, or each non-blank line of --file; stamped
// with the time now, or --at (an ISO time: the lines then count in that minute's window, or are dropped
// as late if that window has closed).
// Usage: node --import tsx examples/word-count/send.ts <words...> | --file <path> [--at 2025-01-01T10:41:30Z]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { connect, main } from "../shared/brook.js";
import { ensureWordCountTopics, linesTopic, wordsOf } from "./topics.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { file: { type: "string" }, at: { type: "string" } },
});
const timestamp = values.at === undefined ? Date.now() : Date.parse(values.at);
const lines = (
  values.file === undefined ? [positionals.join(" ")] : readFileSync(values.file, "utf8").split("\n")
)
  .map((line) => line.trim())
  .filter((line) => line !== "");
if (lines.length === 0 || (values.file !== undefined && positionals.length > 0) || !(timestamp >= 0)) {
  console.error("usage: send.ts <words...> | --file <path> [--at <ISO time>]");
  process.exit(2);
}

main(async () => {
  const brook = connect("word-count-send");
  await ensureWordCountTopics(brook);
  const producer = brook.producer();
  await producer.send({ topic: linesTopic, messages: lines.map((value) => ({ value, timestamp })) });
  await producer.close();
  const words = lines.reduce((sum, line) => sum + wordsOf(line).length, 0);
  console.log(`sent ${lines.length} line${lines.length === 1 ? "" : "s"} (${words} words) to ${linesTopic}`);
});
