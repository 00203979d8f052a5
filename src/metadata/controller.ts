// The controller: validates cluster changes against the current image and writes them as
// metadata records through the metadata log. Operations run one at a time, each waiting
// for its records to commit, so every operation sees the effects of the previous ones.
import { randomBytes } from 'node:crypto';
import { ConfigResourceType } from '../broker/config-defs.js';
import { ZERO_UUID } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/errors.js';
import { defaultPartitionRecord, defaultRegisterBrokerRecord } from '../protocol/generated/metadata/index.js';
import { logger } from '../util/log.js';
import {
  change,
  changesForEligibleBroker,
  changesForIneligibleBroker,
  type ElectionContext,
  preferredLeaderChange,
  reassignmentCompletion,
  uncleanLeaderChange,
} from './election.js';
import { configsOf, liveBrokers, type MetadataImage, NO_LEADER_CHANGE, type TopicImage } from './image.js';
import type { MetadataLog } from './log.js';
import type { MetadataRecord } from './records.js';

export const METADATA_VERSION_FEATURE = 'metadata.version';
/** Kafka 3.9's metadata.version level (3.9-IV0). */
export const METADATA_VERSION_LEVEL = 21;
export const PRODUCER_ID_BLOCK_SIZE = 1000;
const MAX_TOPIC_NAME_LENGTH = 249;
/** Kafka's cap on partitions created by one request. */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;
const TOO_MANY_PARTITIONS = 'Excessively large number of partitions per request.';

export interface OpError {
  errorCode: number;
  errorMessage: string | null;
}

const OK: OpError = { errorCode: ErrorCode.NONE, errorMessage: null };

function fail(code: number, message: string): OpError {
  return { errorCode: code, errorMessage: message };
}

export function newUuid(): string {
  for (;;) {
    const b = randomBytes(16);
    // Version 4, variant 1 like java.util.UUID.randomUUID.
    b[6] = ((b[6] as number) & 0x0f) | 0x40;
    b[8] = ((b[8] as number) & 0x3f) | 0x80;
    const s = b.toString('base64url');
    // Kafka reserves the zero id and the metadata topic id; ids starting with '-' are avoided
    // because they look like command-line flags.
    if (s !== ZERO_UUID && !s.startsWith('-')) return s;
  }
}

/** Checks a topic name as Kafka does; returns the problem or null. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty";
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** Kafka treats '.' and '_' as the same for metric names, so such names collide. */
function collisionKey(name: string): string {
  return name.replace(/\./g, '_');
}

export interface CreateTopicSpec {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: { partitionIndex: number; brokerIds: number[] }[];
  configs: Map<string, string | null>;
}

export interface CreateTopicResult extends OpError {
  name: string;
  topicId: string;
  numPartitions: number;
  replicationFactor: number;
}

export interface ControllerOptions {
  log: MetadataLog;
  image: () => MetadataImage;
  nodeId: number;
  defaultPartitions: () => number;
  defaultReplicationFactor: () => number;
  validateTopicConfigs: (configs: ReadonlyMap<string, string | null>) => string | null;
  validateBrokerConfig: (name: string, value: string | null) => string | null;
  deleteTopicEnable: () => boolean;
  /** Cluster id brokers must present when registering. */
  clusterId?: string;
  clock?: () => number;
  /** broker.session.timeout.ms: a broker silent this long is fenced. */
  brokerSessionTimeoutMs?: number;
  /** unclean.leader.election.enable for a topic. */
  uncleanLeaderElection?: (topic: string) => boolean;
}

export interface BrokerRegistrationInput {
  brokerId: number;
  clusterId: string;
  incarnationId: string;
  endpoints: { name: string; host: string; port: number; securityProtocol: number }[];
  rack: string | null;
}

export interface HeartbeatInput {
  brokerId: number;
  brokerEpoch: number;
  currentMetadataOffset: number;
  wantFence: boolean;
  wantShutDown: boolean;
}

export interface HeartbeatResult {
  errorCode: number;
  isCaughtUp: boolean;
  isFenced: boolean;
  shouldShutDown: boolean;
}

export interface AlterPartitionInput {
  brokerId: number;
  brokerEpoch: number;
  topicId: string;
  partitionId: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
}

export interface AlterPartitionResult {
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  isr: number[];
  partitionEpoch: number;
}

export class Controller {
  private readonly log = logger('controller');
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ControllerOptions) {}

  /** Serializes operations; each sees the committed result of the previous one. */
  private run<T>(op: () => Promise<T>): Promise<T> {
    const p = this.queue.then(op, op);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private image(): MetadataImage {
    return this.opts.image();
  }

  private commit(records: MetadataRecord[]): Promise<number> {
    return this.opts.log.append(records);
  }

  /** Writes the metadata.version feature if the log is new, then registers this node as a broker. */
  bootstrapAndRegister(registration: {
    incarnationId: string;
    endpoints: { name: string; host: string; port: number; securityProtocol: number }[];
    rack: string | null;
  }): Promise<number> {
    return this.run(async () => {
      const records: MetadataRecord[] = [];
      if (!this.image().features.has(METADATA_VERSION_FEATURE)) {
        records.push({
          type: 'FeatureLevel',
          record: { name: METADATA_VERSION_FEATURE, featureLevel: METADATA_VERSION_LEVEL },
        });
      }
      const prev = this.image().brokers.get(this.opts.nodeId);
      const epoch = Math.max(this.opts.log.endOffset(), (prev?.epoch ?? -1) + 1);
      records.push({
        type: 'RegisterBroker',
        record: {
          ...defaultRegisterBrokerRecord(),
          brokerId: this.opts.nodeId,
          incarnationId: registration.incarnationId,
          brokerEpoch: epoch,
          endPoints: registration.endpoints,
          features: [
            { name: METADATA_VERSION_FEATURE, minSupportedVersion: 1, maxSupportedVersion: METADATA_VERSION_LEVEL },
          ],
          rack: registration.rack,
          fenced: false,
        },
      });
      await this.commit(records);
      return epoch;
    });
  }

  createTopics(specs: CreateTopicSpec[], validateOnly: boolean): Promise<CreateTopicResult[]> {
    return this.run(async () => {
      const image = this.image();
      const results: CreateTopicResult[] = [];
      const records: MetadataRecord[] = [];
      const seen = new Map<string, number>();
      for (const s of specs) seen.set(s.name, (seen.get(s.name) ?? 0) + 1);
      // Checked before any placement work: a huge count must not cost memory.
      const requested = specs.reduce(
        (n, s) =>
          n +
          (s.assignments.length > 0
            ? s.assignments.length
            : s.numPartitions === -1
              ? this.opts.defaultPartitions()
              : Math.max(0, s.numPartitions)),
        0,
      );
      if (requested > MAX_PARTITIONS_PER_REQUEST) {
        return specs.map((s) => ({
          name: s.name,
          topicId: ZERO_UUID,
          numPartitions: -1,
          replicationFactor: -1,
          ...fail(ErrorCode.POLICY_VIOLATION, TOO_MANY_PARTITIONS),
        }));
      }
      const collisions = new Map<string, string>();
      for (const t of image.topicsByName.keys()) collisions.set(collisionKey(t), t);
      for (const spec of specs) {
        const base = { name: spec.name, topicId: ZERO_UUID, numPartitions: -1, replicationFactor: -1 };
        if ((seen.get(spec.name) ?? 0) > 1) {
          results.push({
            ...base,
            ...fail(ErrorCode.INVALID_REQUEST, `Duplicate topic name ${spec.name} in the request`),
          });
          continue;
        }
        const problem = this.validateNewTopic(spec, image, collisions);
        if ('errorCode' in problem) {
          results.push({ ...base, ...problem });
          continue;
        }
        const topicId = newUuid();
        collisions.set(collisionKey(spec.name), spec.name);
        results.push({
          name: spec.name,
          topicId,
          numPartitions: problem.assignment.length,
          replicationFactor: problem.assignment[0]?.length ?? 0,
          ...OK,
        });
        if (validateOnly) continue;
        records.push(...topicRecords(spec.name, topicId, problem.assignment, spec.configs));
      }
      if (records.length > 0) {
        await this.commit(records);
        for (const r of results) {
          if (r.errorCode === ErrorCode.NONE)
            this.log.info(`created topic ${r.name} (${r.topicId}) with ${r.numPartitions} partitions`);
        }
      }
      return results;
    });
  }

  private validateNewTopic(
    spec: CreateTopicSpec,
    image: MetadataImage,
    collisions: Map<string, string>,
  ): OpError | { assignment: number[][] } {
    const nameProblem = topicNameProblem(spec.name);
    if (nameProblem) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (image.topicsByName.has(spec.name)) {
      return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${spec.name}' already exists.`);
    }
    const other = collisions.get(collisionKey(spec.name));
    if (other !== undefined && other !== spec.name) {
      return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${spec.name}' collides with existing topic: ${other}`);
    }
    const configProblem = this.opts.validateTopicConfigs(spec.configs);
    if (configProblem) return fail(ErrorCode.INVALID_CONFIG, configProblem);
    const live = liveBrokers(image);
    const brokers = live.map((b) => b.id);
    if (spec.assignments.length > 0) {
      if (spec.numPartitions !== -1 || spec.replicationFactor !== -1) {
        return fail(
          ErrorCode.INVALID_REQUEST,
          'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
        );
      }
      const byIndex = new Map<number, number[]>();
      for (const a of spec.assignments) byIndex.set(a.partitionIndex, a.brokerIds);
      const assignment: number[][] = [];
      for (let p = 0; p < spec.assignments.length; p++) {
        const replicas = byIndex.get(p);
        if (!replicas) {
          return fail(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            'partitions should be a consecutive 0-based integer sequence',
          );
        }
        const problem = assignmentProblem(replicas, image, assignment[0]?.length);
        if (problem) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem);
        assignment.push(replicas);
      }
      return { assignment };
    }
    const numPartitions = spec.numPartitions === -1 ? this.opts.defaultPartitions() : spec.numPartitions;
    const rf = spec.replicationFactor === -1 ? this.opts.defaultReplicationFactor() : spec.replicationFactor;
    if (numPartitions <= 0)
      return fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
    if (rf <= 0)
      return fail(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        'Replication factor must be larger than 0, or -1 to use the default value.',
      );
    if (rf > brokers.length) {
      return fail(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${rf} time(s): The target replication factor of ${rf} cannot be reached because only ${brokers.length} broker(s) are registered.`,
      );
    }
    return { assignment: placeAssignment(live, numPartitions, rf, 0, Math.floor(Math.random() * brokers.length)) };
  }

  deleteTopics(ids: string[]): Promise<(OpError & { topic: TopicImage | null })[]> {
    return this.run(async () => {
      const image = this.image();
      const records: MetadataRecord[] = [];
      const results: (OpError & { topic: TopicImage | null })[] = [];
      const done = new Set<string>();
      for (const id of ids) {
        const t = image.topicsById.get(id);
        if (!t) {
          results.push({
            topic: null,
            ...fail(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.'),
          });
          continue;
        }
        if (!this.opts.deleteTopicEnable()) {
          results.push({ topic: t, ...fail(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.') });
          continue;
        }
        results.push({ topic: t, ...OK });
        if (done.has(id)) continue;
        done.add(id);
        records.push({ type: 'RemoveTopic', record: { topicId: id } });
      }
      if (records.length > 0) {
        await this.commit(records);
        for (const r of results) if (r.topic && r.errorCode === 0) this.log.info(`deleted topic ${r.topic.name}`);
      }
      return results;
    });
  }

  createPartitions(
    specs: { name: string; count: number; assignments: number[][] | null }[],
    validateOnly: boolean,
  ): Promise<(OpError & { name: string })[]> {
    return this.run(async () => {
      const image = this.image();
      const added = specs.reduce(
        (n, s) => n + Math.max(0, s.count - (image.topicsByName.get(s.name)?.partitions.length ?? s.count)),
        0,
      );
      if (added > MAX_PARTITIONS_PER_REQUEST) {
        return specs.map((s) => ({ name: s.name, ...fail(ErrorCode.POLICY_VIOLATION, TOO_MANY_PARTITIONS) }));
      }
      const records: MetadataRecord[] = [];
      const results: (OpError & { name: string })[] = [];
      const seen = new Map<string, number>();
      for (const s of specs) seen.set(s.name, (seen.get(s.name) ?? 0) + 1);
      for (const spec of specs) {
        if ((seen.get(spec.name) ?? 0) > 1) {
          results.push({ name: spec.name, ...fail(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.') });
          continue;
        }
        const t = image.topicsByName.get(spec.name);
        if (!t) {
          results.push({
            name: spec.name,
            ...fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.'),
          });
          continue;
        }
        const current = t.partitions.length;
        if (spec.count < current) {
          results.push({
            name: spec.name,
            ...fail(
              ErrorCode.INVALID_PARTITIONS,
              `The topic ${spec.name} currently has ${current} partition(s); ${spec.count} would not be an increase.`,
            ),
          });
          continue;
        }
        if (spec.count === current) {
          results.push({
            name: spec.name,
            ...fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`),
          });
          continue;
        }
        const rf = t.partitions[0]?.replicas.length ?? 1;
        let assignment: number[][];
        if (spec.assignments !== null) {
          if (spec.assignments.length !== spec.count - current) {
            results.push({
              name: spec.name,
              ...fail(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                `Increasing the number of partitions by ${spec.count - current} but ${spec.assignments.length} assignments provided.`,
              ),
            });
            continue;
          }
          const problem = spec.assignments.map((a) => assignmentProblem(a, image, rf)).find((p) => p !== null);
          if (problem) {
            results.push({ name: spec.name, ...fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem) });
            continue;
          }
          assignment = spec.assignments;
        } else {
          const live = liveBrokers(image);
          const brokers = live.map((b) => b.id);
          if (rf > brokers.length) {
            results.push({
              name: spec.name,
              ...fail(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                `Unable to replicate the partition ${rf} time(s): only ${brokers.length} broker(s) are registered.`,
              ),
            });
            continue;
          }
          assignment = placeAssignment(
            live,
            spec.count - current,
            rf,
            current,
            Math.floor(Math.random() * brokers.length),
          );
        }
        results.push({ name: spec.name, ...OK });
        if (validateOnly) continue;
        assignment.forEach((replicas, i) => {
          records.push({ type: 'Partition', record: partitionRecord(t.id, current + i, replicas) });
        });
      }
      if (records.length > 0) await this.commit(records);
      return results;
    });
  }

  /**
   * Applies config changes; each entry is a full resource change list. `ops` values of null
   * delete the override. Validation happens before anything is written.
   */
  alterConfigs(
    changes: { resourceType: number; resourceName: string; set: Map<string, string | null>; replaceAll: boolean }[],
    validateOnly: boolean,
  ): Promise<OpError[]> {
    return this.run(async () => {
      const image = this.image();
      const records: MetadataRecord[] = [];
      const results: OpError[] = [];
      for (const c of changes) {
        const problem = this.configChangeProblem(c, image);
        if (problem) {
          results.push(problem);
          continue;
        }
        results.push(OK);
        if (validateOnly) continue;
        const existing = configsOf(image, c.resourceType, c.resourceName);
        const next = new Map<string, string | null>(c.set);
        if (c.replaceAll) for (const k of existing.keys()) if (!next.has(k)) next.set(k, null);
        for (const [name, value] of next) {
          if (value === null && !existing.has(name)) continue;
          records.push({
            type: 'Config',
            record: { resourceType: c.resourceType, resourceName: c.resourceName, name, value },
          });
        }
      }
      if (records.length > 0) await this.commit(records);
      return results;
    });
  }

  private configChangeProblem(
    c: { resourceType: number; resourceName: string; set: Map<string, string | null> },
    image: MetadataImage,
  ): OpError | null {
    if (c.resourceType === ConfigResourceType.TOPIC) {
      const nameProblem = topicNameProblem(c.resourceName);
      if (nameProblem) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
      if (!image.topicsByName.has(c.resourceName)) {
        return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${c.resourceName} does not exist.`);
      }
      const problem = this.opts.validateTopicConfigs(c.set);
      return problem ? fail(ErrorCode.INVALID_CONFIG, problem) : null;
    }
    if (c.resourceType === ConfigResourceType.BROKER) {
      if (c.resourceName !== '' && !/^\d+$/.test(c.resourceName)) {
        return fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected an integer: ${c.resourceName}`);
      }
      if (c.resourceName !== '' && !image.brokers.has(Number(c.resourceName))) {
        return fail(ErrorCode.INVALID_REQUEST, `Broker ${c.resourceName} is not registered.`);
      }
      for (const [name, value] of c.set) {
        const problem = this.opts.validateBrokerConfig(name, value);
        if (problem) return fail(ErrorCode.INVALID_CONFIG, problem);
      }
      return null;
    }
    return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${c.resourceType}`);
  }

  /** Reserves a block of producer ids (InitProducerId draws from it). */
  allocateProducerIds(brokerId: number, brokerEpoch: number): Promise<{ start: number; length: number }> {
    return this.run(async () => {
      const start = this.image().nextProducerId;
      await this.commit([
        { type: 'ProducerIds', record: { brokerId, brokerEpoch, nextProducerId: start + PRODUCER_ID_BLOCK_SIZE } },
      ]);
      return { start, length: PRODUCER_ID_BLOCK_SIZE };
    });
  }

  /** Changes a partition's leader/ISR (used by replication and elections). */
  changePartition(
    topicId: string,
    partitionId: number,
    change: { leader?: number; isr?: number[]; replicas?: number[] },
  ): Promise<number> {
    return this.run(() =>
      this.commit([
        {
          type: 'PartitionChange',
          record: {
            partitionId,
            topicId,
            isr: change.isr ?? null,
            leader: change.leader ?? NO_LEADER_CHANGE,
            replicas: change.replicas ?? null,
            removingReplicas: null,
            addingReplicas: null,
            leaderRecoveryState: -1,
            directories: null,
            eligibleLeaderReplicas: null,
            lastKnownElr: null,
          },
        },
      ]),
    );
  }

  // ------------------------------------------------------------------ brokers and leaders

  /** Heartbeat sessions of registered brokers (kept by the active controller only). */
  private readonly sessions = new Map<number, { deadlineMs: number }>();

  private now(): number {
    return (this.opts.clock ?? Date.now)();
  }

  private sessionTimeoutMs(): number {
    return this.opts.brokerSessionTimeoutMs ?? 9000;
  }

  private electionContext(image: MetadataImage): ElectionContext {
    return {
      image,
      eligible: (id) => {
        const b = image.brokers.get(id);
        return b !== undefined && !b.fenced && !b.inControlledShutdown;
      },
      uncleanAllowed: (topic) => this.opts.uncleanLeaderElection?.(topic) ?? false,
    };
  }

  private static partitionChanges(changes: ReturnType<typeof change>[]): MetadataRecord[] {
    return changes.map((record) => ({ type: 'PartitionChange', record }));
  }

  /**
   * A broker registers (BrokerRegistration): it starts fenced and is unfenced once its
   * heartbeats show it has caught up with the metadata log. Re-registering moves
   * leadership away from the previous incarnation.
   */
  registerBroker(req: BrokerRegistrationInput): Promise<{ errorCode: number; brokerEpoch: number }> {
    return this.run(async () => {
      if (this.opts.clusterId !== undefined && req.clusterId !== this.opts.clusterId) {
        return { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, brokerEpoch: -1 };
      }
      const image = this.image();
      const now = this.now();
      const existing = image.brokers.get(req.brokerId);
      const session = this.sessions.get(req.brokerId);
      if (
        existing &&
        !existing.fenced &&
        session &&
        session.deadlineMs > now &&
        existing.incarnationId !== req.incarnationId
      ) {
        return { errorCode: ErrorCode.DUPLICATE_BROKER_REGISTRATION, brokerEpoch: -1 };
      }
      const records: MetadataRecord[] = [];
      if (!image.features.has(METADATA_VERSION_FEATURE)) {
        records.push({
          type: 'FeatureLevel',
          record: { name: METADATA_VERSION_FEATURE, featureLevel: METADATA_VERSION_LEVEL },
        });
      }
      if (existing && !existing.fenced) {
        records.push(
          ...Controller.partitionChanges(changesForIneligibleBroker(this.electionContext(image), req.brokerId)),
        );
      }
      const epoch = Math.max(this.opts.log.endOffset(), (existing?.epoch ?? -1) + 1);
      records.push({
        type: 'RegisterBroker',
        record: {
          ...defaultRegisterBrokerRecord(),
          brokerId: req.brokerId,
          incarnationId: req.incarnationId,
          brokerEpoch: epoch,
          endPoints: req.endpoints,
          features: [
            { name: METADATA_VERSION_FEATURE, minSupportedVersion: 1, maxSupportedVersion: METADATA_VERSION_LEVEL },
          ],
          rack: req.rack,
          fenced: true,
        },
      });
      await this.commit(records);
      this.sessions.set(req.brokerId, { deadlineMs: now + this.sessionTimeoutMs() });
      this.log.info(`registered broker ${req.brokerId} with epoch ${epoch}`);
      return { errorCode: ErrorCode.NONE, brokerEpoch: epoch };
    });
  }

  /** BrokerHeartbeat: keeps the session, unfences a caught-up broker, runs controlled shutdown. */
  brokerHeartbeat(req: HeartbeatInput): Promise<HeartbeatResult> {
    return this.run(async () => {
      const image = this.image();
      const b = image.brokers.get(req.brokerId);
      const fail = (errorCode: number): HeartbeatResult => ({
        errorCode,
        isCaughtUp: false,
        isFenced: true,
        shouldShutDown: false,
      });
      if (!b) return fail(ErrorCode.BROKER_ID_NOT_REGISTERED);
      if (b.epoch !== req.brokerEpoch) return fail(ErrorCode.STALE_BROKER_EPOCH);
      this.sessions.set(b.id, { deadlineMs: this.now() + this.sessionTimeoutMs() });
      // Caught up: the broker has replayed the log at least up to its own registration.
      const isCaughtUp = req.currentMetadataOffset >= b.epoch;
      const ctx = this.electionContext(image);
      if (req.wantShutDown) {
        const records: MetadataRecord[] = [];
        if (!b.inControlledShutdown && !b.fenced) {
          records.push({
            type: 'BrokerRegistrationChange',
            record: { brokerId: b.id, brokerEpoch: b.epoch, fenced: 0, inControlledShutdown: 1, logDirs: [] },
          });
          records.push(...Controller.partitionChanges(changesForIneligibleBroker(ctx, b.id)));
        }
        if (records.length > 0) await this.commit(records);
        const after = this.image();
        const stillLeading = [...after.topicsById.values()].some((t) =>
          t.partitions.some((reg) => reg.leader === b.id && reg.isr.some((r) => r !== b.id && ctx.eligible(r))),
        );
        const shouldShutDown = !stillLeading;
        const current = after.brokers.get(b.id);
        if (shouldShutDown && current && !current.fenced) {
          await this.commit([{ type: 'FenceBroker', record: { id: b.id, epoch: b.epoch } }]);
          this.sessions.delete(b.id);
          this.log.info(`broker ${b.id} completed controlled shutdown`);
        }
        return { errorCode: ErrorCode.NONE, isCaughtUp, isFenced: shouldShutDown || b.fenced, shouldShutDown };
      }
      if (b.fenced && isCaughtUp && !req.wantFence) {
        const records: MetadataRecord[] = [{ type: 'UnfenceBroker', record: { id: b.id, epoch: b.epoch } }];
        // Elect with the broker counted as eligible.
        const unfenced = { ...ctx, eligible: (id: number) => id === b.id || ctx.eligible(id) };
        records.push(...Controller.partitionChanges(changesForEligibleBroker(unfenced, b.id)));
        await this.commit(records);
        this.log.info(`unfenced broker ${b.id}`);
        return { errorCode: ErrorCode.NONE, isCaughtUp, isFenced: false, shouldShutDown: false };
      }
      if (!b.fenced && req.wantFence) {
        await this.fence(b.id, b.epoch);
        return { errorCode: ErrorCode.NONE, isCaughtUp, isFenced: true, shouldShutDown: false };
      }
      return { errorCode: ErrorCode.NONE, isCaughtUp, isFenced: b.fenced, shouldShutDown: false };
    });
  }

  private async fence(brokerId: number, epoch: number): Promise<void> {
    const image = this.image();
    const records: MetadataRecord[] = [
      ...Controller.partitionChanges(changesForIneligibleBroker(this.electionContext(image), brokerId)),
      { type: 'FenceBroker', record: { id: brokerId, epoch } },
    ];
    await this.commit(records);
    this.sessions.delete(brokerId);
    this.log.warn(`fenced broker ${brokerId} (epoch ${epoch})`);
  }

  /** Fences brokers whose sessions expired; the active controller calls this periodically. */
  tick(): Promise<void> {
    return this.run(async () => {
      const now = this.now();
      for (const [id, s] of [...this.sessions]) {
        if (s.deadlineMs > now) continue;
        const b = this.image().brokers.get(id);
        this.sessions.delete(id);
        if (b && !b.fenced) {
          this.log.warn(`broker ${id}'s session expired`);
          await this.fence(id, b.epoch);
        }
      }
    });
  }

  /**
   * Called when this node becomes the active controller: every unfenced broker gets a fresh
   * session of `graceMs` to reach it.
   */
  becomeActive(graceMs: number): void {
    const now = this.now();
    this.sessions.clear();
    for (const b of this.image().brokers.values()) {
      if (!b.fenced) this.sessions.set(b.id, { deadlineMs: now + graceMs });
    }
  }

  /** Ends a broker's session now (its controller connection closed): fenced at the next tick. */
  expireSession(brokerId: number, afterMs: number): void {
    const s = this.sessions.get(brokerId);
    if (s) s.deadlineMs = Math.min(s.deadlineMs, this.now() + afterMs);
  }

  /** AlterPartition: a leader changes its ISR. */
  alterPartition(req: AlterPartitionInput): Promise<AlterPartitionResult> {
    return this.run(async () => {
      const image = this.image();
      const t = image.topicsById.get(req.topicId);
      const reg = t?.partitions[req.partitionId];
      const fail = (errorCode: number): AlterPartitionResult => ({
        errorCode,
        leaderId: reg?.leader ?? -1,
        leaderEpoch: reg?.leaderEpoch ?? -1,
        isr: reg?.isr.slice() ?? [],
        partitionEpoch: reg?.partitionEpoch ?? -1,
      });
      const b = image.brokers.get(req.brokerId);
      if (!b || (req.brokerEpoch !== -1 && b.epoch !== req.brokerEpoch)) return fail(ErrorCode.STALE_BROKER_EPOCH);
      if (!t || !reg) return fail(ErrorCode.UNKNOWN_TOPIC_ID);
      if (reg.leader !== req.brokerId) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      if (req.leaderEpoch !== reg.leaderEpoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
      if (req.partitionEpoch !== reg.partitionEpoch) return fail(ErrorCode.INVALID_UPDATE_VERSION);
      const ctx = this.electionContext(image);
      const newIsr = [...new Set(req.newIsr)];
      if (!newIsr.includes(req.brokerId)) return fail(ErrorCode.INVALID_REQUEST);
      for (const r of newIsr) {
        if (!reg.replicas.includes(r)) return fail(ErrorCode.INVALID_REQUEST);
        if (!reg.isr.includes(r) && !ctx.eligible(r)) return fail(ErrorCode.INELIGIBLE_REPLICA);
      }
      await this.commit([{ type: 'PartitionChange', record: change(req.topicId, req.partitionId, { isr: newIsr }) }]);
      let after = this.image().topicsById.get(req.topicId)?.partitions[req.partitionId];
      // A reassignment completes once its new replicas have joined the ISR.
      const completion = after
        ? reassignmentCompletion(this.electionContext(this.image()), req.topicId, req.partitionId, after)
        : null;
      if (completion) {
        await this.commit([{ type: 'PartitionChange', record: completion }]);
        after = this.image().topicsById.get(req.topicId)?.partitions[req.partitionId];
        this.log.info(`completed the reassignment of ${t.name}-${req.partitionId} to ${after?.replicas.join(',')}`);
      }
      return {
        errorCode: ErrorCode.NONE,
        leaderId: after?.leader ?? reg.leader,
        leaderEpoch: after?.leaderEpoch ?? reg.leaderEpoch,
        isr: after?.isr.slice() ?? newIsr,
        partitionEpoch: after?.partitionEpoch ?? reg.partitionEpoch + 1,
      };
    });
  }

  /** ElectLeaders: preferred (0) or unclean (1) elections for the given partitions (null: all). */
  electLeaders(
    electionType: number,
    partitions: { topic: string; partitions: number[] }[] | null,
  ): Promise<{ topic: string; partitionId: number; errorCode: number; errorMessage: string | null }[]> {
    return this.run(async () => {
      const image = this.image();
      const ctx = this.electionContext(image);
      const wanted =
        partitions ??
        [...image.topicsByName.values()].map((t) => ({ topic: t.name, partitions: t.partitions.map((_, i) => i) }));
      const records: MetadataRecord[] = [];
      const results: { topic: string; partitionId: number; errorCode: number; errorMessage: string | null }[] = [];
      for (const w of wanted) {
        const t = image.topicsByName.get(w.topic);
        for (const p of w.partitions) {
          if (!t) {
            results.push({
              topic: w.topic,
              partitionId: p,
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              errorMessage: null,
            });
            continue;
          }
          const r = electionType === 1 ? uncleanLeaderChange(ctx, t.id, p) : preferredLeaderChange(ctx, t.id, p);
          if (r.record) records.push({ type: 'PartitionChange', record: r.record });
          results.push({ topic: w.topic, partitionId: p, errorCode: r.errorCode, errorMessage: null });
        }
      }
      if (records.length > 0) await this.commit(records);
      return partitions === null ? results.filter((r) => r.errorCode === ErrorCode.NONE) : results;
    });
  }

  /**
   * AlterPartitionReassignments: move a partition to a new replica set (null cancels). The
   * new replicas are added first; the old ones leave once the new ones are in sync.
   */
  alterPartitionReassignments(
    reqs: { topic: string; partition: number; replicas: number[] | null }[],
  ): Promise<{ topic: string; partition: number; errorCode: number; errorMessage: string | null }[]> {
    return this.run(async () => {
      const results: { topic: string; partition: number; errorCode: number; errorMessage: string | null }[] = [];
      for (const r of reqs) {
        const image = this.image();
        const t = image.topicsByName.get(r.topic);
        const reg = t?.partitions[r.partition];
        const res = {
          topic: r.topic,
          partition: r.partition,
          errorCode: ErrorCode.NONE as number,
          errorMessage: null as string | null,
        };
        if (!t || !reg) {
          results.push({ ...res, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
          continue;
        }
        const ongoing = reg.addingReplicas.length > 0 || reg.removingReplicas.length > 0;
        const original = reg.replicas.filter((x) => !reg.addingReplicas.includes(x));
        let record: ReturnType<typeof change> | null = null;
        if (r.replicas === null) {
          if (!ongoing) {
            results.push({ ...res, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS });
            continue;
          }
          const isr = reg.isr.filter((x) => original.includes(x));
          const leader = original.includes(reg.leader) ? undefined : (original.find((x) => isr.includes(x)) ?? -1);
          record = change(t.id, r.partition, {
            replicas: original,
            isr: isr.length > 0 ? isr : reg.isr.slice(),
            adding: [],
            removing: [],
            leader,
          });
        } else {
          const problem = assignmentProblem(r.replicas, image, undefined);
          if (problem) {
            results.push({ ...res, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: problem });
            continue;
          }
          const target = r.replicas;
          if (!ongoing && target.length === reg.replicas.length && target.every((x, i) => reg.replicas[i] === x)) {
            results.push(res);
            continue;
          }
          const adding = target.filter((x) => !original.includes(x));
          const removing = original.filter((x) => !target.includes(x));
          record = change(t.id, r.partition, { replicas: [...target, ...removing], adding, removing });
        }
        await this.commit([{ type: 'PartitionChange', record }]);
        const after = this.image().topicsById.get(t.id)?.partitions[r.partition];
        const completion = after
          ? reassignmentCompletion(this.electionContext(this.image()), t.id, r.partition, after)
          : null;
        if (completion) await this.commit([{ type: 'PartitionChange', record: completion }]);
        this.log.info(
          `reassignment of ${r.topic}-${r.partition}: ${r.replicas === null ? 'cancelled' : `to ${r.replicas.join(',')}`}`,
        );
        results.push(res);
      }
      return results;
    });
  }

  /** Ongoing reassignments (all, or of the given partitions). */
  listPartitionReassignments(
    filter: { topic: string; partitions: number[] }[] | null,
  ): { topic: string; partition: number; replicas: number[]; adding: number[]; removing: number[] }[] {
    const image = this.image();
    const out: { topic: string; partition: number; replicas: number[]; adding: number[]; removing: number[] }[] = [];
    const wanted =
      filter ??
      [...image.topicsByName.values()].map((t) => ({ topic: t.name, partitions: t.partitions.map((_, i) => i) }));
    for (const w of wanted) {
      const t = image.topicsByName.get(w.topic);
      for (const p of w.partitions) {
        const reg = t?.partitions[p];
        if (!reg || (reg.addingReplicas.length === 0 && reg.removingReplicas.length === 0)) continue;
        out.push({
          topic: w.topic,
          partition: p,
          replicas: reg.replicas.slice(),
          adding: reg.addingReplicas.slice(),
          removing: reg.removingReplicas.slice(),
        });
      }
    }
    return out;
  }

  /** Waits for queued operations (used at shutdown). */
  async drain(): Promise<void> {
    await this.queue;
  }
}

function partitionRecord(
  topicId: string,
  partitionId: number,
  replicas: number[],
): ReturnType<typeof defaultPartitionRecord> {
  return {
    ...defaultPartitionRecord(),
    partitionId,
    topicId,
    replicas,
    isr: replicas.slice(),
    leader: replicas[0] ?? -1,
    leaderEpoch: 0,
    partitionEpoch: 0,
  };
}

function topicRecords(
  name: string,
  topicId: string,
  assignment: number[][],
  configs: Map<string, string | null>,
): MetadataRecord[] {
  const out: MetadataRecord[] = [{ type: 'Topic', record: { name, topicId } }];
  for (const [k, v] of configs) {
    if (v === null) continue;
    out.push({
      type: 'Config',
      record: { resourceType: ConfigResourceType.TOPIC, resourceName: name, name: k, value: v },
    });
  }
  assignment.forEach((replicas, p) => {
    out.push({ type: 'Partition', record: partitionRecord(topicId, p, replicas) });
  });
  return out;
}

function assignmentProblem(replicas: number[], image: MetadataImage, expectedRf: number | undefined): string | null {
  if (replicas.length === 0) return 'The replica assignment must not be empty.';
  if (new Set(replicas).size !== replicas.length)
    return `Duplicate brokers not allowed in replica assignment: ${replicas.join(', ')}`;
  for (const b of replicas) if (!image.brokers.has(b)) return `Unknown broker ${b} in the replica assignment.`;
  if (expectedRf !== undefined && replicas.length !== expectedRf) {
    return 'All partitions should have the same number of replicas.';
  }
  return null;
}

/**
 * Round-robin placement (the scheme Kafka uses without racks): partition p's leader is
 * broker (start + p) mod n; followers are offset from it by a shift that changes every n
 * partitions, and never wrap onto the leader.
 */
export function placeReplicas(
  brokers: number[],
  count: number,
  rf: number,
  firstPartition: number,
  start: number,
): number[][] {
  const n = brokers.length;
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const p = firstPartition + i;
    const leaderIdx = (start + p) % n;
    const shiftBase = Math.floor(p / n);
    const replicas = [brokers[leaderIdx] as number];
    for (let r = 0; r < rf - 1; r++) {
      const idx = (leaderIdx + 1 + ((shiftBase + r) % (n - 1))) % n;
      replicas.push(brokers[idx] as number);
    }
    out.push(replicas);
  }
  return out;
}

/**
 * Rack-aware placement when brokers declare broker.rack: brokers are ordered alternating
 * racks, leaders are spread as in placeReplicas, and each partition's followers go to racks
 * it does not use yet before any rack gets a second replica.
 */
export function placeAssignment(
  brokers: readonly { id: number; rack: string | null }[],
  count: number,
  rf: number,
  firstPartition: number,
  start: number,
): number[][] {
  if (brokers.every((b) => b.rack === null)) {
    return placeReplicas(
      brokers.map((b) => b.id),
      count,
      rf,
      firstPartition,
      start,
    );
  }
  const byRack = new Map<string, number[]>();
  for (const b of [...brokers].sort((a, c) => a.id - c.id)) {
    const rack = b.rack ?? '';
    byRack.set(rack, [...(byRack.get(rack) ?? []), b.id]);
  }
  const racks = [...byRack.keys()].sort();
  const arranged: number[] = [];
  for (let i = 0; arranged.length < brokers.length; i++) {
    for (const r of racks) {
      const id = byRack.get(r)?.[i];
      if (id !== undefined) arranged.push(id);
    }
  }
  const rackOf = new Map(brokers.map((b) => [b.id, b.rack ?? '']));
  const n = arranged.length;
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const p = firstPartition + i;
    const leaderIdx = (start + p) % n;
    const replicas = [arranged[leaderIdx] as number];
    const usedRacks = new Set([rackOf.get(arranged[leaderIdx] as number)]);
    const shift = Math.floor(p / n) % Math.max(1, n - 1);
    for (let step = 1; replicas.length < rf && step < 2 * n; step++) {
      const candidate = arranged[(leaderIdx + shift + step) % n] as number;
      if (replicas.includes(candidate)) continue;
      const rack = rackOf.get(candidate);
      // Until every rack holds a replica, skip racks already used.
      if (usedRacks.has(rack) && usedRacks.size < racks.length) continue;
      replicas.push(candidate);
      usedRacks.add(rack);
    }
    for (let step = 1; replicas.length < rf && step <= n; step++) {
      const candidate = arranged[(leaderIdx + step) % n] as number;
      if (!replicas.includes(candidate)) replicas.push(candidate);
    }
    out.push(replicas);
  }
  return out;
}
