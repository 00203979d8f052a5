// DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and brokers.

import { topicNameProblem } from '../../metadata/controller.js';
import { configsOf, type MetadataImage } from '../../metadata/image.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { DescribeConfigsResponseDescribeConfigsResultInit } from '../../protocol/generated/api/describe-configs.js';
import { ApiKey } from '../../protocol/generated/apis.js';
import type { ConfigEntryView } from '../config.js';
import { CONFIG_TYPE_CODE, ConfigResourceType, type ConfigType, TOPIC_CONFIGS } from '../config-defs.js';
import type { BrokerContext } from '../context.js';
import { defineHandler } from '../router.js';

const OP_SET = 0;
const OP_DELETE = 1;
const OP_APPEND = 2;
const OP_SUBTRACT = 3;

function describeResource(
  broker: BrokerContext,
  image: MetadataImage,
  resourceType: number,
  resourceName: string,
): { errorCode: number; errorMessage: string | null; entries: ConfigEntryView[] } {
  if (resourceType === ConfigResourceType.TOPIC) {
    const nameProblem = topicNameProblem(resourceName);
    if (nameProblem) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: nameProblem, entries: [] };
    if (!image.topicsByName.has(resourceName)) {
      return {
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `Topic ${resourceName} does not exist.`,
        entries: [],
      };
    }
    const overrides = configsOf(image, ConfigResourceType.TOPIC, resourceName);
    return { errorCode: ErrorCode.NONE, errorMessage: null, entries: broker.config.describeTopicConfigs(overrides) };
  }
  if (resourceType === ConfigResourceType.BROKER) {
    if (resourceName === '') {
      // The cluster-wide default resource lists only dynamic defaults.
      const defaults = configsOf(image, ConfigResourceType.BROKER, '');
      const entries = [...defaults].map(([name, value]) => ({
        name,
        value,
        source: 3,
        readOnly: false,
        sensitive: false,
        synonyms: [{ name, value, source: 3 }],
        type: 'string',
        doc: '',
      }));
      return { errorCode: ErrorCode.NONE, errorMessage: null, entries };
    }
    if (resourceName !== String(broker.nodeId)) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${resourceName}`,
        entries: [],
      };
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, entries: broker.config.describeBrokerConfigs() };
  }
  if (resourceType === ConfigResourceType.BROKER_LOGGER) {
    const level = process.env.EDDY_LOG_LEVEL ?? 'INFO';
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      entries: [
        {
          name: 'root',
          value: level.toUpperCase(),
          source: 6,
          readOnly: false,
          sensitive: false,
          synonyms: [],
          type: 'string',
          doc: '',
        },
      ],
    };
  }
  return {
    errorCode: ErrorCode.INVALID_REQUEST,
    errorMessage: `Unsupported resource type ${resourceType}`,
    entries: [],
  };
}

export const describeConfigsHandler = defineHandler({
  apiKey: ApiKey.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, req) {
    const { broker, apiVersion } = ctx;
    const image = broker.image();
    const results: DescribeConfigsResponseDescribeConfigsResultInit[] = req.resources.map((res) => {
      const d = describeResource(broker, image, res.resourceType, res.resourceName);
      const keys = res.configurationKeys === null ? null : new Set(res.configurationKeys);
      return {
        errorCode: d.errorCode,
        errorMessage: d.errorMessage,
        resourceType: res.resourceType,
        resourceName: res.resourceName,
        configs: d.entries
          .filter((e) => keys === null || keys.has(e.name))
          .map((e) => ({
            name: e.name,
            value: e.sensitive ? null : e.value,
            readOnly: e.readOnly,
            isDefault: e.source === 5,
            configSource: e.source,
            isSensitive: e.sensitive,
            synonyms: req.includeSynonyms && apiVersion >= 1 ? e.synonyms : [],
            configType: CONFIG_TYPE_CODE[e.type as ConfigType] ?? 0,
            documentation: req.includeDocumentation ? e.doc : null,
          })),
      };
    });
    return { throttleTimeMs: 0, results };
  },
});

function listValue(v: string | null | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const incrementalAlterConfigsHandler = defineHandler({
  apiKey: ApiKey.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, req) {
    const { broker } = ctx;
    const image = broker.image();
    const responses: { errorCode: number; errorMessage: string | null; resourceType: number; resourceName: string }[] =
      [];
    const changes: {
      index: number;
      change: { resourceType: number; resourceName: string; set: Map<string, string | null>; replaceAll: boolean };
    }[] = [];
    for (const res of req.resources) {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      const existing = configsOf(image, res.resourceType, res.resourceName);
      const set = new Map<string, string | null>();
      let problem: string | null = null;
      for (const c of res.configs) {
        if (set.has(c.name)) {
          problem = `Duplicate config ${c.name} in the request`;
          break;
        }
        const current =
          res.resourceType === ConfigResourceType.TOPIC
            ? broker.config.topicConfigValue(c.name, existing)
            : (existing.get(c.name) ?? broker.config.get(c.name));
        switch (c.configOperation) {
          case OP_SET:
            set.set(c.name, c.value);
            break;
          case OP_DELETE:
            set.set(c.name, null);
            break;
          case OP_APPEND:
          case OP_SUBTRACT: {
            const def = TOPIC_CONFIGS.get(c.name);
            if (res.resourceType === ConfigResourceType.TOPIC && def && def.type !== 'list') {
              problem = `Config value append is not allowed for config key: ${c.name}`;
              break;
            }
            const items = listValue(current);
            const delta = listValue(c.value);
            const next =
              c.configOperation === OP_APPEND
                ? [...items, ...delta.filter((d) => !items.includes(d))]
                : items.filter((i) => !delta.includes(i));
            set.set(c.name, next.join(','));
            break;
          }
          default:
            problem = `Unknown config operation ${c.configOperation}`;
        }
        if (problem) break;
      }
      if (problem) {
        responses.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem });
        continue;
      }
      changes.push({ index: responses.length, change: { ...base, set, replaceAll: false } });
      responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    const results = await broker.controller.alterConfigs(
      changes.map((c) => c.change),
      req.validateOnly,
    );
    changes.forEach((c, i) => {
      const r = results[i];
      const resp = responses[c.index];
      if (r && resp) {
        resp.errorCode = r.errorCode;
        resp.errorMessage = r.errorMessage;
      }
    });
    await broker.awaitMetadata(broker.metadataLog.endOffset() - 1);
    return { throttleTimeMs: 0, responses };
  },
});

export const alterConfigsHandler = defineHandler({
  apiKey: ApiKey.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req) {
    const { broker } = ctx;
    const results = await broker.controller.alterConfigs(
      req.resources.map((res) => ({
        resourceType: res.resourceType,
        resourceName: res.resourceName,
        set: new Map(res.configs.map((c) => [c.name, c.value])),
        replaceAll: true,
      })),
      req.validateOnly,
    );
    await broker.awaitMetadata(broker.metadataLog.endOffset() - 1);
    return {
      throttleTimeMs: 0,
      responses: req.resources.map((res, i) => ({
        errorCode: results[i]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR,
        errorMessage: results[i]?.errorMessage ?? null,
        resourceType: res.resourceType,
        resourceName: res.resourceName,
      })),
    };
  },
});
