// What brokers need from the active controller. The Controller class implements it in
// process; a remote implementation forwards to the active controller over the network.
import type {
  AlterPartitionInput,
  AlterPartitionResult,
  BrokerRegistrationInput,
  CreateTopicResult,
  CreateTopicSpec,
  HeartbeatInput,
  HeartbeatResult,
  OpError,
} from '../metadata/controller.js';
import type { TopicImage } from '../metadata/image.js';

export interface ControllerApi {
  createTopics(specs: CreateTopicSpec[], validateOnly: boolean): Promise<CreateTopicResult[]>;
  deleteTopics(ids: string[]): Promise<(OpError & { topic: TopicImage | null })[]>;
  createPartitions(
    specs: { name: string; count: number; assignments: number[][] | null }[],
    validateOnly: boolean,
  ): Promise<(OpError & { name: string })[]>;
  alterConfigs(
    changes: { resourceType: number; resourceName: string; set: Map<string, string | null>; replaceAll: boolean }[],
    validateOnly: boolean,
  ): Promise<OpError[]>;
  allocateProducerIds(brokerId: number, brokerEpoch: number): Promise<{ start: number; length: number }>;
  electLeaders(
    electionType: number,
    partitions: { topic: string; partitions: number[] }[] | null,
  ): Promise<{ topic: string; partitionId: number; errorCode: number; errorMessage: string | null }[]>;
  registerBroker(req: BrokerRegistrationInput): Promise<{ errorCode: number; brokerEpoch: number }>;
  brokerHeartbeat(req: HeartbeatInput): Promise<HeartbeatResult>;
  alterPartition(req: AlterPartitionInput): Promise<AlterPartitionResult>;
  alterPartitionReassignments(
    reqs: { topic: string; partition: number; replicas: number[] | null }[],
  ): Promise<{ topic: string; partition: number; errorCode: number; errorMessage: string | null }[]>;
  listPartitionReassignments(
    filter: { topic: string; partitions: number[] }[] | null,
  ):
    | { topic: string; partition: number; replicas: number[]; adding: number[]; removing: number[] }[]
    | Promise<{ topic: string; partition: number; replicas: number[]; adding: number[]; removing: number[] }[]>;
}
