// The broker's metrics: traffic per topic, requests per API, replication health, log sizes,
// consumer lag and connections.
import type { GroupCoordinator } from '../coordinator/group/coordinator.js';
import { API_SPECS } from '../protocol/generated/apis.js';
import { type Counter, type Histogram, LATENCY_BUCKETS_SECONDS, MetricsRegistry } from './metrics.js';
import type { ReplicaManager } from './replica-manager.js';

export interface MetricsSources {
  replicas: () => ReplicaManager | null;
  groups: () => GroupCoordinator | null;
  connections: () => number;
}

export class BrokerMetrics {
  readonly registry = new MetricsRegistry();
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly messagesIn: Counter;
  readonly requests: Counter;
  readonly requestLatency: Histogram;
  readonly errors: Counter;

  constructor(src: MetricsSources) {
    const r = this.registry;
    this.bytesIn = r.counter('kafka_server_brokertopicmetrics_bytesin_total', 'Bytes produced to each topic.');
    this.bytesOut = r.counter(
      'kafka_server_brokertopicmetrics_bytesout_total',
      'Bytes fetched by consumers from each topic.',
    );
    this.messagesIn = r.counter('kafka_server_brokertopicmetrics_messagesin_total', 'Records produced to each topic.');
    this.requests = r.counter('kafka_network_requestmetrics_requests_total', 'Requests handled, by API.');
    this.errors = r.counter(
      'kafka_network_requestmetrics_errors_total',
      'Partition-level errors returned, by API and error.',
    );
    this.requestLatency = r.histogram(
      'kafka_network_requestmetrics_totaltime_seconds',
      'Time from receiving a request to having its response ready, by API.',
      LATENCY_BUCKETS_SECONDS,
    );
    r.gauge(
      'kafka_server_replicamanager_underreplicatedpartitions',
      'Partitions led here whose ISR is smaller than their replica set.',
      () => {
        const replicas = src.replicas();
        let n = 0;
        for (const p of replicas?.allPartitions() ?? [])
          if (replicas?.isLeader(p) && p.isr.length < p.replicas.length) n++;
        return [{ labels: {}, value: n }];
      },
    );
    r.gauge('kafka_log_log_size_bytes', 'Size of each partition log on this broker.', () =>
      [...(src.replicas()?.allPartitions() ?? [])].map((p) => ({
        labels: { topic: p.topic, partition: String(p.index) },
        value: p.log.sizeBytes,
      })),
    );
    r.gauge('kafka_log_log_end_offset', 'Log end offset of each partition on this broker.', () =>
      [...(src.replicas()?.allPartitions() ?? [])].map((p) => ({
        labels: { topic: p.topic, partition: String(p.index) },
        value: p.log.logEndOffset,
      })),
    );
    r.gauge(
      'kafka_consumergroup_lag',
      'High watermark minus committed offset, per group and partition (partitions led here).',
      () => {
        const replicas = src.replicas();
        const out: { labels: Record<string, string>; value: number }[] = [];
        for (const c of src.groups()?.committedOffsets() ?? []) {
          const p = replicas?.partitionByName(c.topic, c.partition);
          if (!p || !replicas?.isLeader(p)) continue;
          out.push({
            labels: { group: c.group, topic: c.topic, partition: String(c.partition) },
            value: Math.max(0, p.log.highWatermark - c.offset),
          });
        }
        return out;
      },
    );
    r.gauge('kafka_server_socketserver_connections', 'Open client connections.', () => [
      { labels: {}, value: src.connections() },
    ]);
  }

  /** Records one handled request (the router's observer). */
  observeRequest(apiKey: number, latencyMs: number): void {
    const request = API_SPECS[apiKey]?.name ?? String(apiKey);
    this.requests.inc({ request });
    this.requestLatency.observe({ request }, latencyMs / 1000);
  }
}
