// Requests to other quorum members over TCP with Eddy's protocol codec: one connection per peer,
// requests pipelined on it and matched to responses by correlation id, reconnection with
// exponential backoff. A request that times out closes its connection (the peer may be stopped),
// failing everything pending on it, as Kafka's network client does.
import net from 'node:net';
import { Reader } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/framing.js';
import type { ApiMessages } from '../protocol/generated/apis.js';
import { decodeResponseBody, decodeResponseHeader, encodeRequestFrame } from '../protocol/messages.js';
import type { Endpoint } from './codec.js';

type ApiKeyNumber = keyof ApiMessages;

export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

/** What the Raft driver needs from the network. */
export interface RaftTransport {
  send<K extends ApiKeyNumber>(
    destination: number,
    apiKey: K,
    apiVersion: number,
    body: ApiMessages[K]['requestInit'],
    timeoutMs: number,
  ): Promise<ApiMessages[K]['response']>;
  /** Learns or changes where a node listens. */
  setEndpoint(nodeId: number, endpoint: Endpoint): void;
  endpointOf(nodeId: number): Endpoint | null;
  close(): void;
}

export interface TcpRaftTransportOptions {
  clientId: string;
  endpoints: ReadonlyMap<number, Endpoint>;
  /** Largest response frame accepted. */
  maxFrameBytes?: number;
  reconnectBackoffMs?: number;
  reconnectBackoffMaxMs?: number;
  connectTimeoutMs?: number;
}

interface Pending {
  apiKey: ApiKeyNumber;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

class PeerConnection {
  private socket: net.Socket | null = null;
  private decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private backoffMs: number;
  private retryAtMs = 0;

  constructor(
    private readonly transport: TcpRaftTransport,
    private endpoint: Endpoint,
  ) {
    this.decoder = new FrameDecoder(transport.maxFrameBytes);
    this.backoffMs = transport.reconnectBackoffMs;
  }

  setEndpoint(endpoint: Endpoint): void {
    if (endpoint.host === this.endpoint.host && endpoint.port === this.endpoint.port) return;
    this.endpoint = endpoint;
    this.fail(new TransportError('peer endpoint changed'));
  }

  get address(): Endpoint {
    return this.endpoint;
  }

  send(correlationId: number, frame: Buffer[], p: Pending): void {
    if (this.socket === null) {
      const now = Date.now();
      if (now < this.retryAtMs) {
        clearTimeout(p.timer);
        p.reject(new TransportError(`reconnect to ${this.endpoint.host}:${this.endpoint.port} backing off`));
        return;
      }
      this.connect();
    }
    this.pending.set(correlationId, p);
    const s = this.socket!;
    s.cork();
    for (const c of frame) s.write(c);
    s.uncork();
  }

  private connect(): void {
    const s = net.connect({ host: this.endpoint.host, port: this.endpoint.port });
    s.setNoDelay(true);
    s.setTimeout(this.transport.connectTimeoutMs, () => {
      if (s.connecting) s.destroy(new TransportError('connect timed out'));
    });
    s.once('connect', () => s.setTimeout(0));
    s.on('data', (chunk: Buffer) => this.onData(s, chunk));
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket !== s) return;
      this.socket = null;
      this.decoder = new FrameDecoder(this.transport.maxFrameBytes);
      this.retryAtMs = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.transport.reconnectBackoffMaxMs);
      this.rejectAll(new TransportError(`connection to ${this.endpoint.host}:${this.endpoint.port} closed`));
    });
    this.socket = s;
  }

  private onData(s: net.Socket, chunk: Buffer): void {
    if (this.socket !== s) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      s.destroy(err as Error);
      return;
    }
    for (const frame of frames) {
      if (frame.length < 4) {
        s.destroy(new TransportError('response frame too short'));
        return;
      }
      const correlationId = frame.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (p === undefined) continue; // answered after its timeout
      this.pending.delete(correlationId);
      clearTimeout(p.timer);
      try {
        const r = new Reader(frame);
        decodeResponseHeader(r, p.apiKey, p.apiVersion);
        const body = decodeResponseBody(p.apiKey, p.apiVersion, r);
        this.backoffMs = this.transport.reconnectBackoffMs;
        p.resolve(body);
      } catch (err) {
        p.reject(new TransportError(`malformed response: ${(err as Error).message}`));
        s.destroy();
        return;
      }
    }
  }

  timedOut(correlationId: number): void {
    const p = this.pending.get(correlationId);
    if (p === undefined) return;
    this.pending.delete(correlationId);
    p.reject(new TransportError('request timed out'));
    // The peer may be stopped or the link dead: start over with a new connection.
    this.fail(new TransportError('request timed out'));
  }

  private rejectAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  fail(err: Error): void {
    const s = this.socket;
    this.socket = null;
    this.decoder = new FrameDecoder(this.transport.maxFrameBytes);
    this.rejectAll(err);
    s?.destroy();
  }
}

export class TcpRaftTransport implements RaftTransport {
  readonly clientId: string;
  readonly maxFrameBytes: number;
  readonly reconnectBackoffMs: number;
  readonly reconnectBackoffMaxMs: number;
  readonly connectTimeoutMs: number;
  private readonly peers = new Map<number, PeerConnection>();
  private readonly endpoints = new Map<number, Endpoint>();
  private nextCorrelationId = 1;
  private closed = false;

  constructor(opts: TcpRaftTransportOptions) {
    this.clientId = opts.clientId;
    this.maxFrameBytes = opts.maxFrameBytes ?? 64 * 1024 * 1024;
    this.reconnectBackoffMs = opts.reconnectBackoffMs ?? 50;
    this.reconnectBackoffMaxMs = opts.reconnectBackoffMaxMs ?? 1000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    for (const [id, e] of opts.endpoints) this.endpoints.set(id, e);
  }

  setEndpoint(nodeId: number, endpoint: Endpoint): void {
    this.endpoints.set(nodeId, endpoint);
    this.peers.get(nodeId)?.setEndpoint(endpoint);
  }

  endpointOf(nodeId: number): Endpoint | null {
    return this.endpoints.get(nodeId) ?? null;
  }

  send<K extends ApiKeyNumber>(
    destination: number,
    apiKey: K,
    apiVersion: number,
    body: ApiMessages[K]['requestInit'],
    timeoutMs: number,
  ): Promise<ApiMessages[K]['response']> {
    if (this.closed) return Promise.reject(new TransportError('transport closed'));
    const endpoint = this.endpoints.get(destination);
    if (endpoint === undefined) return Promise.reject(new TransportError(`no endpoint for node ${destination}`));
    let peer = this.peers.get(destination);
    if (peer === undefined) {
      peer = new PeerConnection(this, endpoint);
      this.peers.set(destination, peer);
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = this.nextCorrelationId >= 0x7fffffff ? 1 : this.nextCorrelationId + 1;
    const frame = encodeRequestFrame({ apiKey, apiVersion, correlationId, clientId: this.clientId, body });
    const target = peer;
    return new Promise((resolve, reject) => {
      // Deferred past this turn's I/O: after a stall, a response already received must win.
      const timer = setTimeout(() => setImmediate(() => target.timedOut(correlationId)), timeoutMs);
      timer.unref();
      target.send(correlationId, frame, {
        apiKey,
        apiVersion,
        resolve: resolve as (body: unknown) => void,
        reject,
        timer,
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const p of this.peers.values()) p.fail(new TransportError('transport closed'));
    this.peers.clear();
  }
}
