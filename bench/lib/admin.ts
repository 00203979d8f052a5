// The few admin calls the benchmarks need, over Eddy's own protocol codec (no client
// library in the way): create a topic, read a partition's end offset.
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { RawClient } from '../../test/helpers/raw-client.js';

export async function createTopic(
  bootstrap: string,
  name: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<void> {
  const c = await RawClient.connect(bootstrap);
  try {
    const res = await c.request(ApiKey.CreateTopics, 7, {
      topics: [
        {
          name,
          numPartitions: partitions,
          replicationFactor: 1,
          assignments: [],
          configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
        },
      ],
      timeoutMs: 30_000,
    });
    const t = res.topics[0];
    if (!t || (t.errorCode !== 0 && t.errorCode !== 36)) {
      throw new Error(`creating topic ${name} failed: ${t?.errorCode} ${t?.errorMessage ?? ''}`);
    }
  } finally {
    c.close();
  }
}

/** The high watermark of each partition of a topic (ListOffsets, latest). */
export async function endOffsets(bootstrap: string, topic: string, partitions: number): Promise<number[]> {
  const c = await RawClient.connect(bootstrap);
  try {
    const res = await c.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: partitions }, (_, i) => ({
            partitionIndex: i,
            currentLeaderEpoch: -1,
            timestamp: -1,
          })),
        },
      ],
    });
    return (res.topics[0]?.partitions ?? []).map((p) => {
      if (p.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${p.partitionIndex}: error ${p.errorCode}`);
      return p.offset;
    });
  } finally {
    c.close();
  }
}
