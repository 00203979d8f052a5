// One TCP (or TLS) connection to one broker: framing, pipelining up to maxInFlightRequests,
// correlation ids, ApiVersions negotiation, request timeouts and AbortSignal support.
import * as net from 'node:net';
import { Reader } from '../protocol/codec.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { FrameDecoder } from '../protocol/framing.js';
import { type ApiVersionsResponse, decodeApiVersionsResponse } from '../protocol/generated/api/api-versions.js';
import { ApiKey, type ApiMessages } from '../protocol/generated/apis.js';
import { apiSpec, decodeResponseHeader, encodeRequestFrame } from '../protocol/messages.js';
import { AbortError, ClientClosedError, ConnectionError, ProtocolError, RequestTimeoutError } from './errors.js';
import { type Logger, silentLogger } from './util.js';
import { CLIENT_VERSIONS, negotiateVersion, type VersionRange } from './versions.js';

export const CLIENT_SOFTWARE_NAME = 'eddy-client';
export const CLIENT_SOFTWARE_VERSION = '0.1.0';

/** Opens a connected duplex stream to a broker. Replace it to add TLS (tls.connect) or proxies. */
export type SocketFactory = (opts: {
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
}) => Promise<net.Socket>;

/** Runs after ApiVersions and before any other request: the place for SASL. */
export type AuthenticateHook = (ctx: { connection: Connection; host: string; port: number }) => Promise<void>;

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Requests written before their responses arrive; more wait in a queue. */
  maxInFlightRequests?: number;
  /** Largest response frame accepted. */
  maxResponseBytes?: number;
  socketFactory?: SocketFactory;
  authenticate?: AuthenticateHook;
  logger?: Logger;
}

export interface RequestOptions {
  /** Version to use; defaults to the highest both sides support. */
  version?: number;
  signal?: AbortSignal;
  /** Overrides the connection's request timeout (a fetch adds its max wait to it). */
  timeoutMs?: number;
  /** False for Produce with acks=0: the broker sends no response. */
  expectResponse?: boolean;
}

interface PendingRequest {
  correlationId: number;
  apiKey: number;
  apiVersion: number;
  frame: Buffer[] | null;
  expectResponse: boolean;
  deadline: number;
  timeoutMs: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Settled already (aborted); its response is read and dropped. */
  done: boolean;
}

export const defaultSocketFactory: SocketFactory = ({ host, port, timeoutMs, signal }) =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(err);
    const onTimeout = (): void => fail(new Error(`connect timed out after ${timeoutMs} ms`));
    const onAbort = (): void => fail(new AbortError(signal?.reason));
    const timer = setTimeout(onTimeout, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      cleanup();
      resolve(socket);
    });
  });

type State = 'idle' | 'connecting' | 'authenticating' | 'ready' | 'closed';

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly address: string;
  private readonly clientId: string;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly socketFactory: SocketFactory;
  private readonly authenticate: AuthenticateHook | undefined;
  private readonly logger: Logger;
  private readonly decoder: FrameDecoder;

  private state: State = 'idle';
  private socket: net.Socket | null = null;
  private connectPromise: Promise<void> | null = null;
  private nextCorrelationId = 1;
  /** Written, awaiting responses, in send order (Kafka answers in order per connection). */
  private inFlight: PendingRequest[] = [];
  private inFlightHead = 0;
  /** Waiting for an in-flight slot. */
  private queued: PendingRequest[] = [];
  private queuedHead = 0;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private corked = false;
  private brokerVersions = new Map<number, VersionRange>();
  private closeListeners: ((err: Error | null) => void)[] = [];

  constructor(opts: ConnectionOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.address = `${opts.host}:${opts.port}`;
    this.clientId = opts.clientId;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.maxInFlight = Math.max(1, opts.maxInFlightRequests ?? 64);
    this.socketFactory = opts.socketFactory ?? defaultSocketFactory;
    this.authenticate = opts.authenticate;
    this.logger = opts.logger ?? silentLogger;
    this.decoder = new FrameDecoder(opts.maxResponseBytes ?? 256 * 1024 * 1024);
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Requests written and not yet answered plus those queued behind them. */
  get pendingCount(): number {
    return this.inFlight.length - this.inFlightHead + (this.queued.length - this.queuedHead);
  }

  /** Called once when the connection closes; `err` is null for a deliberate close. */
  onClose(listener: (err: Error | null) => void): void {
    this.closeListeners.push(listener);
  }

  /** Connects, negotiates API versions and authenticates. Idempotent while in progress. */
  connect(signal?: AbortSignal): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new ConnectionError(this.address, 'connection is closed'));
    this.connectPromise ??= this.doConnect(signal);
    return this.connectPromise;
  }

  private async doConnect(signal?: AbortSignal): Promise<void> {
    this.state = 'connecting';
    let socket: net.Socket;
    try {
      socket = await this.socketFactory({
        host: this.host,
        port: this.port,
        timeoutMs: this.connectTimeoutMs,
        signal,
      });
    } catch (err) {
      const e = err instanceof AbortError ? err : new ConnectionError(this.address, errorMessage(err), { cause: err });
      this.shutdown(e);
      throw e;
    }
    if ((this.state as State) === 'closed') {
      socket.destroy();
      throw new ConnectionError(this.address, 'closed while connecting');
    }
    this.socket = socket;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.shutdown(new ConnectionError(this.address, err.message, { cause: err })));
    socket.on('close', () => this.shutdown(new ConnectionError(this.address, 'connection closed by broker')));
    this.state = 'authenticating';
    try {
      await this.negotiateVersions(signal);
      if (this.authenticate) await this.authenticate({ connection: this, host: this.host, port: this.port });
    } catch (err) {
      // A refused login is final; anything else during the handshake is worth a reconnect.
      const e =
        err instanceof ConnectionError || err instanceof AbortError || (err instanceof KafkaError && !err.retriable)
          ? err
          : new ConnectionError(this.address, `handshake failed: ${errorMessage(err)}`, { cause: err });
      this.shutdown(e);
      throw e;
    }
    if (this.state !== 'authenticating') throw new ConnectionError(this.address, 'closed during handshake');
    this.state = 'ready';
  }

  /**
   * ApiVersions at the highest version we know; a broker that does not support it answers
   * UNSUPPORTED_VERSION in v0 format with its own range (KIP-511), and we retry with that.
   */
  private async negotiateVersions(signal?: AbortSignal): Promise<void> {
    let version = (CLIENT_VERSIONS[ApiKey.ApiVersions] as VersionRange).max;
    for (let attempt = 0; attempt < 2; attempt++) {
      const resp = await this.send(
        ApiKey.ApiVersions,
        { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION },
        { version, signal },
      );
      if (resp.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
        const own = resp.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
        const next = own ? Math.min(own.maxVersion, version - 1) : 0;
        if (next < 0 || next >= version) break;
        version = next;
        continue;
      }
      if (resp.errorCode !== ErrorCode.NONE) throw new KafkaError(resp.errorCode, 'ApiVersions failed');
      this.brokerVersions.clear();
      for (const k of resp.apiKeys) this.brokerVersions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
      return;
    }
    throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, 'no ApiVersions version in common with the broker');
  }

  /** The broker's advertised range for an API, once connected. */
  brokerVersionRange(apiKey: number): VersionRange | undefined {
    return this.brokerVersions.get(apiKey);
  }

  /** Highest version both sides support; throws when there is none. */
  versionFor(apiKey: number, clientRange: VersionRange | undefined = CLIENT_VERSIONS[apiKey]): number {
    const v = negotiateVersion(clientRange, this.brokerVersions.get(apiKey));
    if (v < 0) {
      const name = apiSpec(apiKey)?.name ?? String(apiKey);
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_VERSION,
        `broker ${this.address} supports no usable version of ${name}`,
      );
    }
    return v;
  }

  supports(apiKey: number): boolean {
    return negotiateVersion(CLIENT_VERSIONS[apiKey], this.brokerVersions.get(apiKey)) >= 0;
  }

  /** Sends a request once connected and resolves with its decoded response. */
  async request<K extends keyof ApiMessages>(
    apiKey: K,
    body: ApiMessages[K]['requestInit'],
    opts: RequestOptions = {},
  ): Promise<ApiMessages[K]['response']> {
    if (this.state !== 'ready') await this.connect(opts.signal);
    return this.send(apiKey, body, opts);
  }

  /** Sends without waiting for the handshake (used by it, and by authenticate hooks). */
  send<K extends keyof ApiMessages>(
    apiKey: K,
    body: ApiMessages[K]['requestInit'],
    opts: RequestOptions = {},
  ): Promise<ApiMessages[K]['response']> {
    if (this.state === 'closed' || this.socket === null) {
      return Promise.reject(new ConnectionError(this.address, 'not connected'));
    }
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
    const apiVersion = opts.version ?? this.versionFor(apiKey);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = correlationId >= 0x7fffffff ? 1 : correlationId + 1;
    const frame = encodeRequestFrame({ apiKey, apiVersion, correlationId, clientId: this.clientId, body });
    return new Promise((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      const p: PendingRequest = {
        correlationId,
        apiKey,
        apiVersion,
        frame,
        expectResponse: opts.expectResponse ?? true,
        deadline: 0,
        timeoutMs,
        resolve: resolve as (v: unknown) => void,
        reject,
        signal,
        onAbort: undefined,
        done: false,
      };
      if (signal) {
        p.onAbort = () => this.abortRequest(p);
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      if (this.inFlight.length - this.inFlightHead < this.maxInFlight) this.write(p);
      else this.queued.push(p);
    });
  }

  private write(p: PendingRequest): void {
    const socket = this.socket as net.Socket;
    const frame = p.frame as Buffer[];
    p.frame = null;
    // Cork so requests issued in the same tick leave in one writev.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket?.uncork();
      });
    }
    for (const chunk of frame) socket.write(chunk);
    if (!p.expectResponse) {
      this.settle(p);
      p.resolve(undefined);
      return;
    }
    p.deadline = Date.now() + p.timeoutMs;
    this.inFlight.push(p);
    if (this.timeoutTimer === null) this.armTimeout(p.timeoutMs);
  }

  private armTimeout(delayMs: number): void {
    this.timeoutTimer = setTimeout(() => this.checkTimeouts(), Math.max(1, delayMs));
    this.timeoutTimer.unref();
  }

  private checkTimeouts(): void {
    this.timeoutTimer = null;
    const now = Date.now();
    let earliest = Number.POSITIVE_INFINITY;
    for (let i = this.inFlightHead; i < this.inFlight.length; i++) {
      const p = this.inFlight[i] as PendingRequest;
      if (p.done) continue;
      if (p.deadline <= now) {
        const name = apiSpec(p.apiKey)?.name ?? String(p.apiKey);
        const err = new RequestTimeoutError(
          `${name} request to ${this.address} timed out after ${p.timeoutMs} ms (correlation id ${p.correlationId})`,
        );
        this.logger.warn('request timed out; closing the connection', { address: this.address, api: name });
        // Responses come in order, so a late one would block all behind it: reset the connection.
        this.settle(p);
        p.reject(err);
        this.shutdown(new ConnectionError(this.address, 'closed after a request timeout', { cause: err }));
        return;
      }
      if (p.deadline < earliest) earliest = p.deadline;
    }
    if (earliest !== Number.POSITIVE_INFINITY) this.armTimeout(earliest - now);
  }

  private abortRequest(p: PendingRequest): void {
    if (p.done) return;
    const i = this.queued.indexOf(p, this.queuedHead);
    if (i >= 0) this.queued.splice(i, 1);
    this.settle(p);
    p.reject(new AbortError(p.signal?.reason));
  }

  private settle(p: PendingRequest): void {
    p.done = true;
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
    p.onAbort = undefined;
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.shutdown(new ConnectionError(this.address, errorMessage(err), { cause: err }));
      return;
    }
    for (const frame of frames) {
      if (this.state === 'closed') return;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    const p = this.inFlight[this.inFlightHead];
    const correlationId = frame.length >= 4 ? frame.readInt32BE(0) : -1;
    if (p === undefined || p.correlationId !== correlationId) {
      this.shutdown(
        new ConnectionError(this.address, `unexpected correlation id ${correlationId} (expected ${p?.correlationId})`),
      );
      return;
    }
    this.inFlight[this.inFlightHead] = undefined as unknown as PendingRequest;
    this.inFlightHead++;
    if (this.inFlightHead > 1024 && this.inFlightHead * 2 > this.inFlight.length) {
      this.inFlight = this.inFlight.slice(this.inFlightHead);
      this.inFlightHead = 0;
    }
    this.pump();
    if (p.done) return;
    this.settle(p);
    let body: unknown;
    try {
      const r = new Reader(frame);
      decodeResponseHeader(r, p.apiKey, p.apiVersion);
      body = decodeBody(p.apiKey, p.apiVersion, r);
    } catch (err) {
      const name = apiSpec(p.apiKey)?.name ?? String(p.apiKey);
      p.reject(
        new ProtocolError(
          `cannot decode ${name} v${p.apiVersion} response from ${this.address}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        ),
      );
      return;
    }
    p.resolve(body);
  }

  /** Moves queued requests into free in-flight slots. */
  private pump(): void {
    while (this.queuedHead < this.queued.length && this.inFlight.length - this.inFlightHead < this.maxInFlight) {
      const next = this.queued[this.queuedHead] as PendingRequest;
      this.queued[this.queuedHead] = undefined as unknown as PendingRequest;
      this.queuedHead++;
      if (!next.done) this.write(next);
    }
    if (this.queuedHead === this.queued.length) {
      this.queued = [];
      this.queuedHead = 0;
    }
  }

  /** Closes the socket; requests in flight fail with a retriable ConnectionError. */
  close(): void {
    this.shutdown(null);
  }

  private shutdown(err: Error | null): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
    const failure = err ?? new ClientClosedError(`connection to ${this.address}`);
    const pending = [...this.inFlight.slice(this.inFlightHead), ...this.queued.slice(this.queuedHead)];
    this.inFlight = [];
    this.inFlightHead = 0;
    this.queued = [];
    this.queuedHead = 0;
    for (const p of pending) {
      if (p === undefined || p.done) continue;
      this.settle(p);
      p.reject(err ?? new ConnectionError(this.address, 'connection closed', { cause: failure }));
    }
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.removeAllListeners('data');
      socket.on('error', () => {});
      if (err === null) {
        // A deliberate close still delivers what was written (acks=0 produce has no answer to wait for).
        socket.uncork();
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      } else socket.destroy();
    }
    if (err) this.logger.debug('connection closed', { address: this.address, reason: err.message });
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const l of listeners) l(err);
  }
}

/** ApiVersions errors come back in v0 format whatever version was asked (KIP-511). */
function decodeBody(apiKey: number, apiVersion: number, r: Reader): unknown {
  if (apiKey === ApiKey.ApiVersions && apiVersion > 0 && r.remaining >= 2) {
    const errorCode = r.buf.readInt16BE(r.pos);
    if (errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      // Some brokers get the v0 layout wrong here; the error code alone is enough to retry with v0.
      try {
        return decodeApiVersionsResponse(r, 0) as ApiVersionsResponse;
      } catch {
        return { errorCode, apiKeys: [] };
      }
    }
  }
  const spec = apiSpec(apiKey);
  if (spec === undefined) throw new ProtocolError(`unknown api key ${apiKey}`);
  return spec.decodeResponse(r, apiVersion);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
