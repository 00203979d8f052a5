// ControllerApi over the network: each call becomes the Kafka request the active controller
// serves (CreateTopics, BrokerHeartbeat, AlterPartition, ...), retried on NOT_CONTROLLER
// while the quorum elects a new leader.

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
import { METADATA_VERSION_FEATURE, METADATA_VERSION_LEVEL } from '../metadata/controller.js';
import type { MetadataImage, TopicImage } from '../metadata/image.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { errorMessage, logger } from '../util/log.js';
import type { ControllerApi } from './controller-api.js';
import { NodeClient } from './inter-broker-client.js';

export interface ControllerEndpoint {
  id: number;
  host: string;
  port: number;
}

/** Parses controller.quorum.voters: `1@host:port,2@host:port`. */
export function parseVoters(text: string): ControllerEndpoint[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const m = /^(\d+)@(\[[^\]]+\]|[^:]+):(\d+)$/.exec(item);
      if (!m) throw new Error(`invalid controller.quorum.voters entry ${JSON.stringify(item)}: expected id@host:port`);
      return { id: Number(m[1]), host: (m[2] as string).replace(/^\[|\]$/g, ''), port: Number(m[3]) };
    });
}

const RETRIES = 40;
const RETRY_BACKOFF_MS = 100;

class NotControllerError extends Error {}

export class RemoteController implements ControllerApi {
  private readonly log = logger('remote-controller');
  private readonly clients = new Map<number, NodeClient>();

  constructor(
    private readonly nodeId: number,
    private readonly voters: ControllerEndpoint[],
    /** The quorum leader as this node knows it (-1 when unknown). */
    private readonly leaderId: () => number,
    private readonly image: () => MetadataImage,
    private readonly requestTimeoutMs = 10_000,
  ) {}

  private client(id: number): NodeClient | null {
    const v = this.voters.find((x) => x.id === id);
    if (!v) return null;
    let c = this.clients.get(id);
    if (!c) {
      c = new NodeClient(v.host, v.port, `eddy-broker-${this.nodeId}`, this.requestTimeoutMs);
      this.clients.set(id, c);
    }
    return c;
  }

  /** Runs `call` against the active controller, retrying while there is none or it moved. */
  private async withController<T>(what: string, call: (c: NodeClient) => Promise<T>): Promise<T> {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const leader = this.leaderId();
      const c = leader >= 0 ? this.client(leader) : null;
      if (c) {
        try {
          return await call(c);
        } catch (err) {
          lastError = err;
          if (!(err instanceof NotControllerError) && !(err instanceof KafkaError)) {
            this.log.debug(`${what} to controller ${leader} failed: ${errorMessage(err)}`);
          }
        }
      }
      await new Promise((r) => setTimeout(r, RETRY_BACKOFF_MS));
    }
    throw new KafkaError(
      ErrorCode.NOT_CONTROLLER,
      `${what}: no active controller answered (${errorMessage(lastError)})`,
    );
  }

  private static check(code: number): void {
    if (code === ErrorCode.NOT_CONTROLLER) throw new NotControllerError('not the controller');
  }

  createTopics(specs: CreateTopicSpec[], validateOnly: boolean): Promise<CreateTopicResult[]> {
    return this.withController('CreateTopics', async (c) => {
      const res = await c.request(ApiKey.CreateTopics, 7, {
        topics: specs.map((s) => ({
          name: s.name,
          numPartitions: s.numPartitions,
          replicationFactor: s.replicationFactor,
          assignments: s.assignments,
          configs: [...s.configs].map(([name, value]) => ({ name, value })),
        })),
        timeoutMs: this.requestTimeoutMs,
        validateOnly,
      });
      for (const t of res.topics) RemoteController.check(t.errorCode);
      return res.topics.map((t) => ({
        name: t.name,
        topicId: t.topicId,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        errorCode: t.errorCode,
        errorMessage: t.errorMessage,
      }));
    });
  }

  deleteTopics(ids: string[]): Promise<(OpError & { topic: TopicImage | null })[]> {
    const before = this.image();
    return this.withController('DeleteTopics', async (c) => {
      const res = await c.request(ApiKey.DeleteTopics, 6, {
        topics: ids.map((topicId) => ({ name: null, topicId })),
        timeoutMs: this.requestTimeoutMs,
      });
      for (const r of res.responses) RemoteController.check(r.errorCode);
      return ids.map((id) => {
        const r = res.responses.find((x) => x.topicId === id);
        return {
          topic: before.topicsById.get(id) ?? null,
          errorCode: r?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_ID,
          errorMessage: r?.errorMessage ?? null,
        };
      });
    });
  }

  createPartitions(
    specs: { name: string; count: number; assignments: number[][] | null }[],
    validateOnly: boolean,
  ): Promise<(OpError & { name: string })[]> {
    return this.withController('CreatePartitions', async (c) => {
      const res = await c.request(ApiKey.CreatePartitions, 3, {
        topics: specs.map((s) => ({
          name: s.name,
          count: s.count,
          assignments: s.assignments === null ? null : s.assignments.map((brokerIds) => ({ brokerIds })),
        })),
        timeoutMs: this.requestTimeoutMs,
        validateOnly,
      });
      for (const r of res.results) RemoteController.check(r.errorCode);
      return res.results.map((r) => ({ name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage }));
    });
  }

  alterConfigs(
    changes: { resourceType: number; resourceName: string; set: Map<string, string | null>; replaceAll: boolean }[],
    validateOnly: boolean,
  ): Promise<OpError[]> {
    return this.withController('AlterConfigs', async (c) => {
      const out: OpError[] = [];
      for (const ch of changes) {
        if (ch.replaceAll) {
          const res = await c.request(ApiKey.AlterConfigs, 2, {
            resources: [
              {
                resourceType: ch.resourceType,
                resourceName: ch.resourceName,
                configs: [...ch.set].filter(([, v]) => v !== null).map(([name, value]) => ({ name, value })),
              },
            ],
            validateOnly,
          });
          const r = res.responses[0];
          RemoteController.check(r?.errorCode ?? 0);
          out.push({
            errorCode: r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
            errorMessage: r?.errorMessage ?? null,
          });
        } else {
          const res = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
            resources: [
              {
                resourceType: ch.resourceType,
                resourceName: ch.resourceName,
                configs: [...ch.set].map(([name, value]) => ({ name, configOperation: value === null ? 1 : 0, value })),
              },
            ],
            validateOnly,
          });
          const r = res.responses[0];
          RemoteController.check(r?.errorCode ?? 0);
          out.push({
            errorCode: r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
            errorMessage: r?.errorMessage ?? null,
          });
        }
      }
      return out;
    });
  }

  allocateProducerIds(brokerId: number, brokerEpoch: number): Promise<{ start: number; length: number }> {
    return this.withController('AllocateProducerIds', async (c) => {
      const res = await c.request(ApiKey.AllocateProducerIds, 0, { brokerId, brokerEpoch });
      RemoteController.check(res.errorCode);
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode);
      return { start: res.producerIdStart, length: res.producerIdLen };
    });
  }

  electLeaders(
    electionType: number,
    partitions: { topic: string; partitions: number[] }[] | null,
  ): Promise<{ topic: string; partitionId: number; errorCode: number; errorMessage: string | null }[]> {
    return this.withController('ElectLeaders', async (c) => {
      const res = await c.request(ApiKey.ElectLeaders, 2, {
        electionType,
        topicPartitions:
          partitions === null ? null : partitions.map((p) => ({ topic: p.topic, partitions: p.partitions })),
        timeoutMs: this.requestTimeoutMs,
      });
      RemoteController.check(res.errorCode);
      return res.replicaElectionResults.flatMap((t) =>
        t.partitionResult.map((p) => ({
          topic: t.topic,
          partitionId: p.partitionId,
          errorCode: p.errorCode,
          errorMessage: p.errorMessage,
        })),
      );
    });
  }

  registerBroker(req: BrokerRegistrationInput): Promise<{ errorCode: number; brokerEpoch: number }> {
    return this.withController('BrokerRegistration', async (c) => {
      const res = await c.request(ApiKey.BrokerRegistration, 4, {
        brokerId: req.brokerId,
        clusterId: req.clusterId,
        incarnationId: req.incarnationId,
        listeners: req.endpoints,
        features: [
          { name: METADATA_VERSION_FEATURE, minSupportedVersion: 1, maxSupportedVersion: METADATA_VERSION_LEVEL },
        ],
        rack: req.rack,
        logDirs: [],
      });
      RemoteController.check(res.errorCode);
      return { errorCode: res.errorCode, brokerEpoch: res.brokerEpoch };
    });
  }

  brokerHeartbeat(req: HeartbeatInput): Promise<HeartbeatResult> {
    return this.withController('BrokerHeartbeat', async (c) => {
      const res = await c.request(ApiKey.BrokerHeartbeat, 1, req);
      RemoteController.check(res.errorCode);
      return {
        errorCode: res.errorCode,
        isCaughtUp: res.isCaughtUp,
        isFenced: res.isFenced,
        shouldShutDown: res.shouldShutDown,
      };
    });
  }

  alterPartition(req: AlterPartitionInput): Promise<AlterPartitionResult> {
    return this.withController('AlterPartition', async (c) => {
      const res = await c.request(ApiKey.AlterPartition, 3, {
        brokerId: req.brokerId,
        brokerEpoch: req.brokerEpoch,
        topics: [
          {
            topicId: req.topicId,
            partitions: [
              {
                partitionIndex: req.partitionId,
                leaderEpoch: req.leaderEpoch,
                newIsrWithEpochs: req.newIsr.map((brokerId) => ({ brokerId, brokerEpoch: -1 })),
                partitionEpoch: req.partitionEpoch,
              },
            ],
          },
        ],
      });
      RemoteController.check(res.errorCode);
      const p = res.topics[0]?.partitions[0];
      if (!p) throw new KafkaError(res.errorCode !== 0 ? res.errorCode : ErrorCode.UNKNOWN_SERVER_ERROR);
      return {
        errorCode: p.errorCode,
        leaderId: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        isr: p.isr,
        partitionEpoch: p.partitionEpoch,
      };
    });
  }

  alterPartitionReassignments(
    reqs: { topic: string; partition: number; replicas: number[] | null }[],
  ): Promise<{ topic: string; partition: number; errorCode: number; errorMessage: string | null }[]> {
    return this.withController('AlterPartitionReassignments', async (c) => {
      const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
      for (const r of reqs)
        byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), { partitionIndex: r.partition, replicas: r.replicas }]);
      const res = await c.request(ApiKey.AlterPartitionReassignments, 0, {
        timeoutMs: this.requestTimeoutMs,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      });
      RemoteController.check(res.errorCode);
      return res.responses.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          errorCode: p.errorCode,
          errorMessage: p.errorMessage,
        })),
      );
    });
  }

  listPartitionReassignments(
    filter: { topic: string; partitions: number[] }[] | null,
  ): Promise<{ topic: string; partition: number; replicas: number[]; adding: number[]; removing: number[] }[]> {
    return this.withController('ListPartitionReassignments', async (c) => {
      const res = await c.request(ApiKey.ListPartitionReassignments, 0, {
        timeoutMs: this.requestTimeoutMs,
        topics: filter === null ? null : filter.map((f) => ({ name: f.topic, partitionIndexes: f.partitions })),
      });
      RemoteController.check(res.errorCode);
      return res.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          replicas: p.replicas,
          adding: p.addingReplicas,
          removing: p.removingReplicas,
        })),
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
