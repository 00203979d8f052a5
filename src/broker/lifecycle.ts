// A broker's life with the controller in cluster mode: register (fenced), heartbeat until
// caught up and unfenced, keep heartbeating, and ask for a controlled shutdown at the end.
import { ErrorCode } from '../protocol/errors.js';
import { errorMessage, logger } from '../util/log.js';
import type { ControllerApi } from './controller-api.js';

export interface LifecycleOptions {
  nodeId: number;
  clusterId: string;
  incarnationId: string;
  endpoints: { name: string; host: string; port: number; securityProtocol: number }[];
  rack: string | null;
  heartbeatIntervalMs: number;
  controller: () => ControllerApi;
  /** The offset of the last metadata record this broker has applied. */
  appliedOffset: () => number;
}

export class BrokerLifecycle {
  private readonly log = logger('broker-lifecycle');
  brokerEpoch = -1;
  fenced = true;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private unfencedWaiters: (() => void)[] = [];

  constructor(private readonly opts: LifecycleOptions) {}

  /** Registers, then heartbeats in the background; resolves once unfenced (or on timeout). */
  async start(unfenceTimeoutMs: number): Promise<void> {
    await this.register();
    this.schedule(0);
    if (!this.fenced) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, unfenceTimeoutMs);
      this.unfencedWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private async register(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const r = await this.opts.controller().registerBroker({
          brokerId: this.opts.nodeId,
          clusterId: this.opts.clusterId,
          incarnationId: this.opts.incarnationId,
          endpoints: this.opts.endpoints,
          rack: this.opts.rack,
        });
        if (r.errorCode === ErrorCode.NONE) {
          this.brokerEpoch = r.brokerEpoch;
          this.fenced = true;
          return;
        }
        this.log.warn(`registration of broker ${this.opts.nodeId} failed with error ${r.errorCode}; retrying`);
      } catch (err) {
        if (attempt % 10 === 0) this.log.warn(`cannot reach the controller to register: ${errorMessage(err)}`);
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (attempt + 1))));
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat(), delayMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      const r = await this.opts.controller().brokerHeartbeat({
        brokerId: this.opts.nodeId,
        brokerEpoch: this.brokerEpoch,
        currentMetadataOffset: this.opts.appliedOffset(),
        wantFence: false,
        wantShutDown: false,
      });
      if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
        this.log.warn(`controller does not know broker epoch ${this.brokerEpoch}; registering again`);
        await this.register();
      } else if (r.errorCode === ErrorCode.NONE) {
        const wasFenced = this.fenced;
        this.fenced = r.isFenced;
        if (wasFenced && !this.fenced) {
          this.log.info(`broker ${this.opts.nodeId} is unfenced`);
          const ws = this.unfencedWaiters;
          this.unfencedWaiters = [];
          for (const w of ws) w();
        }
      }
    } catch (err) {
      this.log.debug(`heartbeat failed: ${errorMessage(err)}`);
    }
    // Heartbeat faster while fenced, to be unfenced as soon as caught up.
    this.schedule(this.fenced ? Math.min(200, this.opts.heartbeatIntervalMs) : this.opts.heartbeatIntervalMs);
  }

  /** Controlled shutdown: move leadership away, then stop heartbeating. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.brokerEpoch < 0) return;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const r = await this.opts.controller().brokerHeartbeat({
          brokerId: this.opts.nodeId,
          brokerEpoch: this.brokerEpoch,
          currentMetadataOffset: this.opts.appliedOffset(),
          wantFence: false,
          wantShutDown: true,
        });
        if (r.errorCode !== ErrorCode.NONE || r.shouldShutDown) return;
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
