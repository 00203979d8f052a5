// confluent-kafka for Python (librdkafka 2.0.2), a client nobody here wrote, against Eddy:
// topics created with its AdminClient, every codec, murmur2 placement, a 5 MiB record,
// 1000 partitions, seeks by position and time, describe/alter configs.
import { describePythonClient } from './native-support.js';

describePythonClient({
  driver: 'ck',
  name: 'confluent-kafka (Python)',
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  // librdkafka's default is consistent_random (CRC32); murmur2_random matches Java's default.
  producerConfig: { partitioner: 'murmur2_random' },
  bigProducerConfig: { 'message.max.bytes': 8 * 1024 * 1024 },
  bigConsumerConfig: { 'fetch.max.bytes': 16 * 1024 * 1024, 'receive.message.max.bytes': 20 * 1024 * 1024 },
  // librdkafka's ConfigSource enum.
  configSources: { dynamicTopic: 1, staticBroker: 4, default: 5 },
});
