// Broker configuration: server.properties parsing, overrides, dynamic configs from the
// metadata log, and the effective per-topic log config with Kafka's synonym rules.
import { readFileSync } from 'node:fs';
import type { LogConfig } from '../storage/index.js';
import {
  BROKER_CONFIGS,
  type ConfigDef,
  ConfigSource,
  TOPIC_CONFIG_DEFS,
  TOPIC_CONFIGS,
  type TopicConfigDef,
  validateConfigValue,
} from './config-defs.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses Java .properties text (key=value or key: value, # and ! comments, \ continuations). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1) + (lines[++i] as string).trim();
    }
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) {
      out.set(line, '');
      continue;
    }
    out.set(m[1] as string, m[2] as string);
  }
  return out;
}

export function readPropertiesFile(path: string): Map<string, string> {
  try {
    return parseProperties(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
}

export interface ListenerSpec {
  name: string;
  host: string;
  port: number;
  securityProtocol: string;
}

/** Parses `NAME://host:port,...`; an empty host means all interfaces. */
export function parseListeners(text: string, protocolMap: Map<string, string>): ListenerSpec[] {
  const out: ListenerSpec[] = [];
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(item);
    if (!m) throw new ConfigError(`invalid listener ${JSON.stringify(item)}: expected NAME://host:port`);
    const name = (m[1] as string).toUpperCase();
    const port = Number(m[3]);
    if (port > 65535) throw new ConfigError(`invalid port in listener ${item}`);
    const securityProtocol = protocolMap.get(name) ?? name;
    out.push({ name, host: (m[2] as string).replace(/^\[|\]$/g, ''), port, securityProtocol });
  }
  return out;
}

function parseProtocolMap(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of text.split(',')) {
    const [k, v] = item.split(':').map((s) => s.trim());
    if (k && v) out.set(k.toUpperCase(), v.toUpperCase());
  }
  return out;
}

/** Numbers from config text; values past 2^53 (Kafka's Long.MAX_VALUE "never") clamp to the largest safe integer. */
function toNumber(v: string): number {
  const n = Number(v);
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

export interface ConfigEntryView {
  name: string;
  value: string | null;
  source: number;
  readOnly: boolean;
  sensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  type: string;
  doc: string;
}

/**
 * Static broker config (file + overrides) plus dynamic broker configs. Values resolve as
 * Kafka does: per-broker dynamic > cluster-default dynamic > static > default.
 */
export class BrokerConfig {
  readonly staticProps: ReadonlyMap<string, string>;
  private dynamicBroker = new Map<string, string>();
  private dynamicDefault = new Map<string, string>();

  constructor(props: Map<string, string>) {
    for (const [k, v] of props) {
      const def = BROKER_CONFIGS.get(k);
      if (def) {
        const problem = validateConfigValue(def, v);
        if (problem) throw new ConfigError(problem);
      }
    }
    this.staticProps = props;
    this.validate();
  }

  static fromObject(values: Record<string, string | number | boolean>): BrokerConfig {
    const m = new Map<string, string>();
    for (const [k, v] of Object.entries(values)) m.set(k, String(v));
    return new BrokerConfig(m);
  }

  private validate(): void {
    this.listeners();
    if (this.logDirs().length === 0) throw new ConfigError('log.dirs must name at least one directory');
  }

  /** Replaces the dynamic broker configs (from ConfigRecords for this node and the cluster default). */
  setDynamic(perBroker: ReadonlyMap<string, string>, clusterDefault: ReadonlyMap<string, string>): void {
    this.dynamicBroker = new Map(perBroker);
    this.dynamicDefault = new Map(clusterDefault);
  }

  /** The effective value and where it came from. */
  lookup(name: string): { value: string | null; source: number } {
    const d1 = this.dynamicBroker.get(name);
    if (d1 !== undefined) return { value: d1, source: ConfigSource.DYNAMIC_BROKER_CONFIG };
    const d2 = this.dynamicDefault.get(name);
    if (d2 !== undefined) return { value: d2, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG };
    const s = this.staticProps.get(name);
    if (s !== undefined) return { value: s, source: ConfigSource.STATIC_BROKER_CONFIG };
    const def = BROKER_CONFIGS.get(name);
    return { value: def?.defaultValue ?? null, source: ConfigSource.DEFAULT_CONFIG };
  }

  get(name: string): string | null {
    return this.lookup(name).value;
  }

  isSet(name: string): boolean {
    return this.lookup(name).source !== ConfigSource.DEFAULT_CONFIG;
  }

  getNumber(name: string): number {
    const v = this.get(name);
    if (v === null) throw new ConfigError(`${name} has no value`);
    return toNumber(v);
  }

  getBoolean(name: string): boolean {
    return (this.get(name) ?? 'false').toLowerCase() === 'true';
  }

  getList(name: string): string[] {
    return (this.get(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  get nodeId(): number {
    if (this.isSet('node.id')) return this.getNumber('node.id');
    const legacy = this.getNumber('broker.id');
    return legacy >= 0 ? legacy : this.getNumber('node.id');
  }

  listeners(): ListenerSpec[] {
    const map = parseProtocolMap(this.get('listener.security.protocol.map') ?? '');
    return parseListeners(this.get('listeners') ?? '', map);
  }

  advertisedListeners(): ListenerSpec[] {
    const map = parseProtocolMap(this.get('listener.security.protocol.map') ?? '');
    const text = this.get('advertised.listeners');
    const listeners = this.listeners();
    if (text === null || text.trim() === '') return listeners;
    return parseListeners(text, map);
  }

  logDirs(): string[] {
    const dirs = this.getList('log.dirs');
    if (dirs.length > 0) return dirs;
    return [this.get('log.dir') ?? './eddy-data'];
  }

  /** A broker-level value for a topic config, following the synonym order; null when none is set. */
  private brokerValueForTopicConfig(def: TopicConfigDef): { value: string; source: number; name: string } | null {
    for (const syn of def.brokerSynonyms) {
      const { value, source } = this.lookup(syn);
      if (source === ConfigSource.DEFAULT_CONFIG || value === null) continue;
      return { value: convertSynonym(syn, value), source, name: syn };
    }
    return null;
  }

  /** Effective value of a topic config given the topic's overrides. */
  topicConfigValue(name: string, overrides: ReadonlyMap<string, string>): string | null {
    const def = TOPIC_CONFIGS.get(name);
    if (!def) return overrides.get(name) ?? null;
    const o = overrides.get(name);
    if (o !== undefined) return o;
    const b = this.brokerValueForTopicConfig(def);
    if (b) return b.value;
    return defaultForTopicConfig(def, this);
  }

  /** The storage LogConfig for a topic with the given overrides. */
  logConfigFor(overrides: ReadonlyMap<string, string>): LogConfig {
    const num = (n: string): number => toNumber(this.topicConfigValue(n, overrides) ?? '0');
    // Retention deletes segments only under cleanup.policy=delete; compacted topics (such as
    // __consumer_offsets) keep their data.
    const policies = (this.topicConfigValue('cleanup.policy', overrides) ?? 'delete').split(',').map((p) => p.trim());
    const deletes = policies.includes('delete');
    return {
      segmentBytes: num('segment.bytes'),
      segmentMs: num('segment.ms'),
      segmentIndexBytes: num('segment.index.bytes'),
      indexIntervalBytes: num('index.interval.bytes'),
      retentionMs: deletes ? num('retention.ms') : -1,
      retentionBytes: deletes ? num('retention.bytes') : -1,
      maxMessageBytes: num('max.message.bytes'),
      flushMessages: num('flush.messages'),
      flushMs: num('flush.ms'),
      fileDeleteDelayMs: num('file.delete.delay.ms'),
      messageTimestampType:
        this.topicConfigValue('message.timestamp.type', overrides) === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    };
  }

  /** DescribeConfigs view of every topic config. */
  describeTopicConfigs(overrides: ReadonlyMap<string, string>): ConfigEntryView[] {
    return TOPIC_CONFIG_DEFS.map((def) => {
      const synonyms: ConfigEntryView['synonyms'] = [];
      const o = overrides.get(def.name);
      if (o !== undefined) synonyms.push({ name: def.name, value: o, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
      for (const syn of def.brokerSynonyms) {
        const d1 = this.dynamicBroker.get(syn);
        if (d1 !== undefined) synonyms.push({ name: syn, value: d1, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
        const d2 = this.dynamicDefault.get(syn);
        if (d2 !== undefined) {
          synonyms.push({ name: syn, value: d2, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
        }
        const s = this.staticProps.get(syn);
        if (s !== undefined) synonyms.push({ name: syn, value: s, source: ConfigSource.STATIC_BROKER_CONFIG });
      }
      const defaultSynonym = def.brokerSynonyms[def.brokerSynonyms.length - 1];
      const bdef = defaultSynonym ? BROKER_CONFIGS.get(defaultSynonym) : undefined;
      if (defaultSynonym && bdef && bdef.defaultValue !== null) {
        synonyms.push({ name: defaultSynonym, value: bdef.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
      }
      const first = synonyms[0];
      let value: string | null;
      let source: number;
      if (first && first.source !== ConfigSource.DEFAULT_CONFIG) {
        value =
          first.source === ConfigSource.DYNAMIC_TOPIC_CONFIG ? first.value : this.topicConfigValue(def.name, overrides);
        source = first.source;
      } else {
        value = this.topicConfigValue(def.name, overrides);
        source = ConfigSource.DEFAULT_CONFIG;
      }
      return {
        name: def.name,
        value,
        source,
        readOnly: false,
        sensitive: false,
        synonyms,
        type: def.type,
        doc: def.doc,
      };
    });
  }

  /** DescribeConfigs view of the broker's configs. */
  describeBrokerConfigs(): ConfigEntryView[] {
    const names = new Set<string>([...BROKER_CONFIGS.keys(), ...this.staticProps.keys()]);
    const out: ConfigEntryView[] = [];
    for (const name of [...names].sort()) {
      const def: ConfigDef | undefined = BROKER_CONFIGS.get(name);
      const synonyms: ConfigEntryView['synonyms'] = [];
      const d1 = this.dynamicBroker.get(name);
      if (d1 !== undefined) synonyms.push({ name, value: d1, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
      const d2 = this.dynamicDefault.get(name);
      if (d2 !== undefined) synonyms.push({ name, value: d2, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
      const s = this.staticProps.get(name);
      if (s !== undefined) synonyms.push({ name, value: s, source: ConfigSource.STATIC_BROKER_CONFIG });
      if (def?.defaultValue !== null && def?.defaultValue !== undefined) {
        synonyms.push({ name, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
      }
      const { value, source } = this.lookup(name);
      out.push({
        name,
        value,
        source,
        readOnly: def?.dynamic !== true,
        sensitive: def?.sensitive === true,
        synonyms,
        type: def?.type ?? 'string',
        doc: def?.doc ?? '',
      });
    }
    return out;
  }
}

/** Converts a time-unit synonym (minutes, hours) to the ms value of the topic config. */
function convertSynonym(name: string, value: string): string {
  if (name.endsWith('.minutes')) return String(Number(value) * 60_000);
  if (name.endsWith('.hours')) return String(Number(value) * 3_600_000);
  return value;
}

function defaultForTopicConfig(def: TopicConfigDef, cfg: BrokerConfig): string | null {
  // A broker synonym whose own default differs (log.retention.hours=168) yields the topic default.
  const last = def.brokerSynonyms[def.brokerSynonyms.length - 1];
  if (last) {
    const bdef = BROKER_CONFIGS.get(last);
    if (bdef && bdef.defaultValue !== null) return convertSynonym(last, bdef.defaultValue);
  }
  void cfg;
  return def.defaultValue;
}

/** Validates topic config overrides; returns the first problem as text, or null. */
export function validateTopicConfigs(configs: ReadonlyMap<string, string | null>): string | null {
  for (const [name, value] of configs) {
    const def = TOPIC_CONFIGS.get(name);
    if (!def) return `Unknown topic config name: ${name}`;
    if (value === null) continue;
    const problem = validateConfigValue(def, value);
    if (problem) return problem;
  }
  return null;
}
