// Requests brokers send to the active controller: BrokerRegistration, BrokerHeartbeat,
// AlterPartition and AllocateProducerIds. Any other node answers NOT_CONTROLLER.
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { defineHandler } from '../router.js';

export const brokerRegistrationHandler = defineHandler({
  apiKey: ApiKey.BrokerRegistration,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req) {
    const controller = ctx.broker.activeController();
    if (!controller) return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, brokerEpoch: -1 };
    const r = await controller.registerBroker({
      brokerId: req.brokerId,
      clusterId: req.clusterId,
      incarnationId: req.incarnationId,
      endpoints: req.listeners.map((l) => ({
        name: l.name,
        host: l.host,
        port: l.port,
        securityProtocol: l.securityProtocol,
      })),
      rack: req.rack,
    });
    if (r.errorCode === ErrorCode.NONE) ctx.broker.bindBrokerSession(req.brokerId, ctx.conn.id);
    return { throttleTimeMs: 0, errorCode: r.errorCode, brokerEpoch: r.brokerEpoch };
  },
});

export const brokerHeartbeatHandler = defineHandler({
  apiKey: ApiKey.BrokerHeartbeat,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, req) {
    const controller = ctx.broker.activeController();
    if (!controller) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NOT_CONTROLLER,
        isCaughtUp: false,
        isFenced: true,
        shouldShutDown: false,
      };
    }
    ctx.broker.bindBrokerSession(req.brokerId, ctx.conn.id);
    const r = await controller.brokerHeartbeat({
      brokerId: req.brokerId,
      brokerEpoch: req.brokerEpoch,
      currentMetadataOffset: req.currentMetadataOffset,
      wantFence: req.wantFence,
      wantShutDown: req.wantShutDown,
    });
    return { throttleTimeMs: 0, ...r };
  },
});

export const alterPartitionHandler = defineHandler({
  apiKey: ApiKey.AlterPartition,
  minVersion: 2,
  maxVersion: 3,
  async handle(ctx, req) {
    const controller = ctx.broker.activeController();
    if (!controller) return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, topics: [] };
    const topics = [];
    for (const t of req.topics) {
      const partitions = [];
      for (const p of t.partitions) {
        const newIsr = ctx.apiVersion >= 3 ? p.newIsrWithEpochs.map((b) => b.brokerId) : p.newIsr;
        const r = await controller.alterPartition({
          brokerId: req.brokerId,
          brokerEpoch: req.brokerEpoch,
          topicId: t.topicId,
          partitionId: p.partitionIndex,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          newIsr,
        });
        partitions.push({
          partitionIndex: p.partitionIndex,
          errorCode: r.errorCode,
          leaderId: r.leaderId,
          leaderEpoch: r.leaderEpoch,
          isr: r.isr,
          partitionEpoch: r.partitionEpoch,
        });
      }
      topics.push({ topicId: t.topicId, partitions });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, topics };
  },
});

export const allocateProducerIdsHandler = defineHandler({
  apiKey: ApiKey.AllocateProducerIds,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req) {
    const controller = ctx.broker.activeController();
    if (!controller)
      return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, producerIdStart: -1, producerIdLen: 0 };
    const r = await controller.allocateProducerIds(req.brokerId, req.brokerEpoch);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerIdStart: r.start, producerIdLen: r.length };
  },
});
