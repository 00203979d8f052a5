// Bounds the resources inactive segments hold: open file descriptors and loaded indexes.
// Inactive segments register here when they open a file or load an index; the least recently
// used ones are released when either limit is exceeded. Active segments never register, and a
// pinned segment (an fsync in flight) is skipped until it is unpinned.

export interface CachedSegment {
  /** Closes the file and drops loaded indexes. Returns false when the segment is pinned. */
  releaseResources(): boolean;
  /** Memory held by loaded indexes. */
  readonly residentIndexBytes: number;
}

export interface SegmentCacheOptions {
  /** Open inactive segment files kept at most. */
  maxOpenSegments?: number;
  /** Bytes of loaded inactive-segment indexes kept at most. */
  maxIndexBytes?: number;
}

export const DEFAULT_MAX_OPEN_SEGMENTS = 256;
export const DEFAULT_MAX_INDEX_BYTES = 64 * 1024 * 1024;

export class SegmentCache {
  readonly maxOpenSegments: number;
  readonly maxIndexBytes: number;
  // Map iteration order is insertion order: re-inserting on use keeps LRU order.
  private readonly lru = new Map<CachedSegment, number>();
  private indexBytes = 0;

  constructor(opts: SegmentCacheOptions = {}) {
    this.maxOpenSegments = Math.max(1, opts.maxOpenSegments ?? DEFAULT_MAX_OPEN_SEGMENTS);
    this.maxIndexBytes = Math.max(0, opts.maxIndexBytes ?? DEFAULT_MAX_INDEX_BYTES);
  }

  get size(): number {
    return this.lru.size;
  }

  /** Marks `seg` most recently used and updates its accounting; may release others. */
  touch(seg: CachedSegment): void {
    const prev = this.lru.get(seg);
    if (prev !== undefined) {
      this.indexBytes -= prev;
      this.lru.delete(seg);
    }
    const bytes = seg.residentIndexBytes;
    this.lru.set(seg, bytes);
    this.indexBytes += bytes;
    this.evict(seg);
  }

  remove(seg: CachedSegment): void {
    const prev = this.lru.get(seg);
    if (prev === undefined) return;
    this.indexBytes -= prev;
    this.lru.delete(seg);
  }

  private evict(keep: CachedSegment): void {
    if (this.lru.size <= this.maxOpenSegments && this.indexBytes <= this.maxIndexBytes) return;
    for (const [seg, bytes] of this.lru) {
      if (this.lru.size <= this.maxOpenSegments && this.indexBytes <= this.maxIndexBytes) return;
      if (seg === keep) continue;
      if (seg.releaseResources()) {
        this.lru.delete(seg);
        this.indexBytes -= bytes;
      }
    }
  }

  /** Releases everything releasable (tests and shutdown). */
  clear(): void {
    for (const seg of [...this.lru.keys()]) {
      if (seg.releaseResources()) this.remove(seg);
    }
  }
}
