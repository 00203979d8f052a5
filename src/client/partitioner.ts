// Partitioners: Java-compatible murmur2 for keyed records, sticky for keyless ones (KIP-480).

const MURMUR_SEED = 0x9747b28c;
const MURMUR_M = 0x5bd1e995;

/** Kafka's murmur2 (Utils.murmur2 in the Java client), as a signed 32-bit integer. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = (MURMUR_SEED ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, MURMUR_M);
    k ^= k >>> 24;
    k = Math.imul(k, MURMUR_M);
    h = Math.imul(h, MURMUR_M) ^ k;
  }
  // The tail bytes fold in cumulatively (Java's switch falls through from case 3 to case 1).
  const tail = length & 3;
  if (tail >= 3) h ^= (data[length4 + 2] as number) << 16;
  if (tail >= 2) h ^= (data[length4 + 1] as number) << 8;
  if (tail >= 1) {
    h ^= data[length4] as number;
    h = Math.imul(h, MURMUR_M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR_M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Java's default partitioner picks for a key: toPositive(murmur2(key)) % n. */
export function partitionForKey(key: Buffer, partitionCount: number): number {
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}

export interface PartitionerArgs {
  topic: string;
  key: Buffer | null;
  value: Buffer | string | null;
  partitionCount: number;
}

/** Returns the partition for a record, or -1 to let the built-in sticky choice apply. */
export type Partitioner = (args: PartitionerArgs) => number;

/**
 * Keyless records stick to one partition per topic until the batch being filled for it is
 * closed, then move to another partition chosen at random (KIP-480). Batches stay large
 * without skewing load over time.
 */
export class StickyPartitionCache {
  private readonly current = new Map<string, number>();

  partition(topic: string, partitionCount: number): number {
    const p = this.current.get(topic);
    if (p !== undefined && p < partitionCount) return p;
    return this.next(topic, partitionCount, -1);
  }

  /** The batch being filled for `partition` closed: later keyless records go elsewhere. */
  batchClosed(topic: string, partition: number, partitionCount: number): void {
    if (this.current.get(topic) === partition && partitionCount > 0) this.next(topic, partitionCount, partition);
  }

  private next(topic: string, partitionCount: number, avoid: number): number {
    let p = Math.floor(Math.random() * partitionCount);
    if (partitionCount > 1 && p === avoid)
      p = (p + 1 + Math.floor(Math.random() * (partitionCount - 1))) % partitionCount;
    this.current.set(topic, p);
    return p;
  }
}
