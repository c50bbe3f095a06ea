// What an instance tells the other members of its application (and `brook streams describe`) through its
// consumer-group member metadata: where it answers interactive queries, which tasks it runs and keeps
// standby copies of, its stores' sizes and any restore under way. JSON, versioned, at most 8 KiB (the
// coordinator's limit): the per-store detail is cut before the document would pass it.

export const instanceMetadataVersion = 1;
export const instanceMetadataBytesMax = 8 * 1024;

export interface StoreStatus {
  task: string;
  store: string;
  entries: number;
}

export interface RestoreStatus {
  task: string;
  store: string;
  restored: number;
  /** Records to restore in all, as far as known when the restore began. */
  total: number;
}

export interface InstanceMetadata {
  version: number;
  processId: string;
  /** `host:port` of applicationServer, or null. */
  endpoint: string | null;
  active: string[];
  standby: string[];
  /**
   * The topics each sub-topology reads (index s: task s_p reads partition p of each), so a reader can
   * tell which of an instance's partitions each task reads. Absent from metadata written before it was.
   */
  subtopologies?: string[][];
  stores: StoreStatus[];
  restoring: RestoreStatus[];
  /** True when `stores` was cut to fit. */
  truncated: boolean;
}

export function encodeInstanceMetadata(metadata: InstanceMetadata): Buffer {
  let encoded = Buffer.from(JSON.stringify(metadata));
  if (encoded.length <= instanceMetadataBytesMax) return encoded;
  const slim = { ...metadata, stores: [] as StoreStatus[], truncated: true };
  encoded = Buffer.from(JSON.stringify(slim));
  if (encoded.length <= instanceMetadataBytesMax) return encoded;
  return Buffer.from(JSON.stringify({ ...slim, restoring: [], standby: [], active: [] }));
}

/** undefined for anything that is not an instance's metadata (another kind of member, or bad bytes). */
export function decodeInstanceMetadata(bytes: Buffer | undefined): InstanceMetadata | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  try {
    const parsed = JSON.parse(bytes.toString("utf8")) as InstanceMetadata;
    return parsed.version === instanceMetadataVersion && typeof parsed.processId === "string"
      ? parsed
      : undefined;
  } catch {
    return undefined;
  }
}
