// Typed storage errors. Each carries the Kafka error code a handler should answer with.
import { ErrorCode, KafkaError } from '../protocol/errors.js';

export class StorageError extends KafkaError {
  /** The Kafka error code for a response (same as `code`). */
  readonly kafkaErrorCode: number;
  constructor(code: number, message: string) {
    super(code, message);
    this.name = new.target.name;
    this.kafkaErrorCode = code;
  }
}

/** Bad CRC, a malformed batch or a batch cut short. */
export class CorruptRecordError extends StorageError {
  constructor(message: string) {
    super(ErrorCode.CORRUPT_MESSAGE, message);
  }
}

/** One batch is larger than max.message.bytes. */
export class RecordTooLargeError extends StorageError {
  constructor(message: string) {
    super(ErrorCode.MESSAGE_TOO_LARGE, message);
  }
}

/** The batches of one append do not fit in a segment (segment.bytes). */
export class RecordBatchTooLargeError extends StorageError {
  constructor(message: string) {
    super(ErrorCode.RECORD_LIST_TOO_LARGE, message);
  }
}

/** Structurally valid bytes that break a rule (magic, record count, control batch from a client...). */
export class InvalidRecordError extends StorageError {
  constructor(message: string) {
    super(ErrorCode.INVALID_RECORD, message);
  }
}

export class OffsetOutOfRangeError extends StorageError {
  readonly offset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  constructor(offset: number, logStartOffset: number, logEndOffset: number, what = 'offset') {
    super(ErrorCode.OFFSET_OUT_OF_RANGE, `${what} ${offset} is outside [${logStartOffset}, ${logEndOffset}]`);
    this.offset = offset;
    this.logStartOffset = logStartOffset;
    this.logEndOffset = logEndOffset;
  }
}

/**
 * A follower append whose offsets do not continue the log (Kafka's UnexpectedAppendOffsetException).
 * The replica fetcher can react (e.g. truncateFullyAndStartAt(firstOffset) when the log is empty).
 */
export class NonContiguousAppendError extends StorageError {
  readonly firstOffset: number;
  readonly logEndOffset: number;
  constructor(firstOffset: number, logEndOffset: number, detail?: string) {
    super(
      ErrorCode.UNKNOWN_SERVER_ERROR,
      detail ?? `follower append starts at offset ${firstOffset}, expected at least the log end offset ${logEndOffset}`,
    );
    this.firstOffset = firstOffset;
    this.logEndOffset = logEndOffset;
  }
}

export class TruncateBelowLogStartError extends StorageError {
  readonly offset: number;
  readonly logStartOffset: number;
  constructor(offset: number, logStartOffset: number) {
    super(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot truncate to ${offset}, below the log start offset ${logStartOffset}`);
    this.offset = offset;
    this.logStartOffset = logStartOffset;
  }
}

/** An I/O failure or a use of a closed log: the log dir should be treated as failed. */
export class KafkaStorageError extends StorageError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, message);
    if (cause !== undefined) this.cause = cause;
  }
}

export class InvalidConfigError extends StorageError {
  constructor(message: string) {
    super(ErrorCode.INVALID_CONFIG, message);
  }
}

/** partition.metadata names a different topic id than the one given. */
export class InconsistentTopicIdError extends StorageError {
  constructor(message: string) {
    super(ErrorCode.INCONSISTENT_TOPIC_ID, message);
  }
}
