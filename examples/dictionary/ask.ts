// Asks the dictionary service for a word: sends a request with a fresh correlation id to
// dictionary-requests, waits on dictionary-replies for the reply that carries the same id, and prints
// the definition. Exits 0 with a definition; 1 for an unknown word, or with no answer within --timeout.
// Usage: node --import tsx examples/dictionary/ask.ts <word> [--language en|fr|es] [--nickname <name>] [--timeout <ms>]
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { connect, main } from "../shared/brook.js";
import {
  correlationHeader,
  type DictionaryReply,
  type DictionaryRequest,
  ensureDictionaryTopics,
  header,
  replyTopic,
  requestTopic,
} from "./protocol.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    language: { type: "string", short: "l", default: "en" },
    nickname: { type: "string", short: "n", default: process.env.USER || "anonymous" },
    timeout: { type: "string", default: "10000" },
  },
});
const timeoutMs = Number(values.timeout);
if (positionals.length !== 1 || !(timeoutMs > 0)) {
  console.error("usage: ask.ts <word> [--language en|fr|es] [--nickname <name>] [--timeout <ms>]");
  process.exit(2);
}

main(async () => {
  const brook = connect("dictionary-ask");
  await ensureDictionaryTopics(brook);

  // Listen before asking: read every reply partition from its current end, so the reply cannot be missed.
  const admin = brook.admin();
  const ends = await admin.fetchTopicOffsets(replyTopic);
  await admin.close();
  const consumer = brook.consumer({ maxWaitMs: 100 });
  await consumer.assign(ends.map(({ partition, offset }) => ({ topic: replyTopic, partition, offset })));

  const correlationId = randomUUID();
  const request: DictionaryRequest = {
    nickname: values.nickname,
    word: positionals[0],
    language: values.language,
  };
  const producer = brook.producer();
  await producer.send({
    topic: requestTopic,
    messages: [
      {
        key: request.nickname,
        value: JSON.stringify(request),
        headers: { [correlationHeader]: correlationId },
      },
    ],
  });
  await producer.close();

  // Other askers' replies go by too: only the one with our correlation id is ours.
  const giveUp = setTimeout(() => void consumer.stop(), timeoutMs);
  let reply: DictionaryReply | undefined;
  for await (const message of consumer) {
    if (header(message, correlationHeader) === correlationId) {
      reply = JSON.parse(message.value?.toString() ?? "{}");
      break;
    }
  }
  clearTimeout(giveUp);
  await consumer.close();

  if (reply === undefined) {
    console.error(
      `no answer within ${timeoutMs / 1000} s: is a dictionary service running? (node --import tsx examples/dictionary/service.ts)`,
    );
    process.exit(1);
  } else if (reply.definition === undefined) {
    console.error(reply.error);
    process.exit(1);
  }
  console.log(`${reply.word} (${reply.language}): ${reply.definition}`);
});
