// Fetch: read whole batches up to the high watermark (or LSO), with long polling
// (max.wait.ms / min.bytes), response and partition byte limits (KIP-74), fetch sessions
// (KIP-227) and topic ids from v13.
import { ZERO_UUID } from '../../protocol/codec.js';
import { EMPTY_BUFFER } from '../../protocol/codec-runtime.js';
import { ErrorCode } from '../../protocol/errors.js';
import type {
  FetchRequest,
  FetchResponseFetchableTopicResponseInit,
  FetchResponseInit,
  FetchResponsePartitionDataInit,
} from '../../protocol/generated/api/fetch.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { handleRaftFetch } from '../../raft/handlers.js';
import type { BrokerContext } from '../context.js';
import { type FetchSession, type SessionPartition, sessionKey } from '../fetch-session.js';
import type { Partition } from '../replica-manager.js';
import { defineHandler, type RequestContext } from '../router.js';
import { leaderEpochError } from './common.js';

interface FetchEntry {
  topicId: string;
  topic: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
  /** Session state for this partition, when in a session. */
  sp: SessionPartition | null;
  /** Included in the response even without changes (new to the session or sessionless). */
  alwaysRespond: boolean;
  /** Resolution error (unknown topic id/name), reported without reading. */
  error: number;
}

interface ReadOutcome {
  partitions: { entry: FetchEntry; data: FetchResponsePartitionDataInit }[];
  bytes: number;
  hasError: boolean;
}

const READ_COMMITTED = 1;

function resolveEntries(
  broker: BrokerContext,
  req: FetchRequest,
  usesTopicIds: boolean,
  session: FetchSession | null,
  incremental: boolean,
): FetchEntry[] {
  const image = broker.image();
  const entries: FetchEntry[] = [];
  const touched = new Set<string>();
  for (const ft of req.topics) {
    const t = usesTopicIds ? image.topicsById.get(ft.topicId) : image.topicsByName.get(ft.topic);
    const topicId = t?.id ?? ft.topicId;
    const topicName = t?.name ?? ft.topic;
    const error = t ? ErrorCode.NONE : usesTopicIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    for (const fp of ft.partitions) {
      let sp: SessionPartition | null = null;
      if (session && error === ErrorCode.NONE) {
        const key = sessionKey(topicId, topicName, fp.partition, usesTopicIds);
        touched.add(key);
        sp = session.partitions.get(key) ?? null;
        if (!sp) {
          sp = {
            topicId,
            topic: topicName,
            partition: fp.partition,
            fetchOffset: fp.fetchOffset,
            partitionMaxBytes: fp.partitionMaxBytes,
            currentLeaderEpoch: fp.currentLeaderEpoch,
            lastFetchedEpoch: fp.lastFetchedEpoch,
            logStartOffset: fp.logStartOffset,
            sentHighWatermark: -1,
            sentLastStableOffset: -1,
            sentLogStartOffset: -1,
          };
          session.partitions.set(key, sp);
        } else {
          sp.fetchOffset = fp.fetchOffset;
          sp.partitionMaxBytes = fp.partitionMaxBytes;
          sp.currentLeaderEpoch = fp.currentLeaderEpoch;
          sp.lastFetchedEpoch = fp.lastFetchedEpoch;
          sp.logStartOffset = fp.logStartOffset;
        }
      }
      entries.push({
        topicId,
        topic: topicName,
        partition: fp.partition,
        fetchOffset: fp.fetchOffset,
        partitionMaxBytes: fp.partitionMaxBytes,
        currentLeaderEpoch: fp.currentLeaderEpoch,
        lastFetchedEpoch: fp.lastFetchedEpoch,
        sp,
        alwaysRespond: true,
        error,
      });
    }
  }
  if (session && incremental) {
    for (const ft of req.forgottenTopicsData) {
      const t = usesTopicIds ? image.topicsById.get(ft.topicId) : image.topicsByName.get(ft.topic);
      for (const p of ft.partitions) {
        session.partitions.delete(sessionKey(t?.id ?? ft.topicId, t?.name ?? ft.topic, p, usesTopicIds));
      }
    }
    // Partitions of the session not named in this request still get fetched.
    for (const [key, sp] of session.partitions) {
      if (touched.has(key)) continue;
      const t = usesTopicIds ? image.topicsById.get(sp.topicId) : image.topicsByName.get(sp.topic);
      entries.push({
        topicId: sp.topicId,
        topic: sp.topic,
        partition: sp.partition,
        fetchOffset: sp.fetchOffset,
        partitionMaxBytes: sp.partitionMaxBytes,
        currentLeaderEpoch: sp.currentLeaderEpoch,
        lastFetchedEpoch: sp.lastFetchedEpoch,
        sp,
        alwaysRespond: false,
        error: t ? ErrorCode.NONE : usesTopicIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      });
    }
  }
  return entries;
}

function errorData(partition: number, errorCode: number, p?: Partition): FetchResponsePartitionDataInit {
  return {
    partitionIndex: partition,
    errorCode,
    highWatermark: p ? p.log.highWatermark : -1,
    lastStableOffset: p ? p.log.highWatermark : -1,
    logStartOffset: p ? p.log.logStartOffset : -1,
    abortedTransactions: null,
    records: EMPTY_BUFFER,
    ...(p && errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER
      ? { currentLeader: { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch } }
      : {}),
  };
}

/**
 * Reads every entry. For a follower (replicaId >= 0) the read goes up to the log end, the
 * fetch offset is recorded as the follower's log end, and a diverging last fetched epoch is
 * answered with the epoch and end offset to truncate to (KIP-320).
 */
function readAll(
  broker: BrokerContext,
  entries: FetchEntry[],
  maxBytes: number,
  isolationLevel: number,
  replicaId: number,
): ReadOutcome {
  const out: ReadOutcome = { partitions: [], bytes: 0, hasError: false };
  for (const e of entries) {
    if (e.error !== ErrorCode.NONE) {
      out.hasError = true;
      out.partitions.push({ entry: e, data: errorData(e.partition, e.error) });
      continue;
    }
    const p = broker.replicas.getPartition(e.topicId, e.partition);
    if (!p) {
      const t = broker.image().topicsById.get(e.topicId);
      const known = t !== undefined && e.partition >= 0 && e.partition < t.partitions.length;
      out.hasError = true;
      out.partitions.push({
        entry: e,
        data: errorData(e.partition, known ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
      });
      continue;
    }
    const isFollower = replicaId >= 0;
    let error: number = p.leaderId === broker.nodeId ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (error === ErrorCode.NONE && isFollower && !p.replicas.includes(replicaId))
      error = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (error === ErrorCode.NONE) error = leaderEpochError(p, e.currentLeaderEpoch);
    const log = p.log;
    const logStart = log.logStartOffset;
    if (error === ErrorCode.NONE && isFollower && e.lastFetchedEpoch >= 0) {
      const mine = log.endOffsetForEpoch(e.lastFetchedEpoch);
      if (mine.epoch < e.lastFetchedEpoch || mine.endOffset < e.fetchOffset) {
        out.partitions.push({
          entry: e,
          data: {
            partitionIndex: e.partition,
            errorCode: ErrorCode.NONE,
            highWatermark: log.highWatermark,
            lastStableOffset: log.highWatermark,
            logStartOffset: logStart,
            divergingEpoch: { epoch: mine.epoch, endOffset: mine.endOffset },
            records: EMPTY_BUFFER,
          },
        });
        out.hasError = true;
        continue;
      }
    }
    if (error === ErrorCode.NONE && (e.fetchOffset < logStart || e.fetchOffset > log.logEndOffset)) {
      error = ErrorCode.OFFSET_OUT_OF_RANGE;
    }
    if (error !== ErrorCode.NONE) {
      out.hasError = true;
      out.partitions.push({ entry: e, data: errorData(e.partition, error, p) });
      continue;
    }
    if (isFollower) broker.replicas.recordFollowerFetch(p, replicaId, e.fetchOffset);
    const hw = log.highWatermark;
    const lso = hw;
    const upper = isFollower ? log.logEndOffset : isolationLevel === READ_COMMITTED ? lso : hw;
    let records: Buffer = EMPTY_BUFFER;
    const remaining = maxBytes - out.bytes;
    if (e.fetchOffset < upper && (remaining > 0 || out.bytes === 0)) {
      const limit = Math.max(0, Math.min(e.partitionMaxBytes, remaining));
      records = log.read(e.fetchOffset, limit, upper, out.bytes === 0).records;
      out.bytes += records.length;
    }
    out.partitions.push({
      entry: e,
      data: {
        partitionIndex: e.partition,
        errorCode: ErrorCode.NONE,
        highWatermark: hw,
        lastStableOffset: lso,
        logStartOffset: logStart,
        abortedTransactions: isolationLevel === READ_COMMITTED ? [] : null,
        records,
      },
    });
  }
  return out;
}

/** Groups partition results by topic in request order, dropping unchanged session partitions. */
function buildResponse(
  outcome: ReadOutcome,
  usesTopicIds: boolean,
  sessionId: number,
  incremental: boolean,
): FetchResponseInit {
  const topics: FetchResponseFetchableTopicResponseInit[] = [];
  const byTopic = new Map<string, FetchResponsePartitionDataInit[]>();
  for (const { entry, data } of outcome.partitions) {
    const sp = entry.sp;
    if (incremental && !entry.alwaysRespond && sp) {
      const changed =
        (data.records?.length ?? 0) > 0 ||
        data.errorCode !== ErrorCode.NONE ||
        data.highWatermark !== sp.sentHighWatermark ||
        data.lastStableOffset !== sp.sentLastStableOffset ||
        data.logStartOffset !== sp.sentLogStartOffset;
      if (!changed) continue;
    }
    if (sp) {
      sp.sentHighWatermark = data.highWatermark;
      sp.sentLastStableOffset = data.lastStableOffset ?? -1;
      sp.sentLogStartOffset = data.logStartOffset ?? -1;
    }
    const key = usesTopicIds ? entry.topicId : entry.topic;
    let list = byTopic.get(key);
    if (!list) {
      list = [];
      byTopic.set(key, list);
      topics.push({ topic: entry.topic, topicId: usesTopicIds ? entry.topicId : ZERO_UUID, partitions: list });
    }
    list.push(data);
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId, responses: topics };
}

const METADATA_TOPIC = '__cluster_metadata';
const METADATA_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';

async function handleFetch(ctx: RequestContext, req: FetchRequest): Promise<FetchResponseInit> {
  const { broker, apiVersion } = ctx;
  // The metadata log is replicated by the quorum, not by the replica manager.
  if (
    req.topics.length === 1 &&
    (req.topics[0]?.topic === METADATA_TOPIC || req.topics[0]?.topicId === METADATA_TOPIC_ID)
  ) {
    return handleRaftFetch(broker.raft(), req, apiVersion);
  }
  const usesTopicIds = apiVersion >= 13;
  const replicaId = apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId;
  let session: FetchSession | null = null;
  let incremental = false;
  if (apiVersion >= 7) {
    const lookup = broker.fetchSessions.lookup(req.sessionId, req.sessionEpoch, usesTopicIds, broker.clock());
    if (lookup.kind === 'error') {
      return { throttleTimeMs: 0, errorCode: lookup.errorCode, sessionId: 0, responses: [] };
    }
    if (lookup.kind === 'new') session = lookup.session;
    if (lookup.kind === 'incremental') {
      session = lookup.session;
      incremental = true;
      // A new session expects epoch 1 next; each incremental request moves it on.
      broker.fetchSessions.advance(session);
    }
  }
  const entries = resolveEntries(broker, req, usesTopicIds, session, incremental);
  const sessionId = session?.id ?? 0;
  const maxBytes = apiVersion >= 3 ? req.maxBytes : 0x7fffffff;
  const isolation = req.isolationLevel;
  let outcome = readAll(broker, entries, maxBytes, isolation, replicaId);
  if (outcome.bytes >= req.minBytes || req.maxWaitMs <= 0 || outcome.hasError || entries.length === 0) {
    if (replicaId < 0) countBytesOut(broker, outcome);
    return buildResponse(outcome, usesTopicIds, sessionId, incremental);
  }
  // Long poll: wait for appends to any of these partitions, or the deadline.
  outcome = await new Promise<ReadOutcome>((resolve) => {
    const partitions = new Set<Partition>();
    for (const e of entries) {
      const p = broker.replicas.getPartition(e.topicId, e.partition);
      if (p) partitions.add(p);
    }
    let checkScheduled = false;
    let done = false;
    const finish = (result: ReadOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const p of partitions) p.waiters.delete(wake);
      resolve(result);
    };
    const check = (): void => {
      checkScheduled = false;
      if (done) return;
      const r = readAll(broker, entries, maxBytes, isolation, replicaId);
      if (r.bytes >= req.minBytes || r.hasError) finish(r);
    };
    const wake = (): void => {
      if (checkScheduled || done) return;
      checkScheduled = true;
      setImmediate(check);
    };
    const timer = setTimeout(() => finish(readAll(broker, entries, maxBytes, isolation, replicaId)), req.maxWaitMs);
    for (const p of partitions) p.waiters.add(wake);
  });
  if (replicaId < 0) countBytesOut(broker, outcome);
  return buildResponse(outcome, usesTopicIds, sessionId, incremental);
}

function countBytesOut(broker: BrokerContext, outcome: ReadOutcome): void {
  for (const { entry, data } of outcome.partitions) {
    const n = data.records?.length ?? 0;
    if (n > 0) broker.metrics.bytesOut.inc({ topic: entry.topic }, n);
  }
}

export const fetchHandler = defineHandler({
  apiKey: ApiKey.Fetch,
  // v0-3 imply legacy message formats, dropped in Kafka 4 as well.
  minVersion: 4,
  maxVersion: 17,
  handle: handleFetch,
});
