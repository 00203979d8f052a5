// Metadata log records: the typed union the controller writes and the image replays, and
// their serde (frame version, api key and version as unsigned varints, then the body).
import { DecodeError, Reader, Writer } from '../protocol/codec.js';
import {
  type BrokerRegistrationChangeRecord,
  type ConfigRecord,
  decodeBrokerRegistrationChangeRecord,
  decodeConfigRecord,
  decodeFeatureLevelRecord,
  decodeFenceBrokerRecord,
  decodeNoOpRecord,
  decodePartitionChangeRecord,
  decodePartitionRecord,
  decodeProducerIdsRecord,
  decodeRegisterBrokerRecord,
  decodeRemoveTopicRecord,
  decodeTopicRecord,
  decodeUnfenceBrokerRecord,
  decodeUnregisterBrokerRecord,
  encodeBrokerRegistrationChangeRecord,
  encodeConfigRecord,
  encodeFeatureLevelRecord,
  encodeFenceBrokerRecord,
  encodeNoOpRecord,
  encodePartitionChangeRecord,
  encodePartitionRecord,
  encodeProducerIdsRecord,
  encodeRegisterBrokerRecord,
  encodeRemoveTopicRecord,
  encodeTopicRecord,
  encodeUnfenceBrokerRecord,
  encodeUnregisterBrokerRecord,
  type FeatureLevelRecord,
  type FenceBrokerRecord,
  type NoOpRecord,
  type PartitionChangeRecord,
  type PartitionRecord,
  type ProducerIdsRecord,
  type RegisterBrokerRecord,
  type RemoveTopicRecord,
  type TopicRecord,
  type UnfenceBrokerRecord,
  type UnregisterBrokerRecord,
} from '../protocol/generated/metadata/index.js';

export type MetadataRecord =
  | { type: 'RegisterBroker'; record: RegisterBrokerRecord }
  | { type: 'UnregisterBroker'; record: UnregisterBrokerRecord }
  | { type: 'Topic'; record: TopicRecord }
  | { type: 'Partition'; record: PartitionRecord }
  | { type: 'Config'; record: ConfigRecord }
  | { type: 'PartitionChange'; record: PartitionChangeRecord }
  | { type: 'FenceBroker'; record: FenceBrokerRecord }
  | { type: 'UnfenceBroker'; record: UnfenceBrokerRecord }
  | { type: 'BrokerRegistrationChange'; record: BrokerRegistrationChangeRecord }
  | { type: 'RemoveTopic'; record: RemoveTopicRecord }
  | { type: 'FeatureLevel'; record: FeatureLevelRecord }
  | { type: 'ProducerIds'; record: ProducerIdsRecord }
  | { type: 'NoOp'; record: NoOpRecord };

interface Serde {
  apiKey: number;
  version: number;
  encode: (w: Writer, m: never, v: number) => void;
  decode: (r: Reader, v: number) => unknown;
}

const SERDES: Record<MetadataRecord['type'], Serde> = {
  RegisterBroker: { apiKey: 0, version: 3, encode: encodeRegisterBrokerRecord, decode: decodeRegisterBrokerRecord },
  UnregisterBroker: {
    apiKey: 1,
    version: 0,
    encode: encodeUnregisterBrokerRecord,
    decode: decodeUnregisterBrokerRecord,
  },
  Topic: { apiKey: 2, version: 0, encode: encodeTopicRecord, decode: decodeTopicRecord },
  Partition: { apiKey: 3, version: 0, encode: encodePartitionRecord, decode: decodePartitionRecord },
  Config: { apiKey: 4, version: 0, encode: encodeConfigRecord, decode: decodeConfigRecord },
  PartitionChange: {
    apiKey: 5,
    version: 0,
    encode: encodePartitionChangeRecord,
    decode: decodePartitionChangeRecord,
  },
  FenceBroker: { apiKey: 7, version: 0, encode: encodeFenceBrokerRecord, decode: decodeFenceBrokerRecord },
  UnfenceBroker: { apiKey: 8, version: 0, encode: encodeUnfenceBrokerRecord, decode: decodeUnfenceBrokerRecord },
  RemoveTopic: { apiKey: 9, version: 0, encode: encodeRemoveTopicRecord, decode: decodeRemoveTopicRecord },
  BrokerRegistrationChange: {
    apiKey: 17,
    version: 1,
    encode: encodeBrokerRegistrationChangeRecord,
    decode: decodeBrokerRegistrationChangeRecord,
  },
  FeatureLevel: { apiKey: 12, version: 0, encode: encodeFeatureLevelRecord, decode: decodeFeatureLevelRecord },
  ProducerIds: { apiKey: 15, version: 0, encode: encodeProducerIdsRecord, decode: decodeProducerIdsRecord },
  NoOp: { apiKey: 20, version: 0, encode: encodeNoOpRecord, decode: decodeNoOpRecord },
};

const BY_API_KEY = new Map<number, [MetadataRecord['type'], Serde]>(
  (Object.entries(SERDES) as [MetadataRecord['type'], Serde][]).map(([t, s]) => [s.apiKey, [t, s]]),
);

const FRAME_VERSION = 1;

export function encodeMetadataRecord(rec: MetadataRecord): Buffer {
  const serde = SERDES[rec.type];
  const w = new Writer(64);
  w.uvarint(FRAME_VERSION);
  w.uvarint(serde.apiKey);
  w.uvarint(serde.version);
  (serde.encode as (w: Writer, m: unknown, v: number) => void)(w, rec.record, serde.version);
  return w.finish();
}

export function decodeMetadataRecord(buf: Buffer): MetadataRecord {
  const r = new Reader(buf);
  const frame = r.uvarint();
  if (frame !== FRAME_VERSION) throw new DecodeError(`unknown metadata record frame version ${frame}`);
  const apiKey = r.uvarint();
  const version = r.uvarint();
  const entry = BY_API_KEY.get(apiKey);
  if (!entry) throw new DecodeError(`unknown metadata record type ${apiKey}`);
  const [type, serde] = entry;
  const record = serde.decode(r, version);
  return { type, record } as MetadataRecord;
}
