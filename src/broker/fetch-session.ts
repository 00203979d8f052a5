// Incremental fetch sessions (KIP-227). A client that opens a session sends only changed
// partitions afterwards; the broker answers with only partitions whose data or state
// changed. The cache is bounded (max.incremental.fetch.session.cache.slots).
import { ErrorCode } from '../protocol/errors.js';

export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;

export interface SessionPartition {
  topicId: string;
  topic: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
  logStartOffset: number;
  /** State last sent to the client, to detect changes worth reporting. */
  sentHighWatermark: number;
  sentLastStableOffset: number;
  sentLogStartOffset: number;
}

export class FetchSession {
  readonly partitions = new Map<string, SessionPartition>();
  /** The epoch the next request must carry. */
  epoch = 1;
  lastUsedMs: number;

  constructor(
    readonly id: number,
    nowMs: number,
    /** Sessions opened with topic ids (v13+) must keep using them. */
    readonly usesTopicIds: boolean,
  ) {
    this.lastUsedMs = nowMs;
  }
}

export function sessionKey(topicId: string, topic: string, partition: number, usesTopicIds: boolean): string {
  return usesTopicIds ? `${topicId}:${partition}` : `${topic}:${partition}`;
}

export type SessionLookup =
  | { kind: 'sessionless' }
  | { kind: 'new'; session: FetchSession | null }
  | { kind: 'incremental'; session: FetchSession }
  | { kind: 'error'; errorCode: number };

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private nextId = 1;

  constructor(
    private readonly maxSlots: number,
    private readonly idleEvictionMs: number,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Interprets a request's session id and epoch. */
  lookup(sessionId: number, sessionEpoch: number, usesTopicIds: boolean, nowMs: number): SessionLookup {
    if (sessionEpoch === FINAL_EPOCH) {
      if (sessionId !== 0) this.sessions.delete(sessionId);
      return { kind: 'sessionless' };
    }
    if (sessionEpoch === INITIAL_EPOCH) {
      if (sessionId !== 0) this.sessions.delete(sessionId);
      return { kind: 'new', session: this.create(usesTopicIds, nowMs) };
    }
    const s = this.sessions.get(sessionId);
    if (!s) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND };
    if (s.epoch !== sessionEpoch) return { kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH };
    if (s.usesTopicIds !== usesTopicIds) return { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR };
    // Keep LRU order: most recently used last.
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, s);
    s.lastUsedMs = nowMs;
    return { kind: 'incremental', session: s };
  }

  /** Marks a session used: the next request must carry the next epoch. */
  advance(s: FetchSession): void {
    s.epoch = s.epoch >= 0x7fffffff ? 1 : s.epoch + 1;
  }

  private create(usesTopicIds: boolean, nowMs: number): FetchSession | null {
    this.evictIdle(nowMs);
    if (this.sessions.size >= this.maxSlots) {
      // Evict the least recently used session, as long as it has been idle a while.
      const oldest = this.sessions.values().next().value as FetchSession | undefined;
      if (!oldest || nowMs - oldest.lastUsedMs < 1000) return null;
      this.sessions.delete(oldest.id);
    }
    let id = this.nextId;
    while (id === 0 || this.sessions.has(id)) id = (id % 0x7fffffff) + 1;
    this.nextId = (id % 0x7fffffff) + 1;
    const s = new FetchSession(id, nowMs, usesTopicIds);
    this.sessions.set(id, s);
    return s;
  }

  private evictIdle(nowMs: number): void {
    for (const s of this.sessions.values()) {
      if (nowMs - s.lastUsedMs < this.idleEvictionMs) break;
      this.sessions.delete(s.id);
    }
  }

  remove(id: number): void {
    this.sessions.delete(id);
  }
}
