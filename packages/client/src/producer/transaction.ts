// One transaction of a transactional producer, KafkaJS's shape: send() and sendBatch() write inside it,
// sendOffsets() adds a consumer group's offsets to it, and commit() or abort() ends it. The object is
// good for one transaction only; the producer's next one is a new object (producer.transaction()).

import { BrookError } from "@brook/protocol";
import type {
  GroupMemberIdentity,
  TransactionBatches,
  TransactionManager,
  TransactionOffsets,
} from "./transaction-manager.js";
import type { ProducerBatchRecord, ProducerRecord, RecordMetadata } from "./types.js";

/** What a Transaction needs of its producer. */
export interface TransactionalSends extends TransactionBatches {
  sendBatch(record: ProducerBatchRecord): Promise<RecordMetadata[]>;
}

/** A consumer whose group membership TxnOffsetCommit checks (the SDK's Consumer is one). */
export interface GroupMetadataSource {
  groupMetadata(): { groupId: string | undefined; memberId: string; memberEpoch: number } | undefined;
}

export interface SendOffsetsOptions extends TransactionOffsets {
  /**
   * The consumer that read the records: its member id and epoch go along, so the group coordinator
   * refuses the offsets of a member that lost its partitions meanwhile (a zombie). Optional.
   */
  consumer?: GroupMetadataSource;
}

export class Transaction {
  constructor(
    private readonly manager: TransactionManager,
    private readonly producer: TransactionalSends,
    /** Which of the producer's transactions this is. */
    private readonly generation: number,
  ) {}

  /** Like producer.send(), inside the transaction. A failure fails the transaction: abort() it. */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.sendBatch({ topicMessages: [record] });
  }

  /** Like producer.sendBatch(), inside the transaction. */
  sendBatch(record: ProducerBatchRecord): Promise<RecordMetadata[]> {
    try {
      this.manager.check("send", this.generation);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.producer.sendBatch(record);
  }

  /** Commits the consumer group's offsets (each the next offset to read) with the transaction. */
  async sendOffsets({ consumer, ...offsets }: SendOffsetsOptions): Promise<void> {
    await this.manager.sendOffsets(this.generation, offsets, memberOf(consumer, offsets.consumerGroupId));
  }

  /**
   * Sends what is buffered, waits for every write and every sendOffsets (awaited or not), then commits.
   * Rejects (INVALID_TXN_STATE) without committing when a send or sendOffsets of the transaction failed:
   * then abort().
   */
  commit(): Promise<void> {
    return this.manager.commit(this.generation, this.producer);
  }

  /** Drops the writes not sent yet, waits for those in flight, and aborts: none of it is ever read_committed. */
  abort(): Promise<void> {
    return this.manager.abort(this.generation, this.producer);
  }

  /** True from producer.transaction() until commit() or abort() succeeds. */
  isActive(): boolean {
    return this.manager.isActive(this.generation);
  }
}

/** The consumer's membership, if it is a member of `groupId` now; its offsets in another group are a mistake. */
function memberOf(
  consumer: GroupMetadataSource | undefined,
  groupId: string,
): GroupMemberIdentity | undefined {
  const metadata = consumer?.groupMetadata();
  if (metadata === undefined) return undefined;
  if (metadata.groupId !== groupId) {
    throw new BrookError(
      "INVALID_REQUEST",
      `sendOffsets for group '${groupId}' was given a consumer of group '${metadata.groupId}'; pass that group's consumer or none`,
    );
  }
  return { memberId: metadata.memberId, memberEpoch: metadata.memberEpoch };
}
