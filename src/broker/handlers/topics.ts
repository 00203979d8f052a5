// CreateTopics, DeleteTopics and CreatePartitions: validated by the controller, written to
// the metadata log, answered once this broker has applied the change.

import type { CreateTopicSpec } from '../../metadata/controller.js';
import { configsOf } from '../../metadata/image.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import { ConfigResourceType } from '../config-defs.js';
import { defineHandler } from '../router.js';

export const createTopicsHandler = defineHandler({
  apiKey: ApiKey.CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  async handle(ctx, req) {
    const { broker, apiVersion } = ctx;
    const specs: CreateTopicSpec[] = req.topics.map((t) => ({
      name: t.name,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      assignments: t.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: a.brokerIds })),
      configs: new Map(t.configs.map((c) => [c.name, c.value])),
    }));
    const results = await broker.controller.createTopics(specs, req.validateOnly);
    if (!req.validateOnly) {
      // Up to the request's timeout, not less than 5 s: creating many partition logs on a busy
      // disk can take longer, and answering early lets clients produce before the logs exist.
      await broker.awaitImage(
        (img) => results.every((r) => r.errorCode !== ErrorCode.NONE || img.topicsByName.has(r.name)),
        Math.max(req.timeoutMs, 5000),
      );
    }
    const image = broker.image();
    return {
      throttleTimeMs: 0,
      topics: results.map((r, i) => {
        const ok = r.errorCode === ErrorCode.NONE;
        const spec = specs[i] as CreateTopicSpec;
        const overrides = ok
          ? req.validateOnly
            ? new Map([...spec.configs].filter((e): e is [string, string] => e[1] !== null))
            : configsOf(image, ConfigResourceType.TOPIC, r.name)
          : new Map<string, string>();
        return {
          name: r.name,
          topicId: ok && !req.validateOnly ? r.topicId : ZERO_UUID,
          errorCode: r.errorCode,
          errorMessage: r.errorMessage,
          numPartitions: ok ? r.numPartitions : -1,
          replicationFactor: ok ? r.replicationFactor : -1,
          configs:
            ok && apiVersion >= 5
              ? broker.config.describeTopicConfigs(overrides).map((c) => ({
                  name: c.name,
                  value: c.value,
                  readOnly: c.readOnly,
                  configSource: c.source,
                  isSensitive: c.sensitive,
                }))
              : null,
        };
      }),
    };
  },
});

export const deleteTopicsHandler = defineHandler({
  apiKey: ApiKey.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  async handle(ctx, req) {
    const { broker, apiVersion } = ctx;
    const image = broker.image();
    // Resolve names and ids first; unknown ones are answered without touching the controller.
    const entries =
      apiVersion >= 6
        ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId }))
        : req.topicNames.map((n) => ({ name: n as string | null, topicId: ZERO_UUID }));
    const responses: { name: string | null; topicId: string; errorCode: number; errorMessage: string | null }[] = [];
    const toDelete: { index: number; id: string }[] = [];
    for (const e of entries) {
      if (e.name !== null && e.topicId !== ZERO_UUID) {
        responses.push({
          ...e,
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: 'Topic name and topic id cannot both be set.',
        });
        continue;
      }
      const t = e.name !== null ? image.topicsByName.get(e.name) : image.topicsById.get(e.topicId);
      if (!t) {
        const byId = e.name === null;
        responses.push({
          name: e.name,
          topicId: e.topicId,
          errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: byId
            ? 'This server does not host this topic ID.'
            : 'This server does not host this topic-partition.',
        });
        continue;
      }
      toDelete.push({ index: responses.length, id: t.id });
      responses.push({ name: t.name, topicId: t.id, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    if (toDelete.length > 0) {
      const results = await broker.controller.deleteTopics(toDelete.map((d) => d.id));
      toDelete.forEach((d, i) => {
        const r = results[i];
        const resp = responses[d.index];
        if (r && resp) {
          resp.errorCode = r.errorCode;
          resp.errorMessage = r.errorMessage;
        }
      });
      const deleted = toDelete.filter((_, i) => results[i]?.errorCode === ErrorCode.NONE).map((d) => d.id);
      await broker.awaitImage((img) => deleted.every((id) => !img.topicsById.has(id)));
    }
    return { throttleTimeMs: 0, responses };
  },
});

export const createPartitionsHandler = defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req) {
    const { broker } = ctx;
    const results = await broker.controller.createPartitions(
      req.topics.map((t) => ({
        name: t.name,
        count: t.count,
        assignments: t.assignments === null ? null : t.assignments.map((a) => a.brokerIds),
      })),
      req.validateOnly,
    );
    if (!req.validateOnly) {
      await broker.awaitImage(
        (img) =>
          req.topics.every(
            (t, i) =>
              results[i]?.errorCode !== ErrorCode.NONE ||
              (img.topicsByName.get(t.name)?.partitions.length ?? 0) >= t.count,
          ),
        Math.max(req.timeoutMs, 5000),
      );
    }
    return { throttleTimeMs: 0, results };
  },
});
