// Metadata snapshots: the records that rebuild an image from nothing (the inverse of
// MetadataDelta.replay), written by the Raft layer as a KIP-630 snapshot, and the way back.
import {
  defaultConfigRecord,
  defaultFeatureLevelRecord,
  defaultPartitionRecord,
  defaultProducerIdsRecord,
  defaultRegisterBrokerRecord,
  defaultRegisterBrokerRecordBrokerEndpoint,
  defaultTopicRecord,
} from '../protocol/generated/metadata/index.js';
import { EMPTY_IMAGE, MetadataDelta, type MetadataImage } from './image.js';
import type { MetadataRecord } from './records.js';

/**
 * Records that, replayed in order into the empty image, give back `image`: features first (the
 * metadata version governs the rest), then brokers, topics with their partitions, configs, and
 * the producer id block.
 */
export function imageToRecords(image: MetadataImage): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const [name, level] of [...image.features].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    out.push({ type: 'FeatureLevel', record: { ...defaultFeatureLevelRecord(), name, featureLevel: level } });
  }
  for (const b of [...image.brokers.values()].sort((x, y) => x.id - y.id)) {
    out.push({
      type: 'RegisterBroker',
      record: {
        ...defaultRegisterBrokerRecord(),
        brokerId: b.id,
        brokerEpoch: b.epoch,
        incarnationId: b.incarnationId,
        endPoints: b.endpoints.map((e) => ({
          ...defaultRegisterBrokerRecordBrokerEndpoint(),
          name: e.name,
          host: e.host,
          port: e.port,
          securityProtocol: e.securityProtocol,
        })),
        rack: b.rack,
        fenced: b.fenced,
        inControlledShutdown: b.inControlledShutdown,
      },
    });
  }
  for (const t of [...image.topicsById.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    out.push({ type: 'Topic', record: { ...defaultTopicRecord(), name: t.name, topicId: t.id } });
    t.partitions.forEach((p, partitionId) => {
      out.push({
        type: 'Partition',
        record: {
          ...defaultPartitionRecord(),
          partitionId,
          topicId: t.id,
          replicas: [...p.replicas],
          isr: [...p.isr],
          removingReplicas: [...p.removingReplicas],
          addingReplicas: [...p.addingReplicas],
          leader: p.leader,
          leaderRecoveryState: p.leaderRecoveryState,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
        },
      });
    });
  }
  for (const [key, entries] of [...image.configs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const slash = key.indexOf('/');
    const resourceType = Number(key.slice(0, slash));
    const resourceName = key.slice(slash + 1);
    for (const [name, value] of entries) {
      out.push({ type: 'Config', record: { ...defaultConfigRecord(), resourceType, resourceName, name, value } });
    }
  }
  if (image.nextProducerId > 0) {
    out.push({
      type: 'ProducerIds',
      record: { ...defaultProducerIdsRecord(), brokerId: -1, brokerEpoch: -1, nextProducerId: image.nextProducerId },
    });
  }
  return out;
}

/** The image a snapshot describes, as of `lastContainedOffset`. */
export function imageFromSnapshot(records: readonly MetadataRecord[], lastContainedOffset: number): MetadataImage {
  const delta = new MetadataDelta(EMPTY_IMAGE);
  for (const r of records) delta.replay(r, lastContainedOffset);
  const { image } = delta.apply();
  return { ...image, offset: lastContainedOffset };
}
