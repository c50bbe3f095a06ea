// Reads a topic from the beginning with the SDK until `expected` records
// arrived, or gives up after `timeoutMs` with what it has (the caller's
// assertions then say what is missing).
import type { Brook, ConsumedMessage } from "@brook/client";

export async function readAll(
  brook: Brook,
  topic: string,
  expected: number,
  timeoutMs = 15_000,
): Promise<ConsumedMessage[]> {
  const consumer = brook.consumer({ fromBeginning: true, maxWaitMs: 100 });
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: ConsumedMessage[] = [];
  const deadline = setTimeout(() => void consumer.stop(), timeoutMs);
  for await (const message of consumer) {
    messages.push(message);
    if (messages.length >= expected) break;
  }
  clearTimeout(deadline);
  await consumer.close();
  return messages;
}
