// Listeners and connections: framing, in-order request processing, back-pressure, idle
// timeouts. Requests on one connection are handled one at a time and answered in order,
// as Kafka does; many connections are served concurrently.
import net from 'node:net';
import { FrameDecoder, FrameTooLargeError } from '../protocol/framing.js';
import { errorMessage, logger } from '../util/log.js';

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly listenerName: string;
  readonly securityProtocol: string;
  /** Filled from ApiVersions v3+. */
  clientSoftwareName: string;
  clientSoftwareVersion: string;
}

/** What the network layer needs from the request layer. */
export interface RequestProcessor {
  /**
   * Handles one request frame (without its size prefix). Returns the response chunks
   * (size-prefixed), null when no response is due (acks=0), or 'close' to close the
   * connection (malformed or unsupported requests, as Kafka does).
   */
  process(conn: ConnectionInfo, frame: Buffer): Promise<Buffer[] | null | 'close'>;
  /** Told when a connection closes, for whatever reason. */
  connectionClosed?(conn: ConnectionInfo): void;
}

export interface ListenerOptions {
  name: string;
  host: string;
  port: number;
  securityProtocol: string;
  maxRequestBytes: number;
  idleTimeoutMs: number;
  maxConnections: number;
  /** Stop reading a socket while its unsent responses exceed this many bytes. */
  maxUnsentBytes: number;
  /** Stop reading while this many request bytes are queued on one connection. */
  maxQueuedRequestBytes: number;
}

let nextConnectionId = 1;
/** Longest stretch one connection's request loop runs before yielding to other connections. */
const MAX_SLICE_MS = 2;

class Connection {
  private readonly log = logger('network');
  private readonly decoder: FrameDecoder;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private running = false;
  private closed = false;
  private readingPaused = false;
  readonly info: ConnectionInfo;
  /** Resolves when the request loop is idle (used by graceful shutdown). */
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: ListenerOptions,
    private readonly processor: RequestProcessor,
    private readonly onClose: (c: Connection) => void,
  ) {
    this.decoder = new FrameDecoder(opts.maxRequestBytes);
    this.info = {
      id: nextConnectionId++,
      remoteAddress: socket.remoteAddress ?? '?',
      remotePort: socket.remotePort ?? 0,
      listenerName: opts.name,
      securityProtocol: opts.securityProtocol,
      clientSoftwareName: '',
      clientSoftwareVersion: '',
    };
    socket.setNoDelay(true);
    if (opts.idleTimeoutMs > 0) {
      socket.setTimeout(opts.idleTimeoutMs, () => {
        if (!this.running) {
          this.log.debug(`closing idle connection ${this.describe()}`);
          this.close();
        }
      });
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err) => this.log.debug(`connection ${this.describe()} error: ${err.message}`));
    socket.on('close', () => {
      this.closed = true;
      this.pending.length = 0;
      this.releaseIdle();
      this.onClose(this);
      this.processor.connectionClosed?.(this.info);
    });
  }

  describe(): string {
    return `${this.info.id} from ${this.info.remoteAddress}:${this.info.remotePort} on ${this.info.listenerName}`;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      if (err instanceof FrameTooLargeError) {
        this.log.warn(
          `closing connection ${this.describe()}: request size ${err.sizeBytes} is larger than socket.request.max.bytes (${this.opts.maxRequestBytes}) or negative`,
        );
      } else {
        this.log.warn(`closing connection ${this.describe()}: ${errorMessage(err)}`);
      }
      this.close();
      return;
    }
    for (const f of frames) {
      this.pending.push(f);
      this.pendingBytes += f.length;
    }
    if (this.pendingBytes + this.decoder.bufferedBytes > this.opts.maxQueuedRequestBytes) this.pauseReading();
    if (!this.running && this.pending.length > 0) void this.drive();
  }

  private pauseReading(): void {
    if (!this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.readingPaused || this.closed) return;
    if (this.socket.writableLength > this.opts.maxUnsentBytes) return;
    if (this.pendingBytes > this.opts.maxQueuedRequestBytes) return;
    this.readingPaused = false;
    this.socket.resume();
    if (!this.running && this.pending.length > 0) void this.drive();
  }

  private async drive(): Promise<void> {
    this.running = true;
    try {
      let sliceStart = performance.now();
      while (!this.closed && this.pending.length > 0) {
        if (this.socket.writableLength > this.opts.maxUnsentBytes) {
          // Back-pressure: the client is not reading its responses; wait for 'drain'.
          this.pauseReading();
          break;
        }
        // A client pipelining thousands of cheap requests must not starve the others:
        // after a slice of continuous work, let the event loop serve everyone else.
        if (performance.now() - sliceStart > MAX_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
          continue;
        }
        const frame = this.pending.shift() as Buffer;
        this.pendingBytes -= frame.length;
        let result: Buffer[] | null | 'close';
        try {
          result = await this.processor.process(this.info, frame);
        } catch (err) {
          this.log.error(`unexpected error on connection ${this.describe()}, closing it: ${errorMessage(err)}`);
          result = 'close';
        }
        if (result === 'close') {
          this.close();
          break;
        }
        if (result !== null && !this.closed) this.write(result);
      }
    } finally {
      this.running = false;
      this.releaseIdle();
      this.maybeResume();
    }
  }

  private write(chunks: Buffer[]): void {
    if (chunks.length === 1) {
      this.socket.write(chunks[0] as Buffer);
      return;
    }
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  private releaseIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Stops taking new requests and resolves once the in-flight one is answered. */
  async quiesce(): Promise<void> {
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.socket.pause();
    if (this.running) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export class Listener {
  private readonly log = logger('network');
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  boundPort = 0;

  constructor(
    readonly opts: ListenerOptions,
    private readonly processor: RequestProcessor,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.maxConnections = opts.maxConnections;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: net.Socket): void {
    const conn = new Connection(socket, this.opts, this.processor, (c) => this.connections.delete(c));
    this.connections.add(conn);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host || undefined, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.log.error(`listener ${this.opts.name} error: ${err.message}`));
        const addr = this.server.address();
        this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : this.opts.port;
        resolve(this.boundPort);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish, then closes every connection. */
  async close(gracefulTimeoutMs = 5000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const quiesce = Promise.all([...this.connections].map((c) => c.quiesce()));
    await Promise.race([quiesce, new Promise((r) => setTimeout(r, gracefulTimeoutMs).unref())]);
    for (const c of this.connections) c.destroy();
    await closed;
  }
}
