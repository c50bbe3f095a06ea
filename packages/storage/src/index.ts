// Public API of @brook/storage: the partition log (segments, indexes, recovery, retention).

export { defaultLogConfig, type LogConfig, resolveLogConfig, segmentBytesMax } from "./config.js";
export { LogCorruptionError, type LogDamage } from "./corruption.js";
export { type FileSystem, fsyncDirectory, type LogFile, nodeFileSystem } from "./file-system.js";
export type { EpochEndOffset, EpochEntry } from "./leader-epoch-cache.js";
export {
  type AppendResult,
  type CleanOptions,
  type CleanResult,
  PartitionLog,
  type PartitionLogOptions,
  type ReadOptions,
  type ReadResult,
  type RetentionResult,
  type StorageLogger,
} from "./partition-log.js";
export { type VerifyFinding, type VerifyFindingKind, type VerifyReport, verifyLogDir } from "./verify.js";
