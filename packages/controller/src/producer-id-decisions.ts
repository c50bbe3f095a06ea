// Producer id blocks (Kafka's ProducerIdControlManager, KIP-730): the active
// controller hands each asking broker the next block of ids after the last one
// in the image, and the metadata log records it. Pure: the image in, the
// record and the block out.

import type { MetadataImage, ProducerIdsRecord } from "@brook/metadata";
import { BrookError } from "@brook/protocol";

/** Kafka's block size: one metadata write per thousand producers a broker starts. */
export const producerIdBlockSize = 1_000;

/** A run of producer ids for one broker to hand out: firstProducerId .. firstProducerId + count - 1. */
export interface ProducerIdBlock {
  readonly firstProducerId: number;
  readonly count: number;
}

/**
 * The next block for `brokerId` and the record that takes it. The broker id
 * is only recorded, not checked against a registration (Kafka checks its
 * broker epoch): ids are plentiful, and a block nobody uses is harmless.
 */
export function planProducerIdBlock(
  image: MetadataImage,
  brokerId: number,
): { readonly record: ProducerIdsRecord; readonly block: ProducerIdBlock } {
  if (!Number.isInteger(brokerId) || brokerId < 0) {
    throw new BrookError("INVALID_REQUEST", `producer ids go to a broker id (0 or more), not ${brokerId}`);
  }
  const firstProducerId = image.nextProducerId;
  const nextProducerId = firstProducerId + producerIdBlockSize;
  // Ids are exact JS numbers on the wire (decision 1); 2^53 is 9·10^12 blocks away.
  if (!Number.isSafeInteger(nextProducerId)) {
    throw new BrookError("UNKNOWN_SERVER_ERROR", "every producer id up to 2^53 has been handed out");
  }
  return {
    record: { type: "producer-ids", brokerId, nextProducerId },
    block: { firstProducerId, count: producerIdBlockSize },
  };
}
