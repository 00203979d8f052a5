// Produce: validate and append each partition's batches; acks=0 gets no response.

import { configsOf } from '../../metadata/image.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ProduceResponsePartitionProduceResponseInit } from '../../protocol/generated/api/produce.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { ConfigResourceType } from '../config-defs.js';
import type { BrokerContext } from '../context.js';
import { compressionFromConfig, DEFAULT_PRODUCE_POLICY, type ProducePolicy } from '../replica-manager.js';
import { CLOSE_CONNECTION, defineHandler, NO_RESPONSE } from '../router.js';

export function producePolicy(broker: BrokerContext, overrides: ReadonlyMap<string, string>): ProducePolicy {
  const num = (name: string): number => {
    const n = Number(broker.config.topicConfigValue(name, overrides));
    return Math.min(n, Number.MAX_SAFE_INTEGER);
  };
  return {
    minInsyncReplicas: num('min.insync.replicas'),
    compression: compressionFromConfig(broker.config.topicConfigValue('compression.type', overrides)),
    timestampBeforeMaxMs: num('message.timestamp.before.max.ms'),
    timestampAfterMaxMs: num('message.timestamp.after.max.ms'),
    logAppendTime: broker.config.topicConfigValue('message.timestamp.type', overrides) === 'LogAppendTime',
  };
}

function partitionError(
  index: number,
  errorCode: number,
  errorMessage: string | null = null,
): ProduceResponsePartitionProduceResponseInit {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage };
}

export const produceHandler = defineHandler({
  apiKey: ApiKey.Produce,
  // v0-2 carry the legacy message formats and are refused below, but they are advertised:
  // librdkafka before 2.10 sends compressed batches only to brokers listing Produce v0
  // (Kafka 4 advertises v0 for the same reason, KAFKA-18659).
  minVersion: 0,
  maxVersion: 11,
  async handle(ctx, req) {
    const { broker } = ctx;
    let image = broker.image();
    const validAcks = req.acks === 0 || req.acks === 1 || req.acks === -1;
    if (ctx.apiVersion < 3) {
      return {
        responses: req.topicData.map((td) => ({
          name: td.name,
          partitionResponses: td.partitionData.map((pd) =>
            partitionError(
              pd.index,
              ErrorCode.UNSUPPORTED_VERSION,
              'Produce v0-2 (legacy message formats) is not supported',
            ),
          ),
        })),
        throttleTimeMs: 0,
      };
    }
    // A partition this broker leads whose log is still being created (a topic just made):
    // wait for it, bounded by the request's timeout, instead of answering with an error that
    // makes some clients resend the whole request. Requests on a connection run one at a time,
    // so waiting keeps their order.
    const logsPending = req.topicData.some((td) => {
      const t = image.topicsByName.get(td.name);
      return (
        t !== undefined &&
        td.partitionData.some(
          (pd) => t.partitions[pd.index]?.leader === broker.nodeId && !broker.replicas.getPartition(t.id, pd.index),
        )
      );
    });
    if (logsPending) {
      await broker.replicas.awaitMetadataApplied(Math.min(Math.max(req.timeoutMs, 0), 30_000));
      image = broker.image();
    }
    // Appends happen now, in request order; acks=all then waits for the high watermark.
    const waits: Promise<void>[] = [];
    const responses = req.topicData.map((td) => {
      const topic = image.topicsByName.get(td.name);
      const policy = topic
        ? producePolicy(broker, configsOf(image, ConfigResourceType.TOPIC, td.name))
        : DEFAULT_PRODUCE_POLICY;
      return {
        name: td.name,
        partitionResponses: td.partitionData.map((pd) => {
          if (!validAcks) return partitionError(pd.index, ErrorCode.INVALID_REQUIRED_ACKS);
          if (!topic || pd.index < 0 || pd.index >= topic.partitions.length) {
            return partitionError(pd.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          }
          const r = broker.replicas.appendToLeader(topic.id, td.name, pd.index, pd.records, req.acks, policy, false);
          if (r.recordCount > 0) {
            broker.metrics.bytesIn.inc({ topic: td.name }, r.appendedBytes);
            broker.metrics.messagesIn.inc({ topic: td.name }, r.recordCount);
          }
          const out = {
            index: pd.index,
            errorCode: r.errorCode,
            baseOffset: r.baseOffset,
            logAppendTimeMs: r.logAppendTimeMs,
            logStartOffset: r.logStartOffset,
            recordErrors: r.recordErrors,
            errorMessage: r.errorMessage,
          };
          const p = broker.replicas.getPartition(topic.id, pd.index);
          if (req.acks === -1 && r.errorCode === ErrorCode.NONE && p) {
            waits.push(
              broker.replicas.awaitCommit(p, r.nextOffset, req.timeoutMs).then((outcome) => {
                if (outcome === 'timeout') {
                  out.errorCode = ErrorCode.REQUEST_TIMED_OUT;
                  out.errorMessage = 'The records were not replicated to the ISR within the request timeout';
                } else if (outcome === 'not-leader') {
                  out.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
                } else if (p.isr.length < policy.minInsyncReplicas) {
                  out.errorCode = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
                  out.errorMessage = `The ISR shrank to ${p.isr.length}, below min.insync.replicas=${policy.minInsyncReplicas}`;
                }
              }),
            );
          }
          return out;
        }),
      };
    });
    if (waits.length > 0) await Promise.all(waits);
    if (req.acks === 0) {
      // The producer cannot see errors without a response, so Kafka closes the connection.
      const failed = responses.some((t) => t.partitionResponses.some((p) => p.errorCode !== ErrorCode.NONE));
      return failed ? CLOSE_CONNECTION : NO_RESPONSE;
    }
    return { responses, throttleTimeMs: 0 };
  },
});
