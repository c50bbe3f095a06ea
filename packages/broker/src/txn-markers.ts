// WriteTxnMarkers: a transaction coordinator asks this broker, as leader of
// some partitions, to append commit or abort markers (control batches) for
// producers' transactions (docs/transactions.md). Each marker counts once the
// high watermark covers it (acks=all: a new leader has it), and only then is
// the group coordinator told, so transactional offsets on __consumer_offsets
// become visible (or are dropped) exactly when the marker is committed.
// Markers may go to internal topics: produce refuses those, but markers are
// written by the broker itself.

import type { MetadataImage } from "@brook/metadata";
import {
  asBrookError,
  BrookError,
  noError,
  type TxnMarker__Output,
  type TxnPartitionResult,
  toWireError,
  type WriteTxnMarkersRequest__Output,
  type WriteTxnMarkersResponse,
} from "@brook/protocol";
import type { BrokerContext } from "./context.js";

/** One result per partition of every marker, in the request's order; a failure is that partition's alone. */
export async function writeTxnMarkers(
  ctx: BrokerContext,
  request: WriteTxnMarkersRequest__Output,
): Promise<WriteTxnMarkersResponse> {
  const image = ctx.metadata.image;
  const markers = await Promise.all(
    request.markers.map(async (marker) => ({
      producerId: marker.producerId,
      topics: await Promise.all(
        marker.topics.map(async ({ topic, partitions }) => ({
          topic,
          partitions: await Promise.all(
            partitions.map((partition) => writeMarker(ctx, image, marker, topic, partition)),
          ),
        })),
      ),
    })),
  );
  return { markers };
}

/**
 * Appends one marker on one partition led here and waits, bounded by the
 * produce timeout, for the high watermark to cover it. A topic deleted
 * meanwhile answers UNKNOWN_TOPIC, which the coordinator takes as done.
 */
async function writeMarker(
  ctx: BrokerContext,
  image: MetadataImage,
  marker: TxnMarker__Output,
  topic: string,
  partitionId: number,
): Promise<TxnPartitionResult> {
  try {
    if (!image.topic(topic)) throw new BrookError("UNKNOWN_TOPIC", `topic '${topic}' does not exist`);
    const partition = ctx.replicas.get(image, topic, partitionId);
    const { producerId, producerEpoch, committed, coordinatorEpoch } = marker;
    const result = partition.appendMarker({ producerId, producerEpoch, committed, coordinatorEpoch });
    await partition.waitForHighWatermark(result.lastOffset + 1, ctx.limits.produceTimeoutMsDefault);
    ctx.txnMarkerWritten(topic, partitionId, producerId, committed);
    return { partition: partitionId, error: noError };
  } catch (error) {
    const typed = asBrookError(error);
    if (typed.code === "UNKNOWN_SERVER_ERROR") {
      ctx.logger.error({ err: error, topic, partition: partitionId }, "writing a transaction marker failed");
    }
    return { partition: partitionId, error: toWireError(typed) };
  }
}
