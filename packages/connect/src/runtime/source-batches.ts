// A source task's records on their way to the producer, in batches: the records a connector hands over in
// one burst (everything its poll() yields before it waits for I/O) go out as one sendBatch, not one send
// each. And the pure mapping back from the producer's answer (one entry per partition run) to where each
// record landed, which commitRecord needs.

import type { Message, RecordMetadata } from "@brook/client";
import type { SentRecord, SourceRecord } from "../api.js";

export interface Outgoing {
  record: SourceRecord;
  message: Message & { topic: string };
}

/** The most records in one sendBatch: a burst larger than this goes out in several. */
export const sendBatchMax = 1_000;

/** Topic by topic, in the order first seen, each topic's messages in the order given. */
export function topicMessages(outgoing: readonly Outgoing[]): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  for (const { message } of outgoing) {
    const { topic, ...rest } = message;
    const messages = byTopic.get(topic) ?? [];
    messages.push(rest);
    byTopic.set(topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * Where each record of a batch landed. The producer answers one entry per run of a partition's records
 * (offsets baseOffset, baseOffset + 1, ... in the order given), so records that named their partition map
 * back exactly, and so does a record sent alone; any other record whose partition the producer chose gets
 * partition and offset -1 (the runtime sends those alone when the connector wants commitRecord).
 */
export function landedRecords(
  outgoing: readonly Outgoing[],
  metadata: readonly RecordMetadata[],
): SentRecord[] {
  if (outgoing.length === 1 && metadata.length === 1) {
    const [{ record }] = outgoing;
    const [{ topic, partition, baseOffset }] = metadata;
    return [{ record, topic, partition, offset: baseOffset }];
  }
  const offsets = new Map<string, number[]>();
  for (const { topic, partition, baseOffset, recordCount } of metadata) {
    const queue = offsets.get(`${topic}\u0000${partition}`) ?? [];
    for (let i = 0; i < recordCount; i += 1) queue.push(baseOffset < 0 ? -1 : baseOffset + i);
    offsets.set(`${topic}\u0000${partition}`, queue);
  }
  return outgoing.map(({ record, message }) => {
    const partition = message.partition;
    if (partition === undefined) return { record, topic: message.topic, partition: -1, offset: -1 };
    const offset = offsets.get(`${message.topic}\u0000${partition}`)?.shift() ?? -1;
    return { record, topic: message.topic, partition, offset };
  });
}
