// The services a request handler can reach. Handlers depend on this interface, not on the
// Broker class, so they stay small and testable.
import type { GroupCoordinator } from '../coordinator/group/coordinator.js';
import type { Controller } from '../metadata/controller.js';
import type { MetadataImage } from '../metadata/image.js';
import type { MetadataLog } from '../metadata/log.js';
import type { RaftMetadataLog } from '../raft/raft-metadata-log.js';
import type { LogManager } from '../storage/index.js';
import type { BrokerMetrics } from './broker-metrics.js';
import type { BrokerConfig } from './config.js';
import type { ControllerApi } from './controller-api.js';
import type { FetchSessionCache } from './fetch-session.js';
import type { ReplicaManager } from './replica-manager.js';

export interface BrokerContext {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly config: BrokerConfig;
  readonly controller: ControllerApi;
  readonly metadataLog: MetadataLog;
  readonly replicas: ReplicaManager;
  readonly logs: LogManager;
  readonly fetchSessions: FetchSessionCache;
  readonly groups: GroupCoordinator;
  readonly metrics: BrokerMetrics;
  readonly clock: () => number;
  /** The latest metadata image this broker has applied. */
  image(): MetadataImage;
  /** Resolves once the local image (and hosted logs) reflect metadata up to `offset`. */
  awaitMetadata(offset: number): Promise<void>;
  /** The versions this broker implements, for ApiVersions. */
  supportedApis(): { apiKey: number; minVersion: number; maxVersion: number }[];
  /**
   * The `__consumer_offsets` partition coordinating a group and its leader, creating the
   * topic on first use; null when no leader is available.
   */
  groupCoordinatorPartition(groupId: string): Promise<{ partition: number; leader: number } | null>;
  /** The controller when this node is the active one (it serves controller RPCs), else null. */
  activeController(): Controller | null;
  /** Ties a broker's controller session to a connection: if it closes, the broker is fenced soon. */
  bindBrokerSession(brokerId: number, connectionId: number): void;
  /** A new producer id for an idempotent producer (from blocks reserved through the controller). */
  allocateProducerId(): Promise<number>;
  /** Resolves once the local image satisfies `predicate`, or after `timeoutMs` (forwarded changes). */
  awaitImage(predicate: (image: MetadataImage) => boolean, timeoutMs?: number): Promise<void>;
  /** The Raft metadata log, in quorum mode. */
  raft(): RaftMetadataLog | null;
  /** Creates missing topics with the broker defaults (auto.create.topics.enable). */
  autoCreateTopics(names: string[]): Promise<void>;
}
