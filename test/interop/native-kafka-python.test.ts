// kafka-python 2.0.2, a pure-Python client nobody here wrote, against Eddy: topics created
// with its KafkaAdminClient, the codecs it can use here, its default (murmur2) partitioner,
// a 5 MiB record, 1000 partitions, seeks by position and time, describe/alter configs.
import { spawnSync } from 'node:child_process';
import { describePythonClient, PYTHON } from './native-support.js';

// gzip is built in; snappy, lz4 and zstd need Debian's python3-snappy, python3-lz4 and
// python3-zstandard (all three pass here when installed). Each codec whose module imports is
// tested; without its module kafka-python cannot use a codec at all.
const OPTIONAL_CODECS: [codec: string, module: string][] = [
  ['snappy', 'snappy'],
  ['lz4', 'lz4.frame'],
  ['zstd', 'zstandard'],
];
const usable = OPTIONAL_CODECS.filter(([, module]) => spawnSync(PYTHON, ['-c', `import ${module}`]).status === 0);

describePythonClient({
  driver: 'kp',
  name: 'kafka-python',
  codecs: ['none', 'gzip', ...usable.map(([codec]) => codec)],
  producerConfig: {},
  bigProducerConfig: { max_request_size: 8 * 1024 * 1024 },
  bigConsumerConfig: { fetch_max_bytes: 16 * 1024 * 1024, max_partition_fetch_bytes: 16 * 1024 * 1024 },
  // DescribeConfigs v1 config_source numbers, as kafka-python passes them through.
  configSources: { dynamicTopic: 1, staticBroker: 4, default: 5 },
});
