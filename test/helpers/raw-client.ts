// A minimal Kafka protocol client for tests: sends typed requests with Eddy's codec and
// decodes responses, or sends raw bytes to see how the broker reacts to bad input.
import net from 'node:net';
import { Reader } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import type { ApiMessages } from '../../src/protocol/generated/apis.js';
import { decodeResponseBody, decodeResponseHeader, encodeRequestFrame } from '../../src/protocol/messages.js';

export class RawClient {
  private readonly socket: net.Socket;
  private readonly decoder = new FrameDecoder(1 << 30);
  private readonly frames: Buffer[] = [];
  private waiters: (() => void)[] = [];
  private correlationId = 1;
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      for (const f of this.decoder.push(c)) this.frames.push(f);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(bootstrap: string): Promise<RawClient> {
    const [host, port] = bootstrap.split(':');
    return new Promise((resolve, reject) => {
      const s = net.connect(Number(port), host, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Writes raw bytes to the socket. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a request without waiting; returns its correlation id. */
  send<K extends keyof ApiMessages>(apiKey: K, apiVersion: number, body: ApiMessages[K]['requestInit']): number {
    const correlationId = this.correlationId++;
    for (const c of encodeRequestFrame({ apiKey, apiVersion, correlationId, clientId: 'eddy-test', body })) {
      this.socket.write(c);
    }
    return correlationId;
  }

  /** Waits for the next response frame (or null when the connection closes first). */
  async nextFrame(timeoutMs = 10_000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a response');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.shift() as Buffer;
  }

  /** Reads the next response as the given api and version; checks the correlation id. */
  async receive<K extends keyof ApiMessages>(
    apiKey: K,
    apiVersion: number,
    correlationId?: number,
  ): Promise<ApiMessages[K]['response']> {
    const frame = await this.nextFrame();
    if (frame === null) throw new Error('connection closed before the response');
    const r = new Reader(frame);
    const h = decodeResponseHeader(r, apiKey, apiVersion);
    if (correlationId !== undefined && h.correlationId !== correlationId) {
      throw new Error(`correlation id ${h.correlationId}, expected ${correlationId}`);
    }
    return decodeResponseBody(apiKey, apiVersion, r);
  }

  async request<K extends keyof ApiMessages>(
    apiKey: K,
    apiVersion: number,
    body: ApiMessages[K]['requestInit'],
  ): Promise<ApiMessages[K]['response']> {
    const id = this.send(apiKey, apiVersion, body);
    return this.receive(apiKey, apiVersion, id);
  }

  /** Resolves true if the broker closes the connection within the timeout. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      this.frames.length = 0;
    }
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
