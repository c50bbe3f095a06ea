// The dictionary service: a member of the consumer group "dictionary-service" that answers each request
// on dictionary-requests with a reply on dictionary-replies, carrying the request's correlation id and a
// definition from words.json. Run several: the group shares the request partitions out among them.
// Usage: node --import tsx examples/dictionary/service.ts
import { readFileSync } from "node:fs";
import { connect, main, onStop } from "../shared/brook.js";
import {
  correlationHeader,
  type DictionaryReply,
  type DictionaryRequest,
  ensureDictionaryTopics,
  header,
  replyTopic,
  requestTopic,
} from "./protocol.js";

type WordList = Record<string, { name: string; words: Record<string, string> }>;
const languages: WordList = JSON.parse(readFileSync(new URL("words.json", import.meta.url), "utf8"));

const groupId = "dictionary-service";
/** Requests older than this are skipped: whoever sent them stopped waiting long ago. */
const staleMs = 60_000;

main(async () => {
  const brook = connect("dictionary-service");
  await ensureDictionaryTopics(brook);
  const producer = brook.producer();
  const consumer = brook.consumer({ groupId });
  onStop(async () => {
    await consumer.close(); // commits and leaves the group: the others take its partitions over
    await producer.close();
  });

  const held = new Set<number>();
  const showHeld = () =>
    console.log(
      `service ${process.pid} answers ${requestTopic} partitions [${[...held].sort((a, b) => a - b)}]`,
    );
  // fromBeginning: a brand-new group starts at the first request, so none sent before it joined is lost.
  await consumer.subscribe({
    topics: [requestTopic],
    fromBeginning: true,
    onAssigned: (partitions) => {
      for (const { partition } of partitions) held.add(partition);
      showHeld();
    },
    onRevoked: (partitions) => {
      for (const { partition } of partitions) held.delete(partition);
      showHeld();
    },
  });
  const count = Object.values(languages).reduce((sum, { words }) => sum + Object.keys(words).length, 0);
  console.log(
    `service ${process.pid} joined group ${groupId}: ${count} words in ${Object.keys(languages).join(", ")}`,
  );

  await consumer.run({
    eachMessage: async ({ message }) => {
      const correlationId = header(message, correlationHeader);
      const request = parse(message.value);
      if (correlationId === undefined || request === undefined) {
        console.log(`skipped offset ${message.offset}: not a dictionary request`);
        return;
      }
      if (Date.now() - message.timestamp > staleMs) {
        console.log(`skipped ${request.nickname}'s stale request for "${request.word}"`);
        return;
      }
      const reply = lookUp(request);
      await producer.send({
        topic: replyTopic,
        messages: [
          {
            key: request.nickname,
            value: JSON.stringify(reply),
            headers: { [correlationHeader]: correlationId },
          },
        ],
      });
      const outcome = reply.definition === undefined ? "unknown" : "found";
      console.log(`${request.nickname} asked for "${request.word}" (${request.language}): ${outcome}`);
    },
  });
});

function parse(value: Buffer | null): DictionaryRequest | undefined {
  try {
    const request = JSON.parse(value?.toString() ?? "");
    const valid = [request?.nickname, request?.word, request?.language].every((v) => typeof v === "string");
    return valid ? request : undefined;
  } catch {
    return undefined;
  }
}

function lookUp({ word, language }: DictionaryRequest): DictionaryReply {
  const list = languages[language];
  if (list === undefined) {
    return {
      word,
      language,
      error: `no word list in "${language}" (there are: ${Object.keys(languages).join(", ")})`,
    };
  }
  const key = word.trim().toLowerCase();
  const definition = list.words[key];
  if (definition !== undefined) return { word: key, language: list.name, definition };
  const near = Object.keys(list.words).filter((known) => distance(known, key) <= 2);
  const hint = near.length > 0 ? `; did you mean: ${near.join(", ")}?` : "";
  return { word, language: list.name, error: `"${word}" is not in the ${list.name} word list${hint}` };
}

/** Levenshtein distance: the fewest one-letter insertions, deletions and substitutions from a to b. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
