// Records of `__consumer_offsets`: each key and value is an int16 version followed by the
// versioned struct (formats in kafka-protocol/group-coordinator). A null value is a tombstone.
import { DecodeError, Reader, Writer } from '../../protocol/codec.js';
import {
  decodeGroupMetadataKey,
  encodeGroupMetadataKey,
} from '../../protocol/generated/group-coordinator/group-metadata-key.js';
import {
  decodeGroupMetadataValue,
  encodeGroupMetadataValue,
  type GroupMetadataValue,
  type GroupMetadataValueInit,
} from '../../protocol/generated/group-coordinator/group-metadata-value.js';
import {
  decodeOffsetCommitKey,
  encodeOffsetCommitKey,
} from '../../protocol/generated/group-coordinator/offset-commit-key.js';
import {
  decodeOffsetCommitValue,
  encodeOffsetCommitValue,
  type OffsetCommitValue,
} from '../../protocol/generated/group-coordinator/offset-commit-value.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

const OFFSET_COMMIT_KEY_VERSION = 1;
const GROUP_METADATA_KEY_VERSION = 2;
const OFFSET_COMMIT_VALUE_VERSION = 3;
const GROUP_METADATA_VALUE_VERSION = 3;

/** Java's String.hashCode over UTF-16 code units. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The `__consumer_offsets` partition that coordinates a group (as Kafka computes it). */
export function groupPartition(groupId: string, partitionCount: number): number {
  const h = javaStringHash(groupId);
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitionCount;
}

function versioned(version: number, write: (w: Writer) => void): Buffer {
  const w = new Writer(64);
  w.int16(version);
  write(w);
  return w.finish();
}

export function offsetCommitKey(group: string, topic: string, partition: number): Buffer {
  return versioned(OFFSET_COMMIT_KEY_VERSION, (w) =>
    encodeOffsetCommitKey(w, { group, topic, partition }, OFFSET_COMMIT_KEY_VERSION),
  );
}

export function groupMetadataKey(group: string): Buffer {
  return versioned(GROUP_METADATA_KEY_VERSION, (w) => encodeGroupMetadataKey(w, { group }, GROUP_METADATA_KEY_VERSION));
}

export function offsetCommitValue(v: {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}): Buffer {
  return versioned(OFFSET_COMMIT_VALUE_VERSION, (w) => encodeOffsetCommitValue(w, v, OFFSET_COMMIT_VALUE_VERSION));
}

export function groupMetadataValue(v: GroupMetadataValueInit): Buffer {
  return versioned(GROUP_METADATA_VALUE_VERSION, (w) => encodeGroupMetadataValue(w, v, GROUP_METADATA_VALUE_VERSION));
}

export type CoordinatorRecord =
  | { kind: 'offset'; group: string; topic: string; partition: number; value: OffsetCommitValue | null }
  | { kind: 'group'; group: string; value: GroupMetadataValue | null };

/** Decodes one `__consumer_offsets` record; unknown key versions return null (skipped). */
export function decodeCoordinatorRecord(key: Buffer, value: Buffer | null): CoordinatorRecord | null {
  const r = new Reader(key);
  const version = r.int16();
  if (version === 0 || version === 1) {
    const k = decodeOffsetCommitKey(r, version);
    let v: OffsetCommitValue | null = null;
    if (value !== null) {
      const vr = new Reader(value);
      const vv = vr.int16();
      if (vv < 0 || vv > 4) throw new DecodeError(`unknown offset commit value version ${vv}`);
      v = decodeOffsetCommitValue(vr, vv);
    }
    return { kind: 'offset', group: k.group, topic: k.topic, partition: k.partition, value: v };
  }
  if (version === 2) {
    const k = decodeGroupMetadataKey(r, version);
    let v: GroupMetadataValue | null = null;
    if (value !== null) {
      const vr = new Reader(value);
      const vv = vr.int16();
      if (vv < 0 || vv > 4) throw new DecodeError(`unknown group metadata value version ${vv}`);
      v = decodeGroupMetadataValue(vr, vv);
    }
    return { kind: 'group', group: k.group, value: v };
  }
  // Newer record types (KIP-848 consumer groups, share groups) are not understood here.
  return null;
}
