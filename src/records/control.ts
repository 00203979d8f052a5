// Transaction markers: control batches holding one control record.
// Key: version int16 (0), type int16 (0 = abort, 1 = commit).
// Value: version int16 (0), coordinatorEpoch int32.
import { InvalidBatchError } from './batch-header.js';
import { type DecodedRecord, encodeRecordBatch } from './record-batch.js';

export type ControlType = 'commit' | 'abort';

export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;
const CONTROL_RECORD_VERSION = 0;
const CONTROL_KEY_BYTES = 4;
const END_TXN_MARKER_VALUE_BYTES = 6;

export interface ControlBatchInput {
  type: ControlType;
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  /** Milliseconds since the epoch; defaults to Date.now(). */
  timestamp?: number;
}

export interface ControlRecord {
  type: ControlType;
  version: number;
  coordinatorEpoch: number;
}

/** Encodes a transaction marker batch (transactional + control attributes, no compression). */
export function encodeControlBatch(input: ControlBatchInput): Buffer {
  const key = Buffer.allocUnsafe(CONTROL_KEY_BYTES);
  key.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  key.writeInt16BE(input.type === 'commit' ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.allocUnsafe(END_TXN_MARKER_VALUE_BYTES);
  value.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  value.writeInt32BE(input.coordinatorEpoch, 2);
  return encodeRecordBatch({
    baseOffset: input.baseOffset ?? 0,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? -1,
    transactional: true,
    control: true,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: -1,
    records: [{ key, value, timestamp: input.timestamp ?? Date.now() }],
  });
}

function invalid(detail: string): InvalidBatchError {
  return new InvalidBatchError('invalid-control-record', -1, detail);
}

/**
 * Reads a transaction marker from a control batch's record. Throws InvalidBatchError
 * ('invalid-control-record') for short fields or a control type other than abort/commit.
 */
export function parseControlRecord(record: DecodedRecord): ControlRecord {
  const key = record.key;
  if (key === null || key.length < CONTROL_KEY_BYTES) {
    throw invalid(`control record key of ${key === null ? 'null' : key.length} bytes is too short`);
  }
  const typeId = key.readInt16BE(2);
  if (typeId !== CONTROL_TYPE_ABORT && typeId !== CONTROL_TYPE_COMMIT) {
    throw invalid(`control record type ${typeId} is not a transaction marker`);
  }
  const value = record.value;
  if (value === null || value.length < END_TXN_MARKER_VALUE_BYTES) {
    throw invalid(`transaction marker value of ${value === null ? 'null' : value.length} bytes is too short`);
  }
  return {
    type: typeId === CONTROL_TYPE_COMMIT ? 'commit' : 'abort',
    version: value.readInt16BE(0),
    coordinatorEpoch: value.readInt32BE(2),
  };
}
