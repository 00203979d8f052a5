// The API versions this client implements, and negotiation against a broker's ApiVersions.
import { ApiKey } from '../protocol/generated/apis.js';

export interface VersionRange {
  min: number;
  max: number;
}

/**
 * Highest version of each API the client knows how to use. Lower bounds are what the
 * client can still speak (RecordBatch v2 needs Produce v3 / Fetch v4).
 */
export const CLIENT_VERSIONS: Readonly<Partial<Record<number, VersionRange>>> = {
  [ApiKey.Produce]: { min: 3, max: 11 },
  // v13+ address topics by id; names are enough for us and keep fetch sessions simple.
  [ApiKey.Fetch]: { min: 4, max: 12 },
  [ApiKey.ListOffsets]: { min: 1, max: 9 },
  [ApiKey.Metadata]: { min: 1, max: 12 },
  [ApiKey.OffsetCommit]: { min: 2, max: 9 },
  // v8+ batch several groups in one request; one group per request is what we need.
  [ApiKey.OffsetFetch]: { min: 1, max: 7 },
  [ApiKey.FindCoordinator]: { min: 0, max: 6 },
  [ApiKey.JoinGroup]: { min: 0, max: 9 },
  [ApiKey.Heartbeat]: { min: 0, max: 4 },
  [ApiKey.LeaveGroup]: { min: 0, max: 5 },
  [ApiKey.SyncGroup]: { min: 0, max: 5 },
  [ApiKey.DescribeGroups]: { min: 0, max: 5 },
  [ApiKey.ListGroups]: { min: 0, max: 5 },
  [ApiKey.SaslHandshake]: { min: 0, max: 1 },
  [ApiKey.ApiVersions]: { min: 0, max: 3 },
  [ApiKey.CreateTopics]: { min: 0, max: 7 },
  [ApiKey.DeleteTopics]: { min: 0, max: 6 },
  [ApiKey.DeleteRecords]: { min: 0, max: 2 },
  [ApiKey.InitProducerId]: { min: 0, max: 5 },
  [ApiKey.DescribeConfigs]: { min: 0, max: 4 },
  [ApiKey.AlterConfigs]: { min: 0, max: 2 },
  [ApiKey.SaslAuthenticate]: { min: 0, max: 2 },
  [ApiKey.CreatePartitions]: { min: 0, max: 3 },
  [ApiKey.DeleteGroups]: { min: 0, max: 2 },
  [ApiKey.IncrementalAlterConfigs]: { min: 0, max: 1 },
  [ApiKey.OffsetDelete]: { min: 0, max: 0 },
  [ApiKey.DescribeCluster]: { min: 0, max: 1 },
};

/** The highest version both sides support, or -1 when the ranges do not overlap. */
export function negotiateVersion(client: VersionRange | undefined, broker: VersionRange | undefined): number {
  if (client === undefined || broker === undefined) return -1;
  const v = Math.min(client.max, broker.max);
  return v >= Math.max(client.min, broker.min) ? v : -1;
}
