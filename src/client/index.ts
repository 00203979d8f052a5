// Eddy's client: producer, consumer and admin over protocol/ and records/ only.
export {
  Admin,
  type AdminOptions,
  type AlterConfigOp,
  type ClusterDescription,
  type ConfigEntry,
  type ConfigResourceType,
  type CreateTopicResult,
  type GroupDescription,
  type GroupListing,
  type GroupMemberDescription,
  type NewTopic,
  type PartitionOffsets,
  type TopicDescription,
} from './admin.js';
export {
  type BrokerNode,
  type ClientOptions,
  Cluster,
  type PartitionMetadata,
  type TopicMetadata,
} from './cluster.js';
export type { CompressionName } from './compression.js';
export {
  type AuthenticateHook,
  Connection,
  type ConnectionOptions,
  defaultSocketFactory,
  type RequestOptions,
  type SocketFactory,
} from './connection.js';
export {
  type AssignContext,
  type Assignor,
  BUILTIN_ASSIGNORS,
  cooperativeStickyAssignor,
  type GroupAssignment,
  type MemberSubscription,
  type RebalanceProtocol,
  rangeAssignor,
  roundRobinAssignor,
  stickyAssignor,
  type TopicPartition,
} from './consumer/assignors.js';
export {
  Consumer,
  type ConsumerOptions,
  type EachBatchPayload,
  type EachMessagePayload,
  type MessageBatch,
  type OffsetResetPolicy,
  type RebalanceListener,
  type RunOptions,
} from './consumer/consumer.js';
export type { Message, MessageHeaders } from './consumer/decode.js';
export {
  AbortError,
  ClientClosedError,
  ClientError,
  ConfigError,
  ConnectionError,
  KafkaError,
  ProtocolError,
  RequestTimeoutError,
  RetriesExhaustedError,
} from './errors.js';
export { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, type OffsetAndTimestamp } from './offsets.js';
export { murmur2, type Partitioner, type PartitionerArgs, partitionForKey } from './partitioner.js';
export type { HeaderValue, RecordHeaders } from './producer/batch-builder.js';
export {
  type Acks,
  type MessageValue,
  Producer,
  type ProducerOptions,
  type ProducerRecord,
  type RecordMetadata,
} from './producer/producer.js';
export { saslPlain, tlsSocketFactory } from './security.js';
export { consoleLogger, type Logger, type LogLevel, silentLogger } from './util.js';
