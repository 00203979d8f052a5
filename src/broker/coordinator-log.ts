// The coordinators' view of an internal topic: append records to one of its partitions
// (waiting for them to commit) and read a partition back when taking it over.

import type { CoordinatorLog, CoordinatorRecordInput } from '../coordinator/group/coordinator.js';
import type { MetadataImage } from '../metadata/image.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { decodeRecordBatches, encodeRecordBatch } from '../records/index.js';
import { DEFAULT_PRODUCE_POLICY, type ReplicaManager } from './replica-manager.js';

const READ_CHUNK_BYTES = 4 * 1024 * 1024;

export class InternalTopicLog implements CoordinatorLog {
  constructor(
    private readonly topic: string,
    private readonly image: () => MetadataImage,
    private readonly replicas: ReplicaManager,
    /** offsets.commit.timeout.ms */
    private readonly commitTimeoutMs = 5000,
  ) {}

  private topicId(): string {
    const t = this.image().topicsByName.get(this.topic);
    if (!t) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${this.topic} does not exist`);
    return t.id;
  }

  async append(partition: number, records: CoordinatorRecordInput[]): Promise<void> {
    const topicId = this.topicId();
    const batch = encodeRecordBatch({ records: records.map((r) => ({ key: r.key, value: r.value })) });
    const res = this.replicas.appendToLeader(topicId, this.topic, partition, batch, -1, DEFAULT_PRODUCE_POLICY, true);
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, res.errorMessage ?? undefined);
    const outcome = await this.replicas.awaitHighWatermark(topicId, partition, res.nextOffset, this.commitTimeoutMs);
    if (outcome === 'timeout') throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'the write did not replicate in time');
    if (outcome === 'not-leader') throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'leadership moved');
  }

  *read(partition: number): Iterable<{ key: Buffer | null; value: Buffer | null }> {
    const p = this.replicas.getPartition(this.topicId(), partition);
    if (!p) return;
    const log = p.log;
    let offset = log.logStartOffset;
    const end = log.logEndOffset;
    while (offset < end) {
      const { records, nextOffset } = log.read(offset, READ_CHUNK_BYTES, end, true);
      for (const b of decodeRecordBatches(records)) {
        if (b.isControl) continue;
        for (const r of b.records) if (r.offset >= offset) yield { key: r.key, value: r.value };
      }
      if (nextOffset <= offset) break;
      offset = nextOffset;
    }
  }
}
