// A connection from this node to another node (replica fetching, controller RPCs): typed
// requests with Eddy's codec, pipelined with correlation ids, request timeouts, and a
// fresh connection after any failure.
import net from 'node:net';
import { Reader } from '../protocol/codec.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { FrameDecoder } from '../protocol/framing.js';
import type { ApiMessages } from '../protocol/generated/apis.js';
import { decodeResponseBody, decodeResponseHeader, encodeRequestFrame } from '../protocol/messages.js';

interface Pending {
  apiKey: number;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class NodeClient {
  private socket: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;
  private readonly pending = new Map<number, Pending>();
  private correlationId = 1;
  private closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly clientId: string,
    private readonly requestTimeoutMs = 30_000,
  ) {}

  private connect(): Promise<net.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port });
      s.setNoDelay(true);
      const decoder = new FrameDecoder(1 << 30);
      const onError = (err: Error): void => {
        this.connecting = null;
        reject(err);
      };
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        this.socket = s;
        this.connecting = null;
        resolve(s);
      });
      s.on('data', (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          this.fail(s, err as Error);
          return;
        }
        for (const f of frames) this.onFrame(f);
      });
      s.on('error', (err) => this.fail(s, err));
      s.on('close', () =>
        this.fail(s, new KafkaError(ErrorCode.NETWORK_EXCEPTION, `connection to ${this.host}:${this.port} closed`)),
      );
    });
    return this.connecting;
  }

  private onFrame(frame: Buffer): void {
    const id = frame.readInt32BE(0);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    try {
      const r = new Reader(frame);
      decodeResponseHeader(r, p.apiKey, p.apiVersion);
      p.resolve(decodeResponseBody(p.apiKey as keyof ApiMessages, p.apiVersion, r));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  /** Drops the connection and fails everything in flight on it. */
  private fail(s: net.Socket, err: Error): void {
    if (this.socket === s) this.socket = null;
    s.destroy();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  async request<K extends keyof ApiMessages>(
    apiKey: K,
    apiVersion: number,
    body: ApiMessages[K]['requestInit'],
    timeoutMs = this.requestTimeoutMs,
  ): Promise<ApiMessages[K]['response']> {
    if (this.closed) throw new KafkaError(ErrorCode.NETWORK_EXCEPTION, 'client closed');
    const s = await this.connect();
    const correlationId = this.correlationId++;
    if (this.correlationId > 0x7fffffff) this.correlationId = 1;
    const frame = encodeRequestFrame({ apiKey, apiVersion, correlationId, clientId: this.clientId, body });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `request to ${this.host}:${this.port} timed out`));
        // A timed-out connection may hold a half-read response: start over.
        this.fail(s, new KafkaError(ErrorCode.NETWORK_EXCEPTION, 'connection reset after a timeout'));
      }, timeoutMs);
      this.pending.set(correlationId, {
        apiKey,
        apiVersion,
        resolve: resolve as (b: unknown) => void,
        reject,
        timer,
      });
      if (frame.length === 1) s.write(frame[0] as Buffer);
      else {
        s.cork();
        for (const c of frame) s.write(c);
        s.uncork();
      }
    });
  }

  close(): void {
    this.closed = true;
    if (this.socket) this.fail(this.socket, new KafkaError(ErrorCode.NETWORK_EXCEPTION, 'client closed'));
  }
}
