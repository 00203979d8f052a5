// imageToRecords is the inverse of replay: the records it writes rebuild an equal image, for
// images built from random histories of metadata changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EMPTY_IMAGE, MetadataDelta, type MetadataImage } from '../../src/metadata/image.js';
import { decodeMetadataRecord, encodeMetadataRecord, type MetadataRecord } from '../../src/metadata/records.js';
import { imageFromSnapshot, imageToRecords } from '../../src/metadata/snapshot.js';
import {
  defaultConfigRecord,
  defaultFeatureLevelRecord,
  defaultFenceBrokerRecord,
  defaultPartitionChangeRecord,
  defaultPartitionRecord,
  defaultProducerIdsRecord,
  defaultRegisterBrokerRecord,
  defaultRegisterBrokerRecordBrokerEndpoint,
  defaultRemoveTopicRecord,
  defaultTopicRecord,
  defaultUnregisterBrokerRecord,
} from '../../src/protocol/generated/metadata/index.js';

/** A valid, nonzero 16-byte id for `i`. */
function topicId(i: number): string {
  const b = Buffer.alloc(16);
  b[0] = 0x40;
  b.writeUInt32BE(i + 1, 12);
  return b.toString('base64url');
}

/** A random but valid history of metadata changes. */
function historyArb(): fc.Arbitrary<MetadataRecord[]> {
  const step = fc.tuple(fc.nat(12), fc.nat(1000), fc.nat(1000), fc.nat(1000));
  return fc.array(step, { maxLength: 80 }).map((steps) => {
    const out: MetadataRecord[] = [];
    const topics = new Map<string, { name: string; partitions: number }>();
    const brokers = new Map<number, number>();
    let nextTopic = 0;
    for (const [kind, a, b, c] of steps) {
      const ids = [...topics.keys()];
      switch (kind) {
        case 0:
        case 1: {
          const id = topicId(nextTopic++);
          const name = `t${nextTopic}-${a}`;
          out.push({ type: 'Topic', record: { ...defaultTopicRecord(), name, topicId: id } });
          const n = 1 + (b % 3);
          for (let p = 0; p < n; p++) {
            out.push({
              type: 'Partition',
              record: {
                ...defaultPartitionRecord(),
                partitionId: p,
                topicId: id,
                replicas: [1, 2, 3].slice(0, 1 + (c % 3)),
                isr: [1, 2].slice(0, 1 + (c % 2)),
                leader: 1 + (c % 2),
                leaderEpoch: c % 7,
                partitionEpoch: b % 5,
              },
            });
          }
          topics.set(id, { name, partitions: n });
          break;
        }
        case 2:
          if (ids.length > 0) {
            const id = ids[a % ids.length]!;
            out.push({
              type: 'PartitionChange',
              record: {
                ...defaultPartitionChangeRecord(),
                topicId: id,
                partitionId: b % topics.get(id)!.partitions,
                isr: c % 2 === 0 ? [1] : null,
                leader: c % 3 === 0 ? -2 : 1 + (c % 3),
              },
            });
          }
          break;
        case 3:
          if (ids.length > 0) {
            const id = ids[a % ids.length]!;
            out.push({ type: 'RemoveTopic', record: { ...defaultRemoveTopicRecord(), topicId: id } });
            topics.delete(id);
          }
          break;
        case 4:
        case 5: {
          const id = a % 5;
          const epoch = b;
          brokers.set(id, epoch);
          out.push({
            type: 'RegisterBroker',
            record: {
              ...defaultRegisterBrokerRecord(),
              brokerId: id,
              brokerEpoch: epoch,
              incarnationId: topicId(9000 + c),
              endPoints: [
                {
                  ...defaultRegisterBrokerRecordBrokerEndpoint(),
                  name: 'PLAINTEXT',
                  host: `h${id}`,
                  port: 9000 + id,
                  securityProtocol: 0,
                },
              ],
              rack: c % 2 === 0 ? null : `rack-${c % 3}`,
              fenced: c % 3 === 0,
            },
          });
          break;
        }
        case 6: {
          const ids2 = [...brokers.keys()];
          if (ids2.length > 0) {
            const id = ids2[a % ids2.length]!;
            out.push({ type: 'FenceBroker', record: { ...defaultFenceBrokerRecord(), id, epoch: brokers.get(id)! } });
          }
          break;
        }
        case 7: {
          const ids2 = [...brokers.keys()];
          if (ids2.length > 0) {
            const id = ids2[a % ids2.length]!;
            out.push({ type: 'UnregisterBroker', record: { ...defaultUnregisterBrokerRecord(), brokerId: id } });
            brokers.delete(id);
          }
          break;
        }
        case 8:
        case 9: {
          const onTopic = ids.length > 0 && a % 2 === 0;
          out.push({
            type: 'Config',
            record: {
              ...defaultConfigRecord(),
              resourceType: onTopic ? 2 : 4,
              resourceName: onTopic ? topics.get(ids[b % ids.length]!)!.name : b % 2 === 0 ? '' : '1',
              name: `k${c % 4}`,
              value: c % 5 === 0 ? null : `v${c}`,
            },
          });
          break;
        }
        case 10:
          out.push({
            type: 'FeatureLevel',
            record: { ...defaultFeatureLevelRecord(), name: `f${a % 3}`, featureLevel: b % 4 },
          });
          break;
        case 11:
          out.push({
            type: 'ProducerIds',
            record: { ...defaultProducerIdsRecord(), brokerId: 1, nextProducerId: 1000 * (a + 1) },
          });
          break;
        default:
          out.push({ type: 'NoOp', record: {} });
      }
    }
    return out;
  });
}

function replay(records: readonly MetadataRecord[]): MetadataImage {
  const delta = new MetadataDelta(EMPTY_IMAGE);
  for (const [i, r] of records.entries()) delta.replay(r, i);
  return delta.apply().image;
}

/** A plain, order-independent picture of an image for deep comparison. */
function picture(image: MetadataImage): unknown {
  const sortedEntries = <K, V>(m: ReadonlyMap<K, V>, f: (v: V) => unknown) =>
    [...m.entries()].map(([k, v]) => [k, f(v)]).sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1));
  return {
    offset: image.offset,
    features: sortedEntries(image.features, (v) => v),
    brokers: sortedEntries(image.brokers, (v) => v),
    topicsById: sortedEntries(image.topicsById, (v) => v),
    topicsByName: sortedEntries(image.topicsByName, (v) => v.id),
    configs: sortedEntries(image.configs, (v) => sortedEntries(v, (x) => x)),
    nextProducerId: image.nextProducerId,
  };
}

describe('metadata snapshots', () => {
  it('replaying imageToRecords rebuilds an equal image', () => {
    fc.assert(
      fc.property(historyArb(), (history) => {
        const image = replay(history);
        const records = imageToRecords(image);
        const rebuilt = imageFromSnapshot(records, image.offset);
        assert.deepEqual(picture(rebuilt), picture(image));
      }),
      { numRuns: 300 },
    );
  });

  it('its records survive the metadata record serde', () => {
    fc.assert(
      fc.property(historyArb(), (history) => {
        const records = imageToRecords(replay(history));
        const again = records.map((r) => decodeMetadataRecord(encodeMetadataRecord(r)));
        assert.deepEqual(picture(imageFromSnapshot(again, 5)), picture(imageFromSnapshot(records, 5)));
      }),
      { numRuns: 100 },
    );
  });

  it('writes nothing for the empty image', () => {
    assert.deepEqual(imageToRecords(EMPTY_IMAGE), []);
  });
});
