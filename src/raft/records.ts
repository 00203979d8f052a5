// KRaft's control records (KIP-595, KIP-630): the LeaderChangeMessage a new leader writes first in
// its epoch, and the header and footer framing a snapshot. Each is one record in a control batch;
// the key is (version int16, type int16) and the value the message for that type.
import { Reader, Writer } from '../protocol/codec.js';
import {
  decodeLeaderChangeMessage,
  encodeLeaderChangeMessage,
} from '../protocol/generated/data/leader-change-message.js';
import {
  decodeSnapshotFooterRecord,
  encodeSnapshotFooterRecord,
} from '../protocol/generated/data/snapshot-footer-record.js';
import {
  decodeSnapshotHeaderRecord,
  encodeSnapshotHeaderRecord,
} from '../protocol/generated/data/snapshot-header-record.js';
import { type DecodedRecord, encodeRecordBatch } from '../records/index.js';

/** Kafka's ControlRecordType ids. */
export const ControlType = {
  ABORT: 0,
  COMMIT: 1,
  LEADER_CHANGE: 2,
  SNAPSHOT_HEADER: 3,
  SNAPSHOT_FOOTER: 4,
  KRAFT_VERSION: 5,
  KRAFT_VOTERS: 6,
} as const;

const CONTROL_KEY_VERSION = 0;

function controlKey(type: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(CONTROL_KEY_VERSION, 0);
  key.writeInt16BE(type, 2);
  return key;
}

/** The control type of a control batch's record, or -1 when the key is not a control key. */
export function controlTypeOf(record: DecodedRecord): number {
  const key = record.key;
  if (key === null || key.length < 4) return -1;
  return key.readInt16BE(2);
}

function controlBatch(type: number, value: Buffer, epoch: number, timestampMs: number, baseOffset = 0): Buffer {
  return encodeRecordBatch({
    baseOffset,
    partitionLeaderEpoch: epoch,
    control: true,
    baseTimestamp: timestampMs,
    records: [{ key: controlKey(type), value, timestamp: timestampMs }],
  });
}

/** The batch a new leader appends at the start of its epoch. */
export function leaderChangeBatch(
  epoch: number,
  leaderId: number,
  voters: readonly number[],
  timestampMs: number,
): Buffer {
  const w = new Writer(32);
  encodeLeaderChangeMessage(
    w,
    { version: 0, leaderId, voters: voters.map((voterId) => ({ voterId })), grantingVoters: [] },
    0,
  );
  return controlBatch(ControlType.LEADER_CHANGE, w.finish(), epoch, timestampMs);
}

export function parseLeaderChange(record: DecodedRecord): { leaderId: number; voters: number[] } {
  const m = decodeLeaderChangeMessage(new Reader(record.value ?? Buffer.alloc(0)), 0);
  return { leaderId: m.leaderId, voters: m.voters.map((v) => v.voterId) };
}

export function snapshotHeaderBatch(epoch: number, lastContainedLogTimestampMs: number): Buffer {
  const w = new Writer(16);
  encodeSnapshotHeaderRecord(w, { version: 0, lastContainedLogTimestamp: lastContainedLogTimestampMs }, 0);
  return controlBatch(ControlType.SNAPSHOT_HEADER, w.finish(), epoch, lastContainedLogTimestampMs);
}

export function snapshotFooterBatch(epoch: number, timestampMs: number, baseOffset: number): Buffer {
  const w = new Writer(8);
  encodeSnapshotFooterRecord(w, { version: 0 }, 0);
  return controlBatch(ControlType.SNAPSHOT_FOOTER, w.finish(), epoch, timestampMs, baseOffset);
}

export function parseSnapshotHeader(record: DecodedRecord): { version: number; lastContainedLogTimestampMs: number } {
  const m = decodeSnapshotHeaderRecord(new Reader(record.value ?? Buffer.alloc(0)), 0);
  return { version: m.version, lastContainedLogTimestampMs: m.lastContainedLogTimestamp };
}

export function parseSnapshotFooter(record: DecodedRecord): { version: number } {
  return { version: decodeSnapshotFooterRecord(new Reader(record.value ?? Buffer.alloc(0)), 0).version };
}
