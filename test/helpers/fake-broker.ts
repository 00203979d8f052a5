// A tiny scriptable Kafka server for client unit tests: decodes request headers and bodies
// with the protocol layer and lets each test decide how (and whether) to answer.
import * as net from 'node:net';
import { Reader } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import type { ApiMessages } from '../../src/protocol/generated/apis.js';
import {
  decodeRequestBody,
  decodeRequestHeader,
  encodeResponseFrame,
  type RequestHeader,
} from '../../src/protocol/messages.js';

export interface FakeRequest {
  header: RequestHeader;
  body: unknown;
  socket: net.Socket;
  /** Sends a response encoded at the request's version. */
  reply<K extends keyof ApiMessages>(body: ApiMessages[K]['responseInit'], version?: number): void;
  /** Sends raw bytes (already framed). */
  replyRaw(frame: Buffer): void;
}

export interface FakeBroker {
  port: number;
  address: string;
  requests: FakeRequest[];
  connections: number;
  /** Drops every open connection. */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1; `handler` sees each request in order of arrival. */
export async function startFakeBroker(handler: (req: FakeRequest) => void): Promise<FakeBroker> {
  const sockets = new Set<net.Socket>();
  const requests: FakeRequest[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const frames = new FrameDecoder(64 * 1024 * 1024);
    // Kafka answers the requests of one connection in order: an answer waits for earlier ones.
    const pending: { chunks: Buffer[] | null }[] = [];
    const flush = (): void => {
      while (pending.length > 0 && (pending[0] as { chunks: Buffer[] | null }).chunks !== null) {
        for (const c of (pending.shift() as { chunks: Buffer[] }).chunks) socket.write(c);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      for (const frame of frames.push(chunk)) {
        const r = new Reader(frame);
        const header = decodeRequestHeader(r);
        let body: unknown = null;
        try {
          body = decodeRequestBody(header.requestApiKey as keyof ApiMessages, header.requestApiVersion, r);
        } catch {
          body = null;
        }
        const slot: { chunks: Buffer[] | null } = { chunks: null };
        pending.push(slot);
        const req: FakeRequest = {
          header,
          body,
          socket,
          reply: (resp, version) => {
            slot.chunks = encodeResponseFrame(
              header.requestApiKey as keyof ApiMessages,
              version ?? header.requestApiVersion,
              header.correlationId,
              resp as never,
            );
            flush();
          },
          replyRaw: (f) => {
            slot.chunks = [f];
            flush();
          },
        };
        requests.push(req);
        handler(req);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An ApiVersions answer advertising the given ranges (apiKey -> [min, max]). */
export function apiVersionsBody(ranges: Record<number, [number, number]>): ApiMessages[18]['responseInit'] {
  return {
    errorCode: 0,
    apiKeys: Object.entries(ranges).map(([k, [min, max]]) => ({ apiKey: Number(k), minVersion: min, maxVersion: max })),
  };
}
