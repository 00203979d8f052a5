// kafka-python 2.0.2, a pure-Python client nobody here wrote, against Eddy: topics created
// with its KafkaAdminClient, the codecs it can use here, its default (murmur2) partitioner,
// a 5 MiB record, 1000 partitions, seeks by position and time, describe/alter configs.
import { describePythonClient } from './native-support.js';

// gzip is built in; snappy, lz4 and zstd need Debian's python3-snappy, python3-lz4 and
// python3-zstandard, which .ci/run installs. Without them these codec tests fail: they are
// not skipped.

describePythonClient({
  driver: 'kp',
  name: 'kafka-python',
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  producerConfig: {},
  bigProducerConfig: { max_request_size: 8 * 1024 * 1024 },
  bigConsumerConfig: { fetch_max_bytes: 16 * 1024 * 1024, max_partition_fetch_bytes: 16 * 1024 * 1024 },
  // DescribeConfigs v1 config_source numbers, as kafka-python passes them through.
  configSources: { dynamicTopic: 1, staticBroker: 4, default: 5 },
});
