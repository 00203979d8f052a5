import type { DecodedBatch, RecordBatchInput } from '../../src/records/index.js';

/**
 * Turns a decoded batch back into encoder input, keeping everything the encoding depends on
 * (timestamp and offset deltas, header fields), so re-encoding can be compared byte for byte.
 */
export function batchToInput(d: DecodedBatch): RecordBatchInput {
  return {
    baseOffset: d.baseOffset,
    partitionLeaderEpoch: d.partitionLeaderEpoch,
    compression: d.compression,
    timestampType: d.timestampType,
    transactional: d.isTransactional,
    control: d.isControl,
    producerId: d.producerId,
    producerEpoch: d.producerEpoch,
    baseSequence: d.baseSequence,
    baseTimestamp: d.baseTimestamp,
    maxTimestamp: d.maxTimestamp,
    lastOffsetDelta: d.lastOffsetDelta,
    records: d.records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: d.baseTimestamp + r.timestampDelta,
      offsetDelta: r.offsetDelta,
    })),
  };
}
