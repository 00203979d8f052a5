// Helpers shared by request handlers.

import { type BrokerRegistration, liveBrokers, type MetadataImage, type TopicImage } from '../../metadata/image.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Partition } from '../replica-manager.js';

/** The endpoint a broker publishes on the listener a client connected through. */
export function endpointFor(b: BrokerRegistration, listenerName: string): { host: string; port: number } | null {
  const e = b.endpoints.find((x) => x.name === listenerName) ?? null;
  return e ? { host: e.host, port: e.port } : null;
}

/** Live brokers as clients see them on this listener. */
export function brokersForListener(
  image: MetadataImage,
  listenerName: string,
): { nodeId: number; host: string; port: number; rack: string | null }[] {
  const out: { nodeId: number; host: string; port: number; rack: string | null }[] = [];
  for (const b of liveBrokers(image)) {
    const e = endpointFor(b, listenerName);
    if (e) out.push({ nodeId: b.id, host: e.host, port: e.port, rack: b.rack });
  }
  return out;
}

/**
 * Checks a request's current leader epoch against the partition's (KIP-320): -1 skips the
 * check; older epochs are fenced; newer ones mean this broker is behind.
 */
export function leaderEpochError(p: Partition, currentLeaderEpoch: number): number {
  if (currentLeaderEpoch === -1) return ErrorCode.NONE;
  if (currentLeaderEpoch < p.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (currentLeaderEpoch > p.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  return ErrorCode.NONE;
}

export function topicByName(image: MetadataImage, name: string): TopicImage | undefined {
  return image.topicsByName.get(name);
}

/** All operations bits for authorized-operations fields (no ACLs yet: everything allowed). */
export const TOPIC_ALL_OPERATIONS =
  (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
export const CLUSTER_ALL_OPERATIONS = (1 << 4) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
