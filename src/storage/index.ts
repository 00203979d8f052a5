// The storage engine: durable segmented partition logs (see DESIGN.md, "storage/").
export { DEFAULT_LOG_CONFIG, FLUSH_NEVER, type LogConfig, type TimestampType, validateLogConfig } from './config.js';
export {
  CorruptRecordError,
  InconsistentTopicIdError,
  InvalidConfigError,
  InvalidRecordError,
  KafkaStorageError,
  NonContiguousAppendError,
  OffsetOutOfRangeError,
  RecordBatchTooLargeError,
  RecordTooLargeError,
  StorageError,
  TruncateBelowLogStartError,
} from './errors.js';
export { type EpochEntry, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from './leader-epoch-cache.js';
export {
  CLEAN_SHUTDOWN_FILE,
  HIGH_WATERMARK_CHECKPOINT_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  LogManager,
  type LogManagerOptions,
  parsePartitionDirName,
  RECOVERY_POINT_CHECKPOINT_FILE,
} from './log-manager.js';
export {
  type AppendOrigin,
  type AppendResult,
  PARTITION_METADATA_FILE,
  PartitionLog,
  type PartitionLogOptions,
  type PartitionLogState,
  partitionDirName,
  type ReadResult,
  type TimestampAndOffset,
} from './partition-log.js';
export type { RecordsDecompressor } from './record-scan.js';
export { SegmentCache, type SegmentCacheOptions } from './segment-cache.js';
