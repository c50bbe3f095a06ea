// A source's topics are created when it first writes to one that does not exist (Kafka Connect's
// topic.creation.default.*, KIP-158): with the configured partitions and replication factor, or the
// cluster's defaults. Topics known to exist are remembered (a bounded set).

import { type Admin, type Brook, BrookError, type NewTopic } from "@brook/client";

/** Topic names remembered as existing; past it the set starts again (a lookup costs one admin call). */
const knownMax = 10_000;

export class TopicCreator {
  private readonly known = new Set<string>();
  private admin: Admin | undefined;

  constructor(
    private readonly brook: Brook,
    private readonly defaults: { partitions: number; replicationFactor: number },
  ) {}

  /** Whether the topic is known to exist (no call needed). */
  knows(topic: string): boolean {
    return this.known.has(topic);
  }

  async ensure(topic: string): Promise<void> {
    if (this.known.has(topic)) return;
    this.admin ??= this.brook.admin();
    const exists = (await this.admin.listTopics()).includes(topic);
    if (!exists) {
      const { partitions, replicationFactor } = this.defaults;
      await createTopicIfMissing(this.admin, { topic, numPartitions: partitions, replicationFactor });
    }
    if (this.known.size >= knownMax) this.known.clear();
    this.known.add(topic);
  }

  async close(): Promise<void> {
    await this.admin?.close();
  }
}

/** Creates a topic; false (and nothing changed) when it exists already, as another worker or task made it. */
export async function createTopicIfMissing(admin: Admin, topic: NewTopic): Promise<boolean> {
  try {
    await admin.createTopics({ topics: [topic] });
    return true;
  } catch (error) {
    if (error instanceof BrookError && error.code === "TOPIC_ALREADY_EXISTS") return false;
    throw error;
  }
}
