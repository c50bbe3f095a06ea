// The metadata log: an ordered, durable sequence of metadata records. The
// controller writes it and everyone follows it. Today one node stores it in
// `level`; the Raft-replicated log of the controller quorum implements the
// same interface, so nothing above it changes when replication arrives.

import type { MetadataRecord } from "@brook/metadata";

export interface MetadataLog {
  /**
   * Appends records as one atomic unit and resolves once they are committed
   * (durable), with the offset of the first one.
   */
  append(records: readonly MetadataRecord[]): Promise<number>;
  /** Committed records from `fromOffset` on, at most `maxRecords`. */
  read(fromOffset: number, maxRecords: number): Promise<MetadataRecord[]>;
  /** Offset of the last committed record; -1 when the log is empty. */
  readonly committedOffset: number;
  close(): Promise<void>;
}
