// WriteTxnMarkers: a transaction coordinator asks this broker, as leader of
// some partitions, to append commit or abort markers (control batches) for
// producers' transactions. (Issue 17: being built.)

import {
  BrookError,
  type WriteTxnMarkersRequest__Output,
  type WriteTxnMarkersResponse,
} from "@brook/protocol";
import type { BrokerContext } from "./context.js";

export async function writeTxnMarkers(
  _ctx: BrokerContext,
  _request: WriteTxnMarkersRequest__Output,
): Promise<WriteTxnMarkersResponse> {
  throw new BrookError("INVALID_REQUEST", "transaction markers are not supported yet");
}
