// The metadata log: cluster state as records in `__cluster_metadata`. The interface is
// what a Raft quorum provides (issue 8 replaces the single-voter implementation below);
// the image, controller and handlers only see this interface.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { decodeRecordBatches, encodeRecordBatch } from '../records/index.js';
import { DEFAULT_LOG_CONFIG, PartitionLog } from '../storage/index.js';
import { logger } from '../util/log.js';
import { decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from './records.js';

export const METADATA_TOPIC = '__cluster_metadata';
export const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ'; // Kafka's fixed id for the metadata topic

export interface CommittedBatch {
  /**
   * 'records': the batch appended at baseOffset..lastOffset; apply its records on top of the
   * current image. Raft's control batches (a new leader's LeaderChangeMessage) arrive as batches
   * with no records, so the committed offset keeps moving.
   * 'snapshot': the whole state as of lastOffset (a KIP-630 snapshot, at start-up or fetched from
   * the leader); replace the image with the replay of these records into the empty image.
   */
  kind: 'records' | 'snapshot';
  baseOffset: number;
  lastOffset: number;
  epoch: number;
  appendTimestampMs: number;
  records: MetadataRecord[];
}

export type CommitListener = (batch: CommittedBatch) => void;

/**
 * The committed state for a snapshot: the records that rebuild the current image (see
 * imageToRecords in snapshot.ts) and the offset of the last record it reflects. Called
 * synchronously right after a batch was delivered, so the image is the one that batch produced.
 */
export type SnapshotSource = () => { lastContainedOffset: number; records: MetadataRecord[] };

export interface MetadataLog {
  /**
   * Replays every committed batch to `listener` (starting with the latest snapshot, when there
   * is one), then keeps delivering new commits in order. With `snapshotSource`, the log takes
   * snapshots of the state from time to time and drops the records they cover.
   */
  start(listener: CommitListener, snapshotSource?: SnapshotSource): Promise<void>;
  /**
   * Appends records as one atomic batch. Resolves with the batch's last offset once it is
   * committed (and delivered to the listener); rejects with NOT_CONTROLLER when this node
   * is not the quorum leader.
   */
  append(records: MetadataRecord[]): Promise<number>;
  isLeader(): boolean;
  leaderId(): number;
  leaderEpoch(): number;
  /** Offset after the last committed record. */
  endOffset(): number;
  close(): Promise<void>;
}

interface QuorumStateFile {
  leaderId: number;
  leaderEpoch: number;
  votedId: number;
  appliedOffset: number;
  currentVoters: { voterId: number }[];
  data_version: number;
}

/**
 * One voter in combined mode: an append is committed as soon as it is fsynced to the local
 * metadata log, which is the majority of a one-voter quorum.
 */
export class SingleVoterMetadataLog implements MetadataLog {
  private readonly log = logger('metadata-log');
  private partitionLog: PartitionLog | null = null;
  private listener: CommitListener | null = null;
  private epoch = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly nodeId: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async start(listener: CommitListener): Promise<void> {
    this.listener = listener;
    const partitionDir = join(this.dir, `${METADATA_TOPIC}-0`);
    mkdirSync(partitionDir, { recursive: true });
    this.epoch = this.bumpEpoch(partitionDir);
    this.partitionLog = await PartitionLog.open({
      dir: partitionDir,
      topic: METADATA_TOPIC,
      partition: 0,
      topicId: METADATA_TOPIC_ID,
      config: { ...DEFAULT_LOG_CONFIG, retentionMs: -1, retentionBytes: -1, segmentBytes: 64 * 1024 * 1024 },
      clock: this.clock,
    });
    // Replay: everything on disk is committed (a one-voter quorum commits on fsync).
    let offset = this.partitionLog.logStartOffset;
    const end = this.partitionLog.logEndOffset;
    while (offset < end) {
      const { records, nextOffset } = this.partitionLog.read(offset, 8 * 1024 * 1024, end, true);
      for (const batch of decodeRecordBatches(records, { verifyCrc: true })) {
        if (batch.isControl) continue;
        listener({
          kind: 'records',
          baseOffset: batch.baseOffset,
          lastOffset: batch.baseOffset + batch.lastOffsetDelta,
          epoch: batch.partitionLeaderEpoch,
          appendTimestampMs: batch.maxTimestamp,
          records: batch.records.map((r) => decodeMetadataRecord(r.value ?? Buffer.alloc(0))),
        });
      }
      if (nextOffset <= offset) break;
      offset = nextOffset;
    }
    this.partitionLog.highWatermark = this.partitionLog.logEndOffset;
    this.log.info(`metadata log ready at offset ${this.partitionLog.logEndOffset}, epoch ${this.epoch}`);
  }

  /** Each start is a new election the single voter wins; the epoch is kept in quorum-state. */
  private bumpEpoch(partitionDir: string): number {
    const path = join(partitionDir, 'quorum-state');
    let epoch = 0;
    if (existsSync(path)) {
      try {
        epoch = (JSON.parse(readFileSync(path, 'utf8')) as QuorumStateFile).leaderEpoch;
      } catch (err) {
        this.log.warn(`unreadable quorum-state, starting from epoch 0: ${(err as Error).message}`);
      }
    }
    epoch += 1;
    const state: QuorumStateFile = {
      leaderId: this.nodeId,
      leaderEpoch: epoch,
      votedId: this.nodeId,
      appliedOffset: 0,
      currentVoters: [{ voterId: this.nodeId }],
      data_version: 0,
    };
    writeFileSync(`${path}.tmp`, JSON.stringify(state));
    renameSync(`${path}.tmp`, path);
    return epoch;
  }

  append(records: MetadataRecord[]): Promise<number> {
    const run = async (): Promise<number> => {
      const plog = this.partitionLog;
      if (this.closed || plog === null) throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'metadata log is closed');
      const now = this.clock();
      const batch = encodeRecordBatch({
        partitionLeaderEpoch: this.epoch,
        baseTimestamp: now,
        records: records.map((r) => ({ key: null, value: encodeMetadataRecord(r), timestamp: now })),
      });
      const result = plog.appendAsLeader(batch, this.epoch);
      await plog.flush();
      plog.highWatermark = plog.logEndOffset;
      this.listener?.({
        kind: 'records',
        baseOffset: result.firstOffset,
        lastOffset: result.lastOffset,
        epoch: this.epoch,
        appendTimestampMs: now,
        records,
      });
      return result.lastOffset;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  isLeader(): boolean {
    return !this.closed;
  }
  leaderId(): number {
    return this.nodeId;
  }
  leaderEpoch(): number {
    return this.epoch;
  }
  endOffset(): number {
    return this.partitionLog?.logEndOffset ?? 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
    await this.partitionLog?.close();
    this.partitionLog = null;
  }
}
