// The in-memory picture of cluster metadata, rebuilt by replaying metadata records.
// An image is never mutated: a MetadataDelta replays records over a base image and
// produces the next image, sharing every unchanged topic.
import { ZERO_UUID } from '../protocol/codec.js';
import type { MetadataRecord } from './records.js';

export const NO_LEADER = -1;
/** PartitionChangeRecord.leader value meaning "leader unchanged". */
export const NO_LEADER_CHANGE = -2;

export interface PartitionRegistration {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly removingReplicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly leader: number;
  readonly leaderRecoveryState: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface TopicImage {
  readonly name: string;
  readonly id: string;
  /** Partitions indexed by partition id (dense: 0..n-1). */
  readonly partitions: readonly PartitionRegistration[];
}

export interface BrokerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: number;
}

export interface BrokerRegistration {
  readonly id: number;
  readonly epoch: number;
  readonly incarnationId: string;
  readonly endpoints: readonly BrokerEndpoint[];
  readonly rack: string | null;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface MetadataImage {
  /** Offset of the last record applied; -1 for the empty image. */
  readonly offset: number;
  readonly features: ReadonlyMap<string, number>;
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  /** Config overrides by resource key (see configKey). */
  readonly configs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** The next producer id block start (from ProducerIdsRecord). */
  readonly nextProducerId: number;
}

export const EMPTY_IMAGE: MetadataImage = {
  offset: -1,
  features: new Map(),
  brokers: new Map(),
  topicsById: new Map(),
  topicsByName: new Map(),
  configs: new Map(),
  nextProducerId: 0,
};

export function configKey(resourceType: number, resourceName: string): string {
  return `${resourceType}/${resourceName}`;
}

const EMPTY_CONFIG: ReadonlyMap<string, string> = new Map();

export function configsOf(
  image: MetadataImage,
  resourceType: number,
  resourceName: string,
): ReadonlyMap<string, string> {
  return image.configs.get(configKey(resourceType, resourceName)) ?? EMPTY_CONFIG;
}

/** What a delta changed, for listeners that act on metadata (replica manager, coordinators). */
export interface MetadataChanges {
  createdTopics: TopicImage[];
  deletedTopics: TopicImage[];
  /** Topics whose partitions changed (including new partitions), with the new image of each. */
  changedTopics: TopicImage[];
  changedConfigs: string[];
  brokersChanged: boolean;
}

export class MetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataError';
  }
}

export class MetadataDelta {
  private readonly base: MetadataImage;
  private offset: number;
  private features: Map<string, number> | null = null;
  private brokers: Map<number, BrokerRegistration> | null = null;
  private topicsById: Map<string, TopicImage> | null = null;
  private configs: Map<string, ReadonlyMap<string, string>> | null = null;
  private nextProducerId: number;
  private readonly created = new Map<string, TopicImage>();
  private readonly deleted = new Map<string, TopicImage>();
  private readonly changed = new Set<string>();
  private readonly changedConfigs = new Set<string>();
  private brokersChanged = false;

  constructor(base: MetadataImage) {
    this.base = base;
    this.offset = base.offset;
    this.nextProducerId = base.nextProducerId;
  }

  private topics(): Map<string, TopicImage> {
    this.topicsById ??= new Map(this.base.topicsById);
    return this.topicsById;
  }

  private brokerMap(): Map<number, BrokerRegistration> {
    this.brokers ??= new Map(this.base.brokers);
    this.brokersChanged = true;
    return this.brokers;
  }

  currentTopic(id: string): TopicImage | undefined {
    return (this.topicsById ?? this.base.topicsById).get(id);
  }

  replay(rec: MetadataRecord, offset: number): void {
    this.offset = offset;
    switch (rec.type) {
      case 'Topic': {
        const r = rec.record;
        if (r.topicId === ZERO_UUID) throw new MetadataError('TopicRecord with a zero topic id');
        const t: TopicImage = { name: r.name, id: r.topicId, partitions: [] };
        this.topics().set(r.topicId, t);
        this.created.set(r.topicId, t);
        this.changed.add(r.topicId);
        break;
      }
      case 'Partition': {
        const r = rec.record;
        const t = this.currentTopic(r.topicId);
        if (!t) throw new MetadataError(`PartitionRecord for unknown topic ${r.topicId}`);
        const parts = t.partitions.slice();
        parts[r.partitionId] = {
          replicas: r.replicas,
          isr: r.isr,
          removingReplicas: r.removingReplicas,
          addingReplicas: r.addingReplicas,
          leader: r.leader,
          leaderRecoveryState: r.leaderRecoveryState,
          leaderEpoch: r.leaderEpoch,
          partitionEpoch: r.partitionEpoch,
        };
        this.topics().set(r.topicId, { ...t, partitions: parts });
        this.changed.add(r.topicId);
        break;
      }
      case 'PartitionChange': {
        const r = rec.record;
        const t = this.currentTopic(r.topicId);
        const prev = t?.partitions[r.partitionId];
        if (!t || !prev)
          throw new MetadataError(`PartitionChangeRecord for unknown partition ${r.topicId}-${r.partitionId}`);
        const leaderChanged = r.leader !== NO_LEADER_CHANGE;
        const next: PartitionRegistration = {
          replicas: r.replicas ?? prev.replicas,
          isr: r.isr ?? prev.isr,
          removingReplicas: r.removingReplicas ?? prev.removingReplicas,
          addingReplicas: r.addingReplicas ?? prev.addingReplicas,
          leader: leaderChanged ? r.leader : prev.leader,
          leaderRecoveryState: r.leaderRecoveryState === -1 ? prev.leaderRecoveryState : r.leaderRecoveryState,
          leaderEpoch: leaderChanged ? prev.leaderEpoch + 1 : prev.leaderEpoch,
          partitionEpoch: prev.partitionEpoch + 1,
        };
        const parts = t.partitions.slice();
        parts[r.partitionId] = next;
        this.topics().set(r.topicId, { ...t, partitions: parts });
        this.changed.add(r.topicId);
        break;
      }
      case 'RemoveTopic': {
        const t = this.currentTopic(rec.record.topicId);
        if (!t) throw new MetadataError(`RemoveTopicRecord for unknown topic ${rec.record.topicId}`);
        this.topics().delete(t.id);
        if (this.created.has(t.id)) this.created.delete(t.id);
        else this.deleted.set(t.id, t);
        this.changed.delete(t.id);
        // Topic configs go with the topic.
        const key = configKey(2, t.name);
        if ((this.configs ?? this.base.configs).has(key)) {
          this.configs ??= new Map(this.base.configs);
          this.configs.delete(key);
          this.changedConfigs.add(key);
        }
        break;
      }
      case 'Config': {
        const r = rec.record;
        const key = configKey(r.resourceType, r.resourceName);
        this.configs ??= new Map(this.base.configs);
        const next = new Map(this.configs.get(key) ?? EMPTY_CONFIG);
        if (r.value === null) next.delete(r.name);
        else next.set(r.name, r.value);
        if (next.size === 0) this.configs.delete(key);
        else this.configs.set(key, next);
        this.changedConfigs.add(key);
        break;
      }
      case 'RegisterBroker': {
        const r = rec.record;
        this.brokerMap().set(r.brokerId, {
          id: r.brokerId,
          epoch: r.brokerEpoch,
          incarnationId: r.incarnationId,
          endpoints: r.endPoints.map((e) => ({
            name: e.name,
            host: e.host,
            port: e.port,
            securityProtocol: e.securityProtocol,
          })),
          rack: r.rack,
          fenced: r.fenced,
          inControlledShutdown: r.inControlledShutdown,
        });
        break;
      }
      case 'UnregisterBroker': {
        this.brokerMap().delete(rec.record.brokerId);
        break;
      }
      case 'FenceBroker':
      case 'UnfenceBroker': {
        const map = this.brokerMap();
        const b = map.get(rec.record.id);
        if (b && b.epoch === rec.record.epoch) {
          map.set(b.id, { ...b, fenced: rec.type === 'FenceBroker' });
        }
        break;
      }
      case 'BrokerRegistrationChange': {
        const r = rec.record;
        const map = this.brokerMap();
        const b = map.get(r.brokerId);
        if (b && b.epoch === r.brokerEpoch) {
          map.set(b.id, {
            ...b,
            fenced: r.fenced === 1 ? true : r.fenced === -1 ? false : b.fenced,
            inControlledShutdown: r.inControlledShutdown === 1 ? true : b.inControlledShutdown,
          });
        }
        break;
      }
      case 'FeatureLevel': {
        this.features ??= new Map(this.base.features);
        if (rec.record.featureLevel === 0) this.features.delete(rec.record.name);
        else this.features.set(rec.record.name, rec.record.featureLevel);
        break;
      }
      case 'ProducerIds': {
        this.nextProducerId = rec.record.nextProducerId;
        break;
      }
      case 'NoOp':
        break;
    }
  }

  apply(): { image: MetadataImage; changes: MetadataChanges } {
    const topicsById = this.topicsById ?? this.base.topicsById;
    let topicsByName = this.base.topicsByName;
    if (this.topicsById) {
      const byName = new Map<string, TopicImage>();
      for (const t of topicsById.values()) byName.set(t.name, t);
      topicsByName = byName;
    }
    const image: MetadataImage = {
      offset: this.offset,
      features: this.features ?? this.base.features,
      brokers: this.brokers ?? this.base.brokers,
      topicsById,
      topicsByName,
      configs: this.configs ?? this.base.configs,
      nextProducerId: this.nextProducerId,
    };
    const changedTopics: TopicImage[] = [];
    for (const id of this.changed) {
      const t = topicsById.get(id);
      if (t) changedTopics.push(t);
    }
    const createdTopics: TopicImage[] = [];
    for (const id of this.created.keys()) {
      const t = topicsById.get(id);
      if (t) createdTopics.push(t);
    }
    return {
      image,
      changes: {
        createdTopics,
        deletedTopics: [...this.deleted.values()],
        changedTopics,
        changedConfigs: [...this.changedConfigs],
        brokersChanged: this.brokersChanged,
      },
    };
  }
}

/** Live brokers (registered, unfenced, not shutting down), sorted by id. */
export function liveBrokers(image: MetadataImage): BrokerRegistration[] {
  return [...image.brokers.values()].filter((b) => !b.fenced && !b.inControlledShutdown).sort((a, b) => a.id - b.id);
}
